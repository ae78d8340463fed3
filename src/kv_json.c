/*
 * certvault — Key Vault JSON documents built from typed structs.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certvault.h"
#include "crypto.h"
#include "kv.h"
#include "log.h"

/*
 * Limits on what a request may hold, each refused with a 400 naming it
 * (Key Vault's where it has them: 15 tags, names of 512 and values of
 * 256 characters).  The body as a whole is bounded by max_body_size.
 */
#define KV_DEPTH_MAX	32	/* nesting of objects and arrays */
#define KV_TAGS_MAX	15
#define KV_TAG_NAME_MAX	512
#define KV_TAG_VALUE_MAX 256
#define KV_SANS_MAX	100	/* subject alternative names, all kinds */
#define KV_STR_MAX	1024	/* a subject, a SAN, an EKU, … */
#define KV_LIST_MAX	100	/* ekus, key usages, contacts, … */
#define KV_X5C_MAX	10	/* certificates merged at once */
#define KV_X5C_LEN_MAX	(64 * 1024)	/* one of them, base64 */

/* Serialise doc into the response body with status; doc is consumed. */
static enum cv_err
kv_json_set(struct cv_resp *resp, int status, json_t *doc)
{
	char	*text;

	if (doc == NULL)
		return kv_err_set(resp, CV_ERR_INTERNAL, NULL);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		return kv_err_set(resp, CV_ERR_INTERNAL, NULL);
	free(resp->body);
	resp->body = text;
	resp->bodysz = strlen(text);
	resp->status = status;
	return CV_OK;
}

/* Health document for load balancers; 503 when the database is away. */
enum cv_err
kv_json_health(struct cv_resp *resp, bool db_ok)
{

	/* The same Retry-After as any other request's 503 (kv_err.c). */
	if (!db_ok)
		resp->retry_after = kv_err_retry_after(CV_ERR_UNAVAILABLE);
	return kv_json_set(resp, db_ok ? 200 : 503,
	    json_pack("{s:s, s:s}", "status", db_ok ? "ok" : "unavailable",
	    "database", db_ok ? "ok" : "unreachable"));
}

/*
 * Readiness: the database answers and the master key is loaded (without
 * it no certificate can be created or exported).  Liveness is
 * {"status":"ok"} from any process that can answer at all.
 */
enum cv_err
kv_json_ready(struct cv_resp *resp, bool db_ok, bool master_ok)
{
	bool	 ok = db_ok && master_ok;

	if (!ok)
		resp->retry_after = kv_err_retry_after(CV_ERR_UNAVAILABLE);
	return kv_json_set(resp, ok ? 200 : 503,
	    json_pack("{s:s, s:s, s:s}", "status", ok ? "ok" : "unavailable",
	    "database", db_ok ? "ok" : "unreachable",
	    "masterKey", master_ok ? "loaded" : "missing"));
}

enum cv_err
kv_json_live(struct cv_resp *resp)
{

	return kv_json_set(resp, 200, json_pack("{s:s}", "status", "ok"));
}

/*
 * CertificateListResult: {"value":[CertificateItem…],"nextLink":…}.
 * value is always an array; nextLink is an absolute URL or null.
 */
enum cv_err
kv_json_cert_list(struct cv_resp *resp, const char *base,
    const struct cv_cert_item *items, size_t n, const char *next)
{
	json_t		*doc, *arr, *it, *attrs, *tags;
	size_t		 i;

	arr = json_array();
	for (i = 0; i < n; i++) {
		attrs = json_pack("{s:b}", "enabled", items[i].enabled);
		if (items[i].nbf != 0)
			json_object_set_new(attrs, "nbf",
			    json_integer(items[i].nbf));
		if (items[i].exp != 0)
			json_object_set_new(attrs, "exp",
			    json_integer(items[i].exp));
		json_object_set_new(attrs, "created",
		    json_integer(items[i].created));
		json_object_set_new(attrs, "updated",
		    json_integer(items[i].updated));
		it = json_pack("{s:s++++, s:o}", "id", base, "/certificates/",
		    items[i].name, items[i].version == NULL ? "" : "/",
		    items[i].version == NULL ? "" : items[i].version,
		    "attributes", attrs);
		if (items[i].x5t != NULL)
			json_object_set_new(it, "x5t",
			    json_string(items[i].x5t));
		if (items[i].tags_json != NULL &&
		    (tags = json_loads(items[i].tags_json, 0, NULL)) != NULL)
			json_object_set_new(it, "tags", tags);
		json_array_append_new(arr, it);
	}
	doc = json_pack("{s:o, s:o}", "value", arr, "nextLink",
	    next == NULL ? json_null() : json_string(next));
	return kv_json_set(resp, 200, doc);
}

/*
 * Policies.  A policy arrives as Key Vault's CertificatePolicy JSON; we
 * validate every member we understand, fill in the defaults the real
 * service applies (keyvault-certificates-api.md §9.8), and keep the
 * effective document to store and return.
 */

struct jerr {
	char	*msg;		/* first error, client-facing */
};

static bool
fail(struct jerr *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool
fail(struct jerr *e, const char *fmt, ...)
{
	va_list	 ap;

	if (e->msg == NULL) {
		va_start(ap, fmt);
		if (vasprintf(&e->msg, fmt, ap) < 0)
			e->msg = NULL;
		va_end(ap);
	}
	return false;
}

/* A member, or NULL when absent or JSON null. */
static json_t *
member(json_t *obj, const char *key)
{
	json_t	*v;

	if (obj == NULL || (v = json_object_get(obj, key)) == NULL ||
	    json_is_null(v))
		return NULL;
	return v;
}

static bool
want_object(json_t *v, const char *path, struct jerr *e)
{

	return v == NULL || json_is_object(v) ||
	    fail(e, "%s must be a JSON object.", path);
}

static bool
get_bool(json_t *obj, const char *key, const char *path, bool dflt,
    bool *out, struct jerr *e)
{
	json_t	*v = member(obj, key);

	*out = dflt;
	if (v == NULL)
		return true;
	if (!json_is_boolean(v))
		return fail(e, "%s must be true or false.", path);
	*out = json_is_true(v);
	return true;
}

static bool
get_int(json_t *obj, const char *key, const char *path, json_int_t lo,
    json_int_t hi, json_int_t *out, bool *present, struct jerr *e)
{
	json_t	*v = member(obj, key);

	*present = v != NULL;
	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return fail(e, "%s must be an integer from %lld to %lld.",
		    path, (long long)lo, (long long)hi);
	*out = json_integer_value(v);
	return true;
}

static bool
get_str(json_t *obj, const char *key, const char *path, const char **out,
    struct jerr *e)
{
	json_t	*v = member(obj, key);

	*out = NULL;
	if (v == NULL)
		return true;
	if (!json_is_string(v))
		return fail(e, "%s must be a string.", path);
	*out = json_string_value(v);
	return true;
}

/* An array of strings into l (copied); absent leaves l empty. */
static bool
get_strlist(json_t *obj, const char *key, const char *path, size_t max,
    size_t maxlen, struct cv_strlist *l, struct jerr *e)
{
	json_t	*v = member(obj, key), *it;
	size_t	 i;

	if (v == NULL)
		return true;
	if (!json_is_array(v))
		return fail(e, "%s must be an array of strings.", path);
	if (json_array_size(v) > max)
		return fail(e, "%s holds %zu entries; at most %zu are allowed.",
		    path, json_array_size(v), max);
	l->v = cv_calloc(json_array_size(v), sizeof(char *));
	json_array_foreach(v, i, it) {
		if (!json_is_string(it) || json_string_length(it) == 0)
			return fail(e, "%s[%zu] must be a non-empty string.",
			    path, i);
		if (json_string_length(it) > maxlen)
			return fail(e, "%s[%zu] is longer than %zu characters.",
			    path, i, maxlen);
		l->v[l->n++] = cv_strdup(json_string_value(it));
	}
	return true;
}

static json_t *
strlist_json(const struct cv_strlist *l)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

/* Key Vault's key_usage names, in the order of enum cv_ku. */
static const char *const ku_names[] = {
	"digitalSignature", "nonRepudiation", "keyEncipherment",
	"dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
	"encipherOnly", "decipherOnly",
};
#define KU_COUNT (sizeof(ku_names) / sizeof(ku_names[0]))

static bool
oid_valid(const char *s)
{
	bool	 digit = false;
	int	 arcs = 1;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (!digit)
				return false;
			digit = false;
			arcs++;
		} else if (*s >= '0' && *s <= '9')
			digit = true;
		else
			return false;
	}
	return digit && arcs >= 2;
}

static const char *const curve_names[CV_CURVE__MAX] = {
	NULL, "P-256", "P-384", "P-521",
};
static const unsigned curve_bits[CV_CURVE__MAX] = { 0, 256, 384, 521 };

static bool
parse_key_props(json_t *kp, struct cv_policy *p, json_t *out, struct jerr *e)
{
	const char	*kty, *crv;
	json_int_t	 size = 0;
	bool		 has_size;
	int		 i;

	if (!want_object(kp, "policy.key_props", e) ||
	    !get_str(kp, "kty", "policy.key_props.kty", &kty, e) ||
	    !get_str(kp, "crv", "policy.key_props.crv", &crv, e) ||
	    !get_int(kp, "key_size", "policy.key_props.key_size", 1, 16384,
	    &size, &has_size, e) ||
	    !get_bool(kp, "exportable", "policy.key_props.exportable", true,
	    &p->exportable, e) ||
	    !get_bool(kp, "reuse_key", "policy.key_props.reuse_key", false,
	    &p->reuse_key, e))
		return false;
	if (kty == NULL)
		kty = crv != NULL ? "EC" : "RSA";
	if (strcmp(kty, "RSA") == 0 || strcmp(kty, "RSA-HSM") == 0) {
		p->key.kty = CV_KTY_RSA;
		if (crv != NULL)
			return fail(e, "policy.key_props.crv applies to EC keys "
			    "only.");
		if (!has_size)
			size = 2048;
		if (size != 2048 && size != 3072 && size != 4096)
			return fail(e, "policy.key_props.key_size: RSA keys are "
			    "2048, 3072 or 4096 bits.");
		p->key.bits = (unsigned)size;
	} else if (strcmp(kty, "EC") == 0 || strcmp(kty, "EC-HSM") == 0) {
		p->key.kty = CV_KTY_EC;
		if (crv != NULL && strcmp(crv, "P-256K") == 0)
			return fail(e, "policy.key_props.crv: P-256K (secp256k1) "
			    "is not supported; use P-256, P-384 or P-521.");
		for (i = 1; i < CV_CURVE__MAX; i++)
			if (crv != NULL ? strcmp(crv, curve_names[i]) == 0 :
			    (has_size ? size == curve_bits[i] : i == 1))
				p->key.curve = (enum cv_curve)i;
		if (p->key.curve == CV_CURVE_NONE)
			return fail(e, crv != NULL ? "policy.key_props.crv must "
			    "be P-256, P-384 or P-521." : "policy.key_props."
			    "key_size: EC keys are 256, 384 or 521 bits.");
		if (has_size && size != curve_bits[p->key.curve])
			return fail(e, "policy.key_props.key_size does not match "
			    "the curve %s.", curve_names[p->key.curve]);
		p->key.bits = curve_bits[p->key.curve];
	} else
		return fail(e, "policy.key_props.kty must be RSA, RSA-HSM, EC "
		    "or EC-HSM.");
	p->kty = cv_strdup(kty);
	json_object_set_new(out, "exportable", json_boolean(p->exportable));
	json_object_set_new(out, "kty", json_string(kty));
	json_object_set_new(out, "key_size", json_integer(p->key.bits));
	if (p->key.kty == CV_KTY_EC)
		json_object_set_new(out, "crv",
		    json_string(curve_names[p->key.curve]));
	json_object_set_new(out, "reuse_key", json_boolean(p->reuse_key));
	return true;
}

static bool
parse_sans(json_t *sans, struct cv_x509_req *x, json_t *out, struct jerr *e)
{

	if (!want_object(sans, "policy.x509_props.sans", e) ||
	    !get_strlist(sans, "dns_names", "policy.x509_props.sans.dns_names",
	    KV_SANS_MAX, KV_STR_MAX,
	    &x->dns_names, e) ||
	    !get_strlist(sans, "emails", "policy.x509_props.sans.emails",
	    KV_SANS_MAX, KV_STR_MAX,
	    &x->emails, e) ||
	    !get_strlist(sans, "upns", "policy.x509_props.sans.upns",
	    KV_SANS_MAX, KV_STR_MAX,
	    &x->upns, e) ||
	    !get_strlist(sans, "uris", "policy.x509_props.sans.uris",
	    KV_SANS_MAX, KV_STR_MAX,
	    &x->uris, e) ||
	    !get_strlist(sans, "ipAddresses",
	    "policy.x509_props.sans.ipAddresses", KV_SANS_MAX, KV_STR_MAX,
	    &x->ips, e))
		return false;
	if (x->dns_names.n + x->emails.n + x->upns.n + x->uris.n + x->ips.n >
	    KV_SANS_MAX)
		return fail(e, "policy.x509_props.sans holds %zu names; at most "
		    "%d are allowed.", x->dns_names.n + x->emails.n +
		    x->upns.n + x->uris.n + x->ips.n, KV_SANS_MAX);
	if (x->dns_names.n > 0)
		json_object_set_new(out, "dns_names", strlist_json(&x->dns_names));
	if (x->emails.n > 0)
		json_object_set_new(out, "emails", strlist_json(&x->emails));
	if (x->upns.n > 0)
		json_object_set_new(out, "upns", strlist_json(&x->upns));
	if (x->uris.n > 0)
		json_object_set_new(out, "uris", strlist_json(&x->uris));
	if (x->ips.n > 0)
		json_object_set_new(out, "ipAddresses", strlist_json(&x->ips));
	return true;
}

static bool
parse_x509_props(json_t *xp, struct cv_policy *p, json_t *out,
    struct jerr *e)
{
	struct cv_strlist	 ku = { NULL, 0 };
	json_t			*sans, *bc, *kuj;
	const char		*subject;
	json_int_t		 months = 12;
	bool			 has, ok = false;
	size_t			 i, k;

	if (!want_object(xp, "policy.x509_props", e) ||
	    !get_str(xp, "subject", "policy.x509_props.subject", &subject, e) ||
	    !get_int(xp, "validity_months", "policy.x509_props.validity_months",
	    1, 1200, &months, &has, e) ||
	    !get_strlist(xp, "ekus", "policy.x509_props.ekus", KV_LIST_MAX,
	    KV_STR_MAX, &p->x509.ekus, e) ||
	    !get_strlist(xp, "key_usage", "policy.x509_props.key_usage",
	    KV_LIST_MAX, KV_STR_MAX, &ku, e))
		goto out;
	if (subject != NULL && strlen(subject) > KV_STR_MAX) {
		fail(e, "policy.x509_props.subject is longer than %d "
		    "characters.", KV_STR_MAX);
		goto out;
	}
	sans = member(xp, "sans");
	bc = member(xp, "basic_constraints");
	if (!want_object(bc, "policy.x509_props.basic_constraints", e) ||
	    !get_bool(bc, "ca", "policy.x509_props.basic_constraints.ca", false,
	    &p->x509.ca, e))
		goto out;
	if (sans != NULL) {
		json_object_set_new(out, "sans", json_object());
		if (!parse_sans(sans, &p->x509, json_object_get(out, "sans"), e))
			goto out;
	}
	if (subject == NULL || *subject == '\0') {
		if (p->x509.dns_names.n == 0 && p->x509.emails.n == 0 &&
		    p->x509.upns.n == 0) {
			fail(e, "policy.x509_props.subject is required (or at "
			    "least one subject alternative name).");
			goto out;
		}
		subject = "";
	}
	p->x509.subject = cv_strdup(subject);
	for (i = 0; i < p->x509.ekus.n; i++)
		if (!oid_valid(p->x509.ekus.v[i])) {
			fail(e, "policy.x509_props.ekus[%zu] is not a dotted "
			    "object identifier.", i);
			goto out;
		}
	if (member(xp, "ekus") == NULL) {
		/* Server and client authentication, as Key Vault fills in. */
		p->x509.ekus.v = cv_calloc(2, sizeof(char *));
		p->x509.ekus.v[0] = cv_strdup("1.3.6.1.5.5.7.3.1");
		p->x509.ekus.v[1] = cv_strdup("1.3.6.1.5.5.7.3.2");
		p->x509.ekus.n = 2;
	}
	for (i = 0; i < ku.n; i++) {
		for (k = 0; k < KU_COUNT; k++)
			if (strcmp(ku.v[i], ku_names[k]) == 0)
				break;
		if (k == KU_COUNT) {
			fail(e, "policy.x509_props.key_usage[%zu]: unknown key "
			    "usage \"%s\".", i, ku.v[i]);
			goto out;
		}
		p->x509.key_usage |= 1u << k;
	}
	if (member(xp, "key_usage") == NULL)
		p->x509.key_usage = p->key.kty == CV_KTY_RSA ?
		    CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT :
		    CV_KU_DIGITAL_SIGNATURE;
	p->validity_months = (unsigned)months;

	json_object_set_new(out, "subject", json_string(p->x509.subject));
	json_object_set_new(out, "ekus", strlist_json(&p->x509.ekus));
	kuj = json_array();
	for (k = 0; k < KU_COUNT; k++)
		if (p->x509.key_usage & (1u << k))
			json_array_append_new(kuj, json_string(ku_names[k]));
	json_object_set_new(out, "key_usage", kuj);
	json_object_set_new(out, "validity_months", json_integer(months));
	json_object_set_new(out, "basic_constraints",
	    json_pack("{s:b}", "ca", p->x509.ca));
	ok = true;
out:
	cv_strlist_free(&ku);
	return ok;
}

static bool
parse_lifetime(json_t *la, struct cv_policy *p, json_t **out,
    struct jerr *e)
{
	json_t		*it, *trig, *act, *o;
	const char	*type;
	json_int_t	 pct = 0, days = 0;
	bool		 has_pct, has_days;
	size_t		 i;
	char		 path[64], p1[128], p2[128], p3[128];

	if (la == NULL) {
		*out = json_pack("[{s:{s:i}, s:{s:s}}]", "trigger",
		    "lifetime_percentage", 80, "action", "action_type",
		    p->issuer_kind == CV_ISSUER_UNKNOWN ? "EmailContacts" :
		    "AutoRenew");
		p->lifetime = cv_calloc(1, sizeof(*p->lifetime));
		p->lifetime[0].type = p->issuer_kind == CV_ISSUER_UNKNOWN ?
		    CV_LIFETIME_EMAIL : CV_LIFETIME_AUTORENEW;
		p->lifetime[0].pct = 80;
		p->nlifetime = 1;
		return true;
	}
	if (!json_is_array(la))
		return fail(e, "policy.lifetime_actions must be an array.");
	p->lifetime = cv_calloc(json_array_size(la) + 1,
	    sizeof(*p->lifetime));
	*out = json_array();
	json_array_foreach(la, i, it) {
		snprintf(path, sizeof(path), "policy.lifetime_actions[%zu]", i);
		if (!json_is_object(it))
			return fail(e, "%s must be a JSON object.", path);
		trig = member(it, "trigger");
		act = member(it, "action");
		if (!json_is_object(trig) || !json_is_object(act))
			return fail(e, "%s needs a trigger and an action.", path);
		snprintf(p1, sizeof(p1), "%s.trigger.lifetime_percentage", path);
		snprintf(p2, sizeof(p2), "%s.trigger.days_before_expiry", path);
		snprintf(p3, sizeof(p3), "%s.action.action_type", path);
		if (!get_int(trig, "lifetime_percentage", p1, 1, 99, &pct,
		    &has_pct, e) ||
		    !get_int(trig, "days_before_expiry", p2, 1,
		    (json_int_t)p->validity_months * 27, &days, &has_days, e) ||
		    !get_str(act, "action_type", p3, &type, e))
			return false;
		if (has_pct == has_days)
			return fail(e, "%s.trigger needs exactly one of "
			    "lifetime_percentage and days_before_expiry.", path);
		if (type == NULL || (strcmp(type, "AutoRenew") != 0 &&
		    strcmp(type, "EmailContacts") != 0))
			return fail(e, "%s.action.action_type must be AutoRenew "
			    "or EmailContacts.", path);
		p->lifetime[p->nlifetime].type = strcmp(type, "AutoRenew") ==
		    0 ? CV_LIFETIME_AUTORENEW : CV_LIFETIME_EMAIL;
		p->lifetime[p->nlifetime].pct = has_pct ? (unsigned)pct : 0;
		p->lifetime[p->nlifetime].days = has_pct ? 0 : (unsigned)days;
		p->nlifetime++;
		o = has_pct ? json_pack("{s:I}", "lifetime_percentage", pct) :
		    json_pack("{s:I}", "days_before_expiry", days);
		json_array_append_new(*out, json_pack("{s:o, s:{s:s}}",
		    "trigger", o, "action", "action_type", type));
	}
	return true;
}

static bool
parse_issuer(json_t *is, struct cv_policy *p, json_t *out, struct jerr *e)
{
	const char	*name, *cty;
	json_t		*ct;

	if (!want_object(is, "policy.issuer", e) ||
	    !get_str(is, "name", "policy.issuer.name", &name, e) ||
	    !get_str(is, "cty", "policy.issuer.cty", &cty, e))
		return false;
	if (name == NULL)
		name = "Unknown";
	if (strcasecmp(name, "Self") == 0)
		p->issuer_kind = CV_ISSUER_SELF;
	else if (strcasecmp(name, "Unknown") == 0)
		p->issuer_kind = CV_ISSUER_UNKNOWN;
	else if (cv_name_valid(name))
		p->issuer_kind = CV_ISSUER_OBJECT;
	else
		return fail(e, "policy.issuer.name is not a valid issuer name.");
	p->issuer = cv_strdup(name);
	p->cert_transparency = -1;
	if ((ct = member(is, "cert_transparency")) != NULL) {
		if (!json_is_boolean(ct))
			return fail(e, "policy.issuer.cert_transparency must be "
			    "true or false.");
		p->cert_transparency = json_is_true(ct);
	}
	json_object_set_new(out, "name", json_string(name));
	if (cty != NULL) {
		p->cty = cv_strdup(cty);
		json_object_set_new(out, "cty", json_string(cty));
	}
	if (p->cert_transparency != -1)
		json_object_set_new(out, "cert_transparency",
		    json_boolean(p->cert_transparency));
	return true;
}

/* Validate a policy object and build the effective one. */
static bool
policy_from_json(json_t *pol, struct cv_policy *p, struct jerr *e)
{
	json_t		*eff, *kp, *xp, *la = NULL, *sp, *is, *at;
	const char	*ctype;
	bool		 ok = false;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(pol))
		return fail(e, "policy must be a JSON object.");
	eff = json_pack("{s:{}, s:{}, s:{}, s:{}}", "key_props", "secret_props",
	    "x509_props", "issuer");
	kp = member(pol, "key_props");
	sp = member(pol, "secret_props");
	xp = member(pol, "x509_props");
	is = member(pol, "issuer");
	at = member(pol, "attributes");
	if (!parse_key_props(kp, p, json_object_get(eff, "key_props"), e) ||
	    !want_object(sp, "policy.secret_props", e) ||
	    !get_str(sp, "contentType", "policy.secret_props.contentType",
	    &ctype, e) ||
	    !parse_issuer(is, p, json_object_get(eff, "issuer"), e) ||
	    !parse_x509_props(xp, p, json_object_get(eff, "x509_props"), e) ||
	    !parse_lifetime(member(pol, "lifetime_actions"), p, &la, e) ||
	    !want_object(at, "policy.attributes", e) ||
	    !get_bool(at, "enabled", "policy.attributes.enabled", true,
	    &p->enabled, e))
		goto out;
	if (ctype == NULL)
		ctype = "application/x-pkcs12";
	if (strcmp(ctype, "application/x-pkcs12") != 0 &&
	    strcmp(ctype, "application/x-pem-file") != 0) {
		fail(e, "policy.secret_props.contentType must be "
		    "application/x-pkcs12 or application/x-pem-file.");
		goto out;
	}
	p->content_type = cv_strdup(ctype);
	json_object_set_new(json_object_get(eff, "secret_props"), "contentType",
	    json_string(ctype));
	json_object_set_new(eff, "lifetime_actions", la);
	la = NULL;
	json_object_set_new(eff, "attributes",
	    json_pack("{s:b}", "enabled", p->enabled));
	p->json = json_dumps(eff, JSON_COMPACT);
	ok = p->json != NULL;
out:
	json_decref(la);
	json_decref(eff);
	return ok;
}

static void
policy_clear(struct cv_policy *p)
{

	free(p->kty);
	free((char *)p->x509.subject);
	cv_strlist_free(&p->x509.dns_names);
	cv_strlist_free(&p->x509.emails);
	cv_strlist_free(&p->x509.upns);
	cv_strlist_free(&p->x509.uris);
	cv_strlist_free(&p->x509.ips);
	cv_strlist_free(&p->x509.ekus);
	free(p->issuer);
	free(p->cty);
	free(p->content_type);
	free(p->lifetime);
	free(p->json);
	memset(p, 0, sizeof(*p));
}

void
kv_policy_free(struct cv_policy *p)
{

	if (p != NULL)
		policy_clear(p);
}

/*
 * The deepest nesting of objects and arrays in JSON text, strings
 * skipped; counted before parsing so that a deep document costs no more
 * than reading it once.
 */
static size_t
json_depth(const char *s)
{
	size_t	 d = 0, max = 0;
	bool	 str = false;

	for (; *s != '\0'; s++) {
		if (str) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '"')
				str = false;
		} else if (*s == '"')
			str = true;
		else if (*s == '{' || *s == '[') {
			if (++d > max)
				max = d;
		} else if ((*s == '}' || *s == ']') && d > 0)
			d--;
	}
	return max;
}

static json_t *
load_body(const char *body, struct jerr *e)
{
	json_t		*doc;
	json_error_t	 jerr;

	if (body == NULL || *body == '\0') {
		fail(e, "The request body is missing.");
		return NULL;
	}
	if (json_depth(body) > KV_DEPTH_MAX) {
		fail(e, "The request body nests objects and arrays deeper than "
		    "%d levels.", KV_DEPTH_MAX);
		return NULL;
	}
	if ((doc = json_loads(body, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fail(e, "The request body is not valid JSON: %s (line %d, "
		    "column %d).", jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		fail(e, "The request body must be a JSON object.");
		return NULL;
	}
	return doc;
}

/* tags: an object of string values, kept as JSON text. */
static bool
get_tags(json_t *obj, char **out, struct jerr *e)
{
	json_t		*t = member(obj, "tags"), *v;
	const char	*k;

	*out = NULL;
	if (t == NULL)
		return true;
	if (!json_is_object(t))
		return fail(e, "tags must be a JSON object of strings.");
	if (json_object_size(t) > KV_TAGS_MAX)
		return fail(e, "tags holds %zu tags; at most %d are allowed.",
		    json_object_size(t), KV_TAGS_MAX);
	json_object_foreach(t, k, v) {
		if (strlen(k) > KV_TAG_NAME_MAX)
			return fail(e, "A tag name is longer than %d "
			    "characters.", KV_TAG_NAME_MAX);
		if (!json_is_string(v))
			return fail(e, "tags.%.64s must be a string.", k);
		if (json_string_length(v) > KV_TAG_VALUE_MAX)
			return fail(e, "tags.%.64s is longer than %d "
			    "characters.", k, KV_TAG_VALUE_MAX);
	}
	*out = json_dumps(t, JSON_COMPACT);
	return true;
}

/*
 * Parse a stored or given policy document (text).  On failure return
 * CV_ERR_BAD_PARAMETER with a message naming the field in *errmsg.
 */
enum cv_err
kv_json_policy_parse(const char *text, struct cv_policy *p, char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc;
	bool		 ok;

	*errmsg = NULL;
	memset(p, 0, sizeof(*p));
	if ((doc = json_loads(text, 0, NULL)) == NULL) {
		*errmsg = cv_strdup("policy is not valid JSON.");
		return CV_ERR_BAD_PARAMETER;
	}
	ok = policy_from_json(doc, p, &e);
	json_decref(doc);
	if (!ok) {
		policy_clear(p);
		*errmsg = e.msg;
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/*
 * The members create and import share.  A create's policy is validated
 * here; an import's is kept as given (policy_given), because it only
 * overrides the policy derived from the imported certificate.
 */
static bool
create_members(json_t *doc, struct cv_create *c, bool derive, struct jerr *e)
{
	json_t	*pol, *at;

	at = member(doc, "attributes");
	if (!want_object(at, "attributes", e) ||
	    !get_bool(at, "enabled", "attributes.enabled", true, &c->enabled,
	    e) ||
	    !get_tags(doc, &c->tags_json, e) ||
	    !get_bool(doc, "preserveCertOrder", "preserveCertOrder", false,
	    &c->preserve_cert_order, e))
		return false;
	if ((pol = member(doc, "policy")) != NULL) {
		c->has_policy = true;
		if (derive) {
			if (!json_is_object(pol))
				return fail(e, "policy must be a JSON object.");
			c->policy_given = json_dumps(pol, JSON_COMPACT);
		} else if (!policy_from_json(pol, &c->policy, e))
			return false;
	}
	return true;
}

enum cv_err
kv_json_create_parse(const char *body, struct cv_create *c, char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc;
	bool		 ok;

	*errmsg = NULL;
	memset(c, 0, sizeof(*c));
	ok = (doc = load_body(body, &e)) != NULL &&
	    create_members(doc, c, false, &e);
	json_decref(doc);
	if (!ok) {
		kv_create_free(c);
		*errmsg = e.msg;
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/*
 * The body of POST /certificates/{name}/import: value (required), pwd,
 * and the members a create has; policy is optional (the JS SDK drops it).
 */
enum cv_err
kv_json_import_parse(const char *body, struct cv_create *c, char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc;
	const char	*value = NULL, *pwd = NULL;
	bool		 ok = false;

	*errmsg = NULL;
	memset(c, 0, sizeof(*c));
	if ((doc = load_body(body, &e)) == NULL ||
	    !get_str(doc, "value", "value", &value, &e) ||
	    !get_str(doc, "pwd", "pwd", &pwd, &e))
		goto out;
	if (value == NULL || *value == '\0') {
		fail(&e, "value (the certificate with its private key) is "
		    "required.");
		goto out;
	}
	c->value = cv_strdup(value);
	c->pwd = pwd == NULL ? NULL : cv_strdup(pwd);
	ok = create_members(doc, c, true, &e);
out:
	json_decref(doc);
	if (!ok) {
		kv_create_free(c);
		*errmsg = e.msg;
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

void
kv_create_free(struct cv_create *c)
{

	if (c == NULL)
		return;
	policy_clear(&c->policy);
	free(c->policy_given);
	free(c->tags_json);
	if (c->value != NULL) {
		crypto_wipe(c->value, strlen(c->value));
		free(c->value);
	}
	if (c->pwd != NULL) {
		crypto_wipe(c->pwd, strlen(c->pwd));
		free(c->pwd);
	}
	memset(c, 0, sizeof(*c));
}

enum cv_err
kv_json_cancel_parse(const char *body, bool *requested, char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc, *v;
	bool		 ok = false;

	*errmsg = NULL;
	if ((doc = load_body(body, &e)) == NULL)
		goto out;
	if ((v = member(doc, "cancellation_requested")) == NULL ||
	    !json_is_boolean(v)) {
		fail(&e, "cancellation_requested (true or false) is required.");
		goto out;
	}
	*requested = json_is_true(v);
	ok = true;
out:
	json_decref(doc);
	if (!ok) {
		*errmsg = e.msg;
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/*
 * attributes.enabled and tags of a merge or update body into m; nbf and
 * exp are the certificate's own and ignored.  Return false on failure.
 */
static bool
enabled_and_tags(json_t *doc, struct cv_merge *m, struct jerr *e)
{
	json_t	*at, *en;

	at = member(doc, "attributes");
	if (!want_object(at, "attributes", e) || !get_tags(doc, &m->tags_json,
	    e))
		return false;
	if ((en = member(at, "enabled")) != NULL) {
		if (!json_is_boolean(en))
			return fail(e, "attributes.enabled must be true or "
			    "false.");
		m->enabled = json_is_true(en);
	}
	return true;
}

/* Finish a merge or update parse: on failure free m and pass the message. */
static enum cv_err
merge_done(json_t *doc, bool ok, struct cv_merge *m, struct jerr *e,
    char **errmsg)
{

	json_decref(doc);
	if (!ok) {
		kv_merge_free(m);
		*errmsg = e->msg;
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

enum cv_err
kv_json_merge_parse(const char *body, struct cv_merge *m, char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc;
	bool		 ok = false;

	*errmsg = NULL;
	memset(m, 0, sizeof(*m));
	m->enabled = -1;
	if ((doc = load_body(body, &e)) == NULL)
		goto out;
	if (member(doc, "x5c") == NULL) {
		fail(&e, "x5c (an array of base64 certificates) is required.");
		goto out;
	}
	if (!get_strlist(doc, "x5c", "x5c", KV_X5C_MAX, KV_X5C_LEN_MAX,
	    &m->x5c, &e))
		goto out;
	if (m->x5c.n == 0) {
		fail(&e, "x5c must hold at least one certificate.");
		goto out;
	}
	ok = enabled_and_tags(doc, m, &e);
out:
	return merge_done(doc, ok, m, &e, errmsg);
}

void
kv_merge_free(struct cv_merge *m)
{

	if (m == NULL)
		return;
	cv_strlist_free(&m->x5c);
	free(m->tags_json);
	memset(m, 0, sizeof(*m));
}

/*
 * CertificateOperation.  target and error appear when the status says
 * so; status_details is omitted once completed, as the real service does.
 */
enum cv_err
kv_json_operation(struct cv_resp *resp, int status, const char *base,
    const struct cv_operation *op)
{
	json_t	*doc, *iss;
	char	*csr;

	iss = json_pack("{s:s}", "name", op->issuer_name);
	if (op->cty != NULL)
		json_object_set_new(iss, "cty", json_string(op->cty));
	if (op->cert_transparency != -1)
		json_object_set_new(iss, "cert_transparency",
		    json_boolean(op->cert_transparency));
	doc = json_pack("{s:s+++, s:o, s:b, s:s, s:s}", "id", base,
	    "/certificates/", op->name, "/pending", "issuer", iss,
	    "cancellation_requested", op->cancellation_requested,
	    "status", op->status, "request_id", op->request_id);
	if (op->csr.len > 0) {
		csr = crypto_b64_encode(op->csr.data, op->csr.len, false);
		json_object_set_new(doc, "csr", json_string(csr));
		free(csr);
	}
	/*
	 * A completed operation has none, unless it says why a cancellation
	 * request had no effect.
	 */
	if (op->status_details != NULL)
		json_object_set_new(doc, "status_details",
		    json_string(op->status_details));
	if (strcmp(op->status, "completed") == 0)
		json_object_set_new(doc, "target", json_sprintf("%s/certificates/%s",
		    base, op->name));
	if (op->error_code != NULL)
		json_object_set_new(doc, "error", json_pack("{s:s, s:s}", "code",
		    op->error_code, "message", op->error_message == NULL ? "" :
		    op->error_message));
	if (op->preserve_cert_order)
		json_object_set_new(doc, "preserveCertOrder", json_true());
	return kv_json_set(resp, status, doc);
}

/*
 * Key Vault's recoveryLevel for a vault's soft-delete settings: 90 days
 * is "Recoverable", fewer "CustomizedRecoverable"; purge protection
 * drops "+Purgeable".
 */
static const char *
recovery_level(int days, bool protected)
{

	if (days >= 90)
		return protected ? "Recoverable" : "Recoverable+Purgeable";
	return protected ? "CustomizedRecoverable" :
	    "CustomizedRecoverable+Purgeable";
}

/*
 * CertificateBundle.  A version still waiting for its certificate has no
 * cer, x5t, kid or sid (as the real service shows it).
 */
enum cv_err
kv_json_bundle(struct cv_resp *resp, int status, const char *base,
    const struct cv_version *v)
{
	json_t	*doc, *attrs, *pol, *tags;
	char	*b64;

	attrs = json_pack("{s:b}", "enabled", v->enabled);
	if (v->nbf != 0)
		json_object_set_new(attrs, "nbf", json_integer(v->nbf));
	if (v->exp != 0)
		json_object_set_new(attrs, "exp", json_integer(v->exp));
	json_object_set_new(attrs, "created", json_integer(v->created));
	json_object_set_new(attrs, "updated", json_integer(v->updated));
	json_object_set_new(attrs, "recoveryLevel", json_string(
	    recovery_level(v->recoverable_days, v->purge_protection)));
	json_object_set_new(attrs, "recoverableDays",
	    json_integer(v->recoverable_days));
	doc = json_pack("{s:s++++, s:o}", "id", base, "/certificates/", v->name,
	    "/", v->version, "attributes", attrs);
	if (v->has_cert) {
		json_object_set_new(doc, "kid", json_sprintf("%s/keys/%s/%s",
		    base, v->name, v->version));
		json_object_set_new(doc, "sid", json_sprintf("%s/secrets/%s/%s",
		    base, v->name, v->version));
		b64 = crypto_b64_encode(v->x5t, sizeof(v->x5t), true);
		json_object_set_new(doc, "x5t", json_string(b64));
		free(b64);
		b64 = crypto_b64_encode(v->der.data, v->der.len, false);
		json_object_set_new(doc, "cer", json_string(b64));
		free(b64);
	}
	if (v->policy_json != NULL &&
	    (pol = json_loads(v->policy_json, 0, NULL)) != NULL) {
		json_object_set_new(pol, "id", json_sprintf(
		    "%s/certificates/%s/policy", base, v->name));
		if (!json_is_object(json_object_get(pol, "attributes")))
			json_object_set_new(pol, "attributes",
			    json_pack("{s:b}", "enabled", 1));
		json_object_set_new(json_object_get(pol, "attributes"),
		    "created", json_integer(v->policy_created));
		json_object_set_new(json_object_get(pol, "attributes"),
		    "updated", json_integer(v->policy_updated));
		json_object_set_new(doc, "policy", pol);
	}
	if (v->content_type != NULL)
		json_object_set_new(doc, "contentType",
		    json_string(v->content_type));
	if (v->tags_json != NULL &&
	    (tags = json_loads(v->tags_json, 0, NULL)) != NULL)
		json_object_set_new(doc, "tags", tags);
	if (v->has_pending)
		json_object_set_new(doc, "pending", json_pack("{s:s+++}", "id",
		    base, "/certificates/", v->name, "/pending"));
	if (v->preserve_cert_order)
		json_object_set_new(doc, "preserveCertOrder", json_true());
	return kv_json_set(resp, status, doc);
}

/*
 * The body of PATCH /certificates/{name}/{version}: attributes.enabled
 * and tags into m (x5c stays empty).
 */
enum cv_err
kv_json_update_parse(const char *body, struct cv_merge *m, char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc;
	bool		 ok;

	*errmsg = NULL;
	memset(m, 0, sizeof(*m));
	m->enabled = -1;
	ok = (doc = load_body(body, &e)) != NULL &&
	    enabled_and_tags(doc, m, &e);
	return merge_done(doc, ok, m, &e, errmsg);
}

/*
 * PATCH of a policy: each member of the body (key_props, secret_props,
 * x509_props, lifetime_actions, issuer, attributes) replaces the stored
 * one; members not given stay.  Read-only members (id, timestamps) are
 * dropped.  *merged is the policy to validate next.
 */
enum cv_err
kv_json_policy_merge(const char *stored, const char *body, char **merged,
    char **errmsg)
{
	static const char *const members[] = { "key_props", "secret_props",
	    "x509_props", "lifetime_actions", "issuer", "attributes" };
	struct jerr	 e = { NULL };
	json_t		*cur, *patch, *v;
	size_t		 i;

	*merged = NULL;
	*errmsg = NULL;
	if ((patch = load_body(body, &e)) == NULL) {
		*errmsg = e.msg;
		return CV_ERR_BAD_PARAMETER;
	}
	if ((cur = json_loads(stored, 0, NULL)) == NULL)
		cur = json_object();
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if ((v = member(patch, members[i])) != NULL)
			json_object_set(cur, members[i], v);
	*merged = json_dumps(cur, JSON_COMPACT);
	json_decref(cur);
	json_decref(patch);
	return *merged == NULL ? CV_ERR_INTERNAL : CV_OK;
}

/* CertificatePolicy as GET …/policy returns it: with id and timestamps. */
enum cv_err
kv_json_policy_doc(struct cv_resp *resp, const char *base, const char *name,
    const char *json, int64_t created, int64_t updated)
{
	json_t	*pol, *at;

	if ((pol = json_loads(json, 0, NULL)) == NULL)
		return kv_err_set(resp, CV_ERR_INTERNAL, NULL);
	json_object_set_new(pol, "id", json_sprintf("%s/certificates/%s/policy",
	    base, name));
	if (!json_is_object(at = json_object_get(pol, "attributes"))) {
		at = json_pack("{s:b}", "enabled", 1);
		json_object_set_new(pol, "attributes", at);
	}
	json_object_set_new(at, "created", json_integer(created));
	json_object_set_new(at, "updated", json_integer(updated));
	return kv_json_set(resp, 200, pol);
}

/* The attributes of a secret or key backing a certificate version. */
static json_t *
object_attributes(const struct cv_version *v)
{
	json_t	*at;

	at = json_pack("{s:b, s:I, s:I, s:s, s:i}", "enabled", v->enabled,
	    "created", (json_int_t)v->created, "updated",
	    (json_int_t)v->updated, "recoveryLevel",
	    recovery_level(v->recoverable_days, v->purge_protection),
	    "recoverableDays", v->recoverable_days);
	if (v->nbf != 0)
		json_object_set_new(at, "nbf", json_integer(v->nbf));
	if (v->exp != 0)
		json_object_set_new(at, "exp", json_integer(v->exp));
	return at;
}

/*
 * SecretBundle of a certificate version: value (base64 PKCS#12 or PEM
 * text), contentType, the certificate's kid, managed: true.
 */
enum cv_err
kv_json_secret(struct cv_resp *resp, const char *base,
    const struct cv_version *v, const char *value)
{
	json_t	*doc, *tags;

	doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b}", "value", value,
	    "contentType", v->content_type, "id", json_sprintf(
	    "%s/secrets/%s/%s", base, v->name, v->version), "kid",
	    json_sprintf("%s/keys/%s/%s", base, v->name, v->version),
	    "attributes", object_attributes(v), "managed", 1);
	if (v->tags_json != NULL &&
	    (tags = json_loads(v->tags_json, 0, NULL)) != NULL)
		json_object_set_new(doc, "tags", tags);
	return kv_json_set(resp, 200, doc);
}

/* KeyBundle of a certificate version: the public key as a JWK. */
enum cv_err
kv_json_key(struct cv_resp *resp, const char *base,
    const struct cv_version *v, const struct cv_jwk *jwk)
{
	json_t	*doc, *key, *tags;
	bool	 rsa = strcmp(jwk->kty, "RSA") == 0;

	key = json_pack("{s:o, s:s}", "kid", json_sprintf("%s/keys/%s/%s",
	    base, v->name, v->version), "kty", jwk->kty);
	/* A certificate's key signs; an RSA one also encrypts and wraps. */
	json_object_set_new(key, "key_ops", rsa ?
	    json_pack("[s,s,s,s,s,s]", "sign", "verify", "encrypt", "decrypt",
	    "wrapKey", "unwrapKey") : json_pack("[s,s]", "sign", "verify"));
	if (rsa) {
		json_object_set_new(key, "n", json_string(jwk->n));
		json_object_set_new(key, "e", json_string(jwk->e));
	} else {
		json_object_set_new(key, "crv", json_string(jwk->crv));
		json_object_set_new(key, "x", json_string(jwk->x));
		json_object_set_new(key, "y", json_string(jwk->y));
	}
	doc = json_pack("{s:o, s:o, s:b}", "key", key, "attributes",
	    object_attributes(v), "managed", 1);
	if (v->tags_json != NULL &&
	    (tags = json_loads(v->tags_json, 0, NULL)) != NULL)
		json_object_set_new(doc, "tags", tags);
	return kv_json_set(resp, 200, doc);
}

/*
 * The policy Key Vault derives from an imported certificate (§7.2):
 * subject, SANs, key usage and EKUs from the certificate ([] when it has
 * none), its lifetime in months, the key's type, issuer Unknown.  *json
 * is a policy document for kv_json_policy_parse().
 */
enum cv_err
kv_json_policy_from_cert(const struct cv_keyspec *key,
    const struct cv_x509_req *x, unsigned months, const char *content_type,
    char **json)
{
	json_t	*pol, *kp, *sans, *ku;
	size_t	 k;

	kp = json_pack("{s:b, s:s, s:i, s:b}", "exportable", 1, "kty",
	    key->kty == CV_KTY_RSA ? "RSA" : "EC", "key_size", key->bits,
	    "reuse_key", 0);
	if (key->kty == CV_KTY_EC)
		json_object_set_new(kp, "crv", json_string(
		    curve_names[key->curve]));
	sans = json_object();
	if (x->dns_names.n > 0)
		json_object_set_new(sans, "dns_names", strlist_json(&x->dns_names));
	if (x->emails.n > 0)
		json_object_set_new(sans, "emails", strlist_json(&x->emails));
	if (x->upns.n > 0)
		json_object_set_new(sans, "upns", strlist_json(&x->upns));
	if (x->uris.n > 0)
		json_object_set_new(sans, "uris", strlist_json(&x->uris));
	if (x->ips.n > 0)
		json_object_set_new(sans, "ipAddresses", strlist_json(&x->ips));
	ku = json_array();
	for (k = 0; k < KU_COUNT; k++)
		if (x->key_usage & (1u << k))
			json_array_append_new(ku, json_string(ku_names[k]));
	pol = json_pack("{s:o, s:{s:s}, s:{s:s, s:o, s:o, s:o, s:i, "
	    "s:{s:b}}, s:{s:s}}", "key_props", kp, "secret_props",
	    "contentType", content_type, "x509_props", "subject",
	    x->subject == NULL ? "" : x->subject, "sans", sans, "ekus",
	    strlist_json(&x->ekus), "key_usage", ku, "validity_months",
	    months < 1 ? 1 : months > 1200 ? 1200 : (int)months,
	    "basic_constraints", "ca", x->ca, "issuer", "name", "Unknown");
	*json = pol == NULL ? NULL : json_dumps(pol, JSON_COMPACT);
	json_decref(pol);
	return *json == NULL ? CV_ERR_INTERNAL : CV_OK;
}

/*
 * Soft-delete: DeletedCertificateBundle and DeletedCertificateListResult.
 */

/*
 * DeletedCertificateBundle: the bundle of v as GET shows it (through
 * kv_json_bundle, so the two never drift apart) with recoveryId,
 * deletedDate and scheduledPurgeDate (Unix seconds) added.
 */
enum cv_err
kv_json_deleted_bundle(struct cv_resp *resp, const char *base,
    const struct cv_version *v, int64_t deleted, int64_t purge)
{
	json_t		*doc;
	enum cv_err	 er;

	if ((er = kv_json_bundle(resp, 200, base, v)) != CV_OK)
		return er;
	if ((doc = json_loadb(resp->body, resp->bodysz, 0, NULL)) == NULL)
		return kv_err_set(resp, CV_ERR_INTERNAL, NULL);
	json_object_set_new(doc, "recoveryId", json_sprintf(
	    "%s/deletedcertificates/%s", base, v->name));
	json_object_set_new(doc, "deletedDate", json_integer(deleted));
	json_object_set_new(doc, "scheduledPurgeDate", json_integer(purge));
	return kv_json_set(resp, 200, doc);
}

/*
 * DeletedCertificateListResult: {"value":[DeletedCertificateItem…],
 * "nextLink":…}; an item is a CertificateItem (base id) with recoveryId
 * and the two dates.  value is always an array; nextLink absolute or null.
 */
enum cv_err
kv_json_deleted_list(struct cv_resp *resp, const char *base,
    const struct cv_deleted_item *items, size_t n, const char *next)
{
	const struct cv_cert_item *ci;
	json_t			*doc, *arr, *it, *attrs, *tags;
	size_t			 i;

	arr = json_array();
	for (i = 0; i < n; i++) {
		ci = &items[i].item;
		attrs = json_pack("{s:b}", "enabled", ci->enabled);
		if (ci->nbf != 0)
			json_object_set_new(attrs, "nbf", json_integer(ci->nbf));
		if (ci->exp != 0)
			json_object_set_new(attrs, "exp", json_integer(ci->exp));
		json_object_set_new(attrs, "created", json_integer(ci->created));
		json_object_set_new(attrs, "updated", json_integer(ci->updated));
		json_object_set_new(attrs, "recoveryLevel", json_string(
		    recovery_level(items[i].recoverable_days,
		    items[i].purge_protection)));
		json_object_set_new(attrs, "recoverableDays",
		    json_integer(items[i].recoverable_days));
		it = json_pack("{s:s++, s:s++, s:I, s:I, s:o}",
		    "id", base, "/certificates/", ci->name,
		    "recoveryId", base, "/deletedcertificates/", ci->name,
		    "deletedDate", (json_int_t)items[i].deleted,
		    "scheduledPurgeDate", (json_int_t)items[i].scheduled_purge,
		    "attributes", attrs);
		if (ci->x5t != NULL)
			json_object_set_new(it, "x5t", json_string(ci->x5t));
		if (ci->tags_json != NULL &&
		    (tags = json_loads(ci->tags_json, 0, NULL)) != NULL)
			json_object_set_new(it, "tags", tags);
		json_array_append_new(arr, it);
	}
	doc = json_pack("{s:o, s:o}", "value", arr, "nextLink",
	    next == NULL ? json_null() : json_string(next));
	return kv_json_set(resp, 200, doc);
}

/*
 * Backup and restore.  The document inside a backup blob (h_backup.c
 * seals it) is ours, versioned by "format" and "formatVersion":
 *
 *	{"format":"certvault-backup","formatVersion":1,"name":…,
 *	 "policy":{…},"tags":{…},"created":…,"updated":…,"policyUpdated":…,
 *	 "keys":[{"kty":…,"keySize":…,"crv":…,"exportable":…,
 *	          "pub":<base64 SPKI>,"priv":<base64 private key>,
 *	          "created":…}…],
 *	 "versions":[{"version":…,"key":<index in keys>,"enabled":…,
 *	              "created":…,"updated":…,"contentType":…,
 *	              "preserveCertOrder":…,"tags":{…},"subject":…,
 *	              "cer":…,"x5t":…,"serial":…,"nbf":…,"exp":…,
 *	              "chain":[…]}…]}
 *
 * Times are Unix seconds; cer, x5t, serial, nbf and exp are absent on a
 * pending version.  The private keys are plain in this text: jansson's
 * copies of them are wiped before release (XXX: the parser's scratch
 * buffers are not; jansson has no hook for that).
 */

#define BACKUP_FORMAT		"certvault-backup"
#define BACKUP_FORMAT_VERSION	1
#define BACKUP_TIME_MAX		253402300799LL	/* 9999-12-31T23:59:59Z */

/* Overwrite the text of a JSON string that held key material. */
static void
wipe_json_string(json_t *s)
{

	if (json_is_string(s))
		crypto_wipe((void *)json_string_value(s), json_string_length(s));
}

/* Wipe the "priv" member of every key of a backup document. */
static void
wipe_backup_keys(json_t *doc)
{
	json_t	*k;
	size_t	 i;

	json_array_foreach(json_object_get(doc, "keys"), i, k)
		wipe_json_string(json_object_get(k, "priv"));
}

/* bytes as a JSON string: base64 (url: base64url); secret: wipe ours. */
static json_t *
b64_json(const struct cv_bytes *b, bool url, bool secret)
{
	json_t	*j;
	char	*s;

	if ((s = crypto_b64_encode(b->data, b->len, url)) == NULL)
		return NULL;
	j = json_string(s);
	if (secret)
		crypto_wipe(s, strlen(s));
	free(s);
	return j;
}

/* A JSON object from stored text, or an empty object. */
static json_t *
object_or_empty(const char *text)
{
	json_t	*o;

	if (text == NULL || (o = json_loads(text, 0, NULL)) == NULL)
		return json_object();
	if (!json_is_object(o)) {
		json_decref(o);
		return json_object();
	}
	return o;
}

static json_t *
backup_version_json(const struct cv_backup_version *v)
{
	json_t	*o, *chain;
	size_t	 i;

	o = json_pack("{s:s, s:I, s:b, s:I, s:I, s:s, s:b, s:o}",
	    "version", v->version, "key", (json_int_t)v->key,
	    "enabled", v->enabled, "created", (json_int_t)v->created,
	    "updated", (json_int_t)v->updated, "contentType",
	    v->content_type != NULL ? v->content_type : "application/x-pkcs12",
	    "preserveCertOrder", v->preserve_cert_order,
	    "tags", object_or_empty(v->tags_json));
	if (o == NULL)
		return NULL;
	if (v->subject != NULL)
		json_object_set_new(o, "subject", json_string(v->subject));
	if (v->der.len == 0)
		return o;
	json_object_set_new(o, "cer", b64_json(&v->der, false, false));
	json_object_set_new(o, "x5t", b64_json(&v->x5t, true, false));
	json_object_set_new(o, "serial", b64_json(&v->serial, false, false));
	json_object_set_new(o, "nbf", json_integer(v->nbf));
	json_object_set_new(o, "exp", json_integer(v->exp));
	chain = json_array();
	for (i = 0; i < v->nchain; i++)
		json_array_append_new(chain, b64_json(&v->chain[i], false,
		    false));
	json_object_set_new(o, "chain", chain);
	return o;
}

/*
 * The backup document of b (keys in b->keys[].priv, plain) as JSON text
 * in *out, which the caller releases with cv_bytes_free (it wipes).
 * CV_ERR_INTERNAL if b cannot be written (a stored policy that is not
 * JSON).
 */
enum cv_err
kv_json_backup_build(const struct cv_backup *b, struct cv_bytes *out)
{
	const struct cv_backup_key *k;
	json_t		*doc, *keys, *vers, *o, *pol;
	size_t		 i, len;
	enum cv_err	 er = CV_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (b->policy_json == NULL ||
	    (pol = json_loads(b->policy_json, 0, NULL)) == NULL) {
		log_error("certificate %s: the stored policy is not JSON",
		    b->name);
		return CV_ERR_INTERNAL;
	}
	doc = json_pack("{s:s, s:i, s:s, s:o, s:o, s:I, s:I, s:I}",
	    "format", BACKUP_FORMAT, "formatVersion", BACKUP_FORMAT_VERSION,
	    "name", b->name, "policy", pol, "tags",
	    object_or_empty(b->tags_json), "created", (json_int_t)b->created,
	    "updated", (json_int_t)b->updated, "policyUpdated",
	    (json_int_t)b->policy_updated);
	if (doc == NULL)
		return CV_ERR_INTERNAL;
	keys = json_array();
	json_object_set_new(doc, "keys", keys);
	for (i = 0; i < b->nkeys; i++) {
		k = &b->keys[i];
		o = json_pack("{s:s, s:i, s:b, s:o, s:o, s:I}", "kty", k->kty,
		    "keySize", (int)k->key_size, "exportable", k->exportable,
		    "pub", b64_json(&k->pub, false, false),
		    "priv", b64_json(&k->priv, false, true),
		    "created", (json_int_t)k->created);
		if (o == NULL)
			goto out;
		if (k->curve != NULL)
			json_object_set_new(o, "crv", json_string(k->curve));
		json_array_append_new(keys, o);
	}
	vers = json_array();
	json_object_set_new(doc, "versions", vers);
	for (i = 0; i < b->nversions; i++) {
		if ((o = backup_version_json(&b->versions[i])) == NULL)
			goto out;
		json_array_append_new(vers, o);
	}
	/* Straight into our buffer: no growing copies of the keys. */
	if ((len = json_dumpb(doc, NULL, 0, JSON_COMPACT)) == 0)
		goto out;
	out->data = cv_malloc(len);
	out->len = json_dumpb(doc, (char *)out->data, len, JSON_COMPACT);
	if (out->len != len) {
		cv_bytes_free(out);
		goto out;
	}
	er = CV_OK;
out:
	wipe_backup_keys(doc);
	json_decref(doc);
	return er;
}

/* Fail unless obj has member key. */
static bool
need(json_t *obj, const char *key, const char *path, struct jerr *e)
{

	return member(obj, key) != NULL ||
	    fail(e, "%s.%s is missing.", path, key);
}

/* A required Unix time member. */
static bool
get_time(json_t *obj, const char *key, const char *path, int64_t *out,
    struct jerr *e)
{
	json_int_t	 n = 0;
	bool		 has;

	if (!need(obj, key, path, e) ||
	    !get_int(obj, key, key, 0, BACKUP_TIME_MAX, &n, &has, e))
		return false;
	*out = (int64_t)n;
	return true;
}

/* A base64 (url: base64url) member into out; empty values fail. */
static bool
get_b64(json_t *obj, const char *key, const char *path, bool url,
    struct cv_bytes *out, struct jerr *e)
{
	json_t	*v;

	if (!need(obj, key, path, e))
		return false;
	v = member(obj, key);
	if (!json_is_string(v) || crypto_b64_decode(json_string_value(v),
	    json_string_length(v), url, out) != CV_OK || out->len == 0)
		return fail(e, "%s.%s is not base64.", path, key);
	return true;
}

static bool
version_id_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == 32 || !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 32;
}

static bool
parse_backup_key(json_t *o, const char *path, struct cv_backup_key *k,
    struct jerr *e)
{
	const char	*kty, *crv;
	json_int_t	 size = 0;
	bool		 has;

	if (!json_is_object(o))
		return fail(e, "%s must be an object.", path);
	if (!get_str(o, "kty", path, &kty, e) || !get_str(o, "crv", path, &crv,
	    e) || !need(o, "keySize", path, e) || !get_int(o, "keySize", path,
	    1, 16384, &size, &has, e) || !need(o, "exportable", path, e) ||
	    !get_bool(o, "exportable", path, false, &k->exportable, e) ||
	    !get_time(o, "created", path, &k->created, e) ||
	    !get_b64(o, "pub", path, false, &k->pub, e) ||
	    !get_b64(o, "priv", path, false, &k->priv, e))
		return false;
	if (kty == NULL || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
		return fail(e, "%s.kty must be RSA or EC.", path);
	k->kty = cv_strdup(kty);
	k->key_size = (unsigned)size;
	k->curve = crv != NULL ? cv_strdup(crv) : NULL;
	return true;
}

static bool
parse_backup_version(json_t *o, const char *path, size_t nkeys,
    struct cv_backup_version *v, struct jerr *e)
{
	const char	*ver, *ct, *subject;
	json_t		*chain, *c;
	json_int_t	 key = 0;
	bool		 has;
	size_t		 i;
	char		 cpath[96];

	if (!json_is_object(o))
		return fail(e, "%s must be an object.", path);
	if (!get_str(o, "version", path, &ver, e) ||
	    !get_str(o, "contentType", path, &ct, e) ||
	    !get_str(o, "subject", path, &subject, e) ||
	    !need(o, "key", path, e) || !get_int(o, "key", path, 0,
	    (json_int_t)nkeys - 1, &key, &has, e) ||
	    !need(o, "enabled", path, e) ||
	    !get_bool(o, "enabled", path, false, &v->enabled, e) ||
	    !get_bool(o, "preserveCertOrder", path, false,
	    &v->preserve_cert_order, e) ||
	    !get_time(o, "created", path, &v->created, e) ||
	    !get_time(o, "updated", path, &v->updated, e) ||
	    !get_tags(o, &v->tags_json, e))
		return false;
	if (ver == NULL || !version_id_valid(ver))
		return fail(e, "%s.version is not a version id.", path);
	if (ct == NULL || (strcmp(ct, "application/x-pkcs12") != 0 &&
	    strcmp(ct, "application/x-pem-file") != 0))
		return fail(e, "%s.contentType is not known.", path);
	snprintf(v->version, sizeof(v->version), "%s", ver);
	v->key = (size_t)key;
	v->content_type = cv_strdup(ct);
	v->subject = subject != NULL ? cv_strdup(subject) : NULL;
	if (member(o, "cer") == NULL)
		return true;
	if (!get_b64(o, "cer", path, false, &v->der, e) ||
	    !get_b64(o, "x5t", path, true, &v->x5t, e) ||
	    !get_b64(o, "serial", path, false, &v->serial, e) ||
	    !get_time(o, "nbf", path, &v->nbf, e) ||
	    !get_time(o, "exp", path, &v->exp, e))
		return false;
	if (v->x5t.len != 20)
		return fail(e, "%s.x5t is not a SHA-1 thumbprint.", path);
	if ((chain = member(o, "chain")) == NULL)
		return true;
	if (!json_is_array(chain))
		return fail(e, "%s.chain must be an array.", path);
	v->chain = cv_calloc(json_array_size(chain) + 1, sizeof(*v->chain));
	json_array_foreach(chain, i, c) {
		snprintf(cpath, sizeof(cpath), "%s.chain[%zu]", path, i);
		if (!json_is_string(c) || crypto_b64_decode(json_string_value(c),
		    json_string_length(c), false, &v->chain[i]) != CV_OK ||
		    v->chain[i].len == 0)
			return fail(e, "%s is not base64.", cpath);
		v->nchain++;
	}
	return true;
}

/*
 * Read a backup document (the opened blob) into b; its private keys land
 * plain in b->keys[].priv.  On failure return CV_ERR_BAD_PARAMETER with
 * what is wrong in *errmsg (for the log: the client learns only that the
 * blob is not valid) and leave b empty.  The caller releases b with
 * cv_backup_free (it wipes).
 */
enum cv_err
kv_json_backup_parse(const struct cv_bytes *plain, struct cv_backup *b,
    char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc = NULL, *keys, *vers, *it, *pol;
	const char	*s;
	json_int_t	 fv = 0;
	bool		 has, ok = false;
	size_t		 i, j;
	char		 path[64];

	*errmsg = NULL;
	memset(b, 0, sizeof(*b));
	if (plain->data == NULL || (doc = json_loadb((const char *)plain->data,
	    plain->len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		fail(&e, "the backup is not JSON.");
		goto out;
	}
	if (!json_is_object(doc)) {
		fail(&e, "the backup is not a JSON object.");
		goto out;
	}
	if (!get_str(doc, "format", "format", &s, &e) ||
	    s == NULL || strcmp(s, BACKUP_FORMAT) != 0 ||
	    !get_int(doc, "formatVersion", "formatVersion",
	    BACKUP_FORMAT_VERSION, BACKUP_FORMAT_VERSION, &fv, &has, &e) ||
	    !has) {
		fail(&e, "not a certvault backup of format version %d.",
		    BACKUP_FORMAT_VERSION);
		goto out;
	}
	if (!get_str(doc, "name", "name", &s, &e) || s == NULL ||
	    !cv_name_valid(s)) {
		fail(&e, "name is not a certificate name.");
		goto out;
	}
	b->name = cv_strdup(s);
	if (!json_is_object(pol = member(doc, "policy"))) {
		fail(&e, "policy must be an object.");
		goto out;
	}
	b->policy_json = json_dumps(pol, JSON_COMPACT);
	if (!get_tags(doc, &b->tags_json, &e) ||
	    !get_time(doc, "created", "backup", &b->created, &e) ||
	    !get_time(doc, "updated", "backup", &b->updated, &e) ||
	    !get_time(doc, "policyUpdated", "backup", &b->policy_updated, &e))
		goto out;
	keys = member(doc, "keys");
	vers = member(doc, "versions");
	if (!json_is_array(keys) || json_array_size(keys) == 0 ||
	    !json_is_array(vers) || json_array_size(vers) == 0) {
		fail(&e, "keys and versions must be non-empty arrays.");
		goto out;
	}
	b->keys = cv_calloc(json_array_size(keys), sizeof(*b->keys));
	b->nkeys = json_array_size(keys);
	json_array_foreach(keys, i, it) {
		snprintf(path, sizeof(path), "keys[%zu]", i);
		if (!parse_backup_key(it, path, &b->keys[i], &e))
			goto out;
	}
	b->versions = cv_calloc(json_array_size(vers), sizeof(*b->versions));
	b->nversions = json_array_size(vers);
	json_array_foreach(vers, i, it) {
		snprintf(path, sizeof(path), "versions[%zu]", i);
		if (!parse_backup_version(it, path, b->nkeys, &b->versions[i],
		    &e))
			goto out;
		for (j = 0; j < i; j++)
			if (strcmp(b->versions[j].version,
			    b->versions[i].version) == 0) {
				fail(&e, "%s.version appears twice.", path);
				goto out;
			}
	}
	ok = true;
out:
	if (doc != NULL)
		wipe_backup_keys(doc);
	json_decref(doc);
	if (!ok) {
		cv_backup_free(b);
		*errmsg = e.msg != NULL ? e.msg : cv_strdup("not valid.");
		return CV_ERR_BAD_PARAMETER;
	}
	free(e.msg);
	return CV_OK;
}

/* BackupCertificateResult: {"value": blob}. */
enum cv_err
kv_json_backup_value(struct cv_resp *resp, const char *blob)
{

	return kv_json_set(resp, 200, json_pack("{s:s}", "value", blob));
}

/*
 * The body of POST /certificates/restore: {"value": "<base64url>"} into
 * *value (caller frees).  On failure CV_ERR_BAD_PARAMETER and *errmsg.
 */
enum cv_err
kv_json_restore_parse(const char *body, char **value, char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc;
	const char	*v = NULL;

	*value = NULL;
	*errmsg = NULL;
	if ((doc = load_body(body, &e)) == NULL) {
		*errmsg = e.msg;
		return CV_ERR_BAD_PARAMETER;
	}
	if (!get_str(doc, "value", "value", &v, &e) || v == NULL || *v == '\0') {
		json_decref(doc);
		free(e.msg);
		*errmsg = cv_strdup("value (the backup blob, base64url) is "
		    "required.");
		return CV_ERR_BAD_PARAMETER;
	}
	*value = cv_strdup(v);
	json_decref(doc);
	return CV_OK;
}

/*
 * Issuers and contacts (keyvault-certificates-api.md §7.10, §7.11, §9.6,
 * §9.7).
 */

/*
 * A string member into *out (a copy): absent or null leaves *has false;
 * "" is given but leaves *out NULL (it clears the member).  Strings with
 * a NUL byte inside are refused.
 */
static bool
get_opt_str(json_t *obj, const char *key, const char *path, bool *has,
    char **out, struct jerr *e)
{
	json_t	*v = member(obj, key);

	*has = false;
	*out = NULL;
	if (v == NULL)
		return true;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(e, "%s must be a string.", path);
	*has = true;
	if (json_string_length(v) > 0)
		*out = cv_strdup(json_string_value(v));
	return true;
}

/*
 * org_details.admin_details: an array of AdministratorDetails, kept with
 * only their known string members, as JSON text.
 */
static bool
get_admin_details(json_t *org, char **out, struct jerr *e)
{
	static const char *const keys[] = { "first_name", "last_name",
	    "email", "phone" };
	json_t	*v = member(org, "admin_details"), *arr, *it, *o, *s;
	size_t	 i, k;

	*out = NULL;
	if (v == NULL)
		return true;
	if (!json_is_array(v))
		return fail(e, "org_details.admin_details must be an array.");
	if (json_array_size(v) > KV_LIST_MAX)
		return fail(e, "org_details.admin_details holds %zu entries; at "
		    "most %d are allowed.", json_array_size(v), KV_LIST_MAX);
	arr = json_array();
	json_array_foreach(v, i, it) {
		if (!json_is_object(it)) {
			json_decref(arr);
			return fail(e, "org_details.admin_details[%zu] must be "
			    "a JSON object.", i);
		}
		o = json_object();
		json_array_append_new(arr, o);
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if ((s = member(it, keys[k])) == NULL)
				continue;
			if (!json_is_string(s)) {
				json_decref(arr);
				return fail(e, "org_details.admin_details[%zu]."
				    "%s must be a string.", i, keys[k]);
			}
			json_object_set(o, keys[k], s);
		}
	}
	*out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return *out != NULL || fail(e, "org_details.admin_details cannot be "
	    "stored.");
}

/* 1 to 127 printable ASCII characters, as issuers.provider allows. */
static bool
provider_valid(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (n == 127 || s[n] < 0x20 || s[n] > 0x7e)
			return false;
	return n > 0;
}

void
kv_issuer_body_free(struct cv_issuer_body *b)
{

	if (b == NULL)
		return;
	free(b->provider);
	free(b->account_id);
	if (b->pwd != NULL) {
		crypto_wipe(b->pwd, strlen(b->pwd));
		free(b->pwd);
	}
	free(b->org_id);
	free(b->admin_details_json);
	memset(b, 0, sizeof(*b));
	b->enabled = -1;
}

/*
 * The body of PUT (set true: provider required) or PATCH (all optional)
 * /certificates/issuers/{name}: provider, credentials {account_id, pwd},
 * org_details {id, admin_details[]}, attributes {enabled}.  Unknown and
 * read-only members (id, attributes.created) are ignored.  On failure
 * return CV_ERR_BAD_PARAMETER with a message naming the field.
 */
enum cv_err
kv_json_issuer_parse(const char *body, bool set, struct cv_issuer_body *b,
    char **errmsg)
{
	struct jerr	 e = { NULL };
	json_t		*doc, *cr, *org, *at, *en;
	const char	*prov = NULL;
	bool		 ok = false;

	*errmsg = NULL;
	memset(b, 0, sizeof(*b));
	b->enabled = -1;
	if ((doc = load_body(body, &e)) == NULL)
		goto out;
	cr = member(doc, "credentials");
	org = member(doc, "org_details");
	at = member(doc, "attributes");
	if (!get_str(doc, "provider", "provider", &prov, &e) ||
	    !want_object(cr, "credentials", &e) ||
	    !want_object(org, "org_details", &e) ||
	    !want_object(at, "attributes", &e) ||
	    !get_opt_str(cr, "account_id", "credentials.account_id",
	    &b->has_account_id, &b->account_id, &e) ||
	    !get_opt_str(cr, "pwd", "credentials.pwd", &b->has_pwd, &b->pwd,
	    &e) ||
	    !get_opt_str(org, "id", "org_details.id", &b->has_org_id,
	    &b->org_id, &e) ||
	    !get_admin_details(org, &b->admin_details_json, &e))
		goto out;
	if ((en = member(at, "enabled")) != NULL) {
		if (!json_is_boolean(en)) {
			fail(&e, "attributes.enabled must be true or false.");
			goto out;
		}
		b->enabled = json_is_true(en);
	}
	if (prov == NULL && set) {
		fail(&e, "provider is required.");
		goto out;
	}
	if (prov != NULL && !provider_valid(prov)) {
		fail(&e, "provider must be 1 to 127 printable ASCII "
		    "characters.");
		goto out;
	}
	b->provider = prov == NULL ? NULL : cv_strdup(prov);
	ok = true;
out:
	json_decref(doc);
	if (!ok) {
		kv_issuer_body_free(b);
		*errmsg = e.msg;
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/*
 * IssuerBundle.  The password is never shown: credentials appears with
 * account_id only, and not at all without one; org_details always has an
 * admin_details array.
 */
enum cv_err
kv_json_issuer(struct cv_resp *resp, const char *base,
    const struct cv_issuer *is)
{
	json_t	*doc, *org, *admins = NULL;

	if (is->admin_details_json != NULL)
		admins = json_loads(is->admin_details_json, 0, NULL);
	if (!json_is_array(admins)) {
		json_decref(admins);
		admins = json_array();
	}
	org = json_pack("{s:o}", "admin_details", admins);
	if (is->organization_id != NULL)
		json_object_set_new(org, "id",
		    json_string(is->organization_id));
	doc = json_pack("{s:s++, s:s, s:o, s:{s:b, s:I, s:I}}",
	    "id", base, "/certificates/issuers/", is->name,
	    "provider", is->provider, "org_details", org,
	    "attributes", "enabled", is->enabled,
	    "created", (json_int_t)is->created,
	    "updated", (json_int_t)is->updated);
	if (doc != NULL && is->account_id != NULL)
		json_object_set_new(doc, "credentials", json_pack("{s:s}",
		    "account_id", is->account_id));
	return kv_json_set(resp, 200, doc);
}

/*
 * CertificateIssuerListResult: {"value":[{id, provider}…],"nextLink":…};
 * value is always an array, nextLink an absolute URL or null.
 */
enum cv_err
kv_json_issuer_list(struct cv_resp *resp, const char *base,
    const struct cv_issuer *items, size_t n, const char *next)
{
	json_t	*arr;
	size_t	 i;

	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s++, s:s}", "id",
		    base, "/certificates/issuers/", items[i].name, "provider",
		    items[i].provider));
	return kv_json_set(resp, 200, json_pack("{s:o, s:o}", "value", arr,
	    "nextLink", next == NULL ? json_null() : json_string(next)));
}

/*
 * A simple check of a contact's email: printable ASCII without spaces,
 * one "@" with something on each side (what contacts.email allows).
 */
bool
kv_email_valid(const char *s)
{
	const char	*at = NULL, *p;

	for (p = s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p > 0x7e)
			return false;
		if (*p == '@') {
			if (at != NULL)
				return false;
			at = p;
		}
	}
	return at != NULL && at != s && at[1] != '\0' && p - s <= 254;
}

/*
 * The body of PUT /certificates/contacts: {"contacts":[{email, name,
 * phone}…]} with at least one contact, each with at least one member
 * (empty strings count as absent) and a valid email when given.  On
 * success *out (n items) is for cv_contacts_free().
 */
enum cv_err
kv_json_contacts_parse(const char *body, struct cv_contact **out, size_t *n,
    char **errmsg)
{
	static const char *const keys[] = { "email", "name", "phone" };
	struct jerr	 e = { NULL };
	json_t		*doc, *list, *it;
	struct cv_contact *c;
	char		 path[64], *vals[3];
	size_t		 i, k;
	bool		 ok = false, has;

	*errmsg = NULL;
	*out = NULL;
	*n = 0;
	if ((doc = load_body(body, &e)) == NULL)
		goto out;
	if ((list = member(doc, "contacts")) == NULL ||
	    !json_is_array(list)) {
		fail(&e, "contacts (an array of {email, name, phone}) is "
		    "required.");
		goto out;
	}
	if (json_array_size(list) == 0) {
		fail(&e, "contacts must hold at least one contact; DELETE "
		    "/certificates/contacts removes them all.");
		goto out;
	}
	if (json_array_size(list) > KV_LIST_MAX) {
		fail(&e, "contacts holds %zu contacts; at most %d are allowed.",
		    json_array_size(list), KV_LIST_MAX);
		goto out;
	}
	*out = cv_calloc(json_array_size(list), sizeof(**out));
	json_array_foreach(list, i, it) {
		snprintf(path, sizeof(path), "contacts[%zu]", i);
		if (!json_is_object(it)) {
			fail(&e, "%s must be a JSON object.", path);
			goto out;
		}
		c = &(*out)[(*n)++];
		for (k = 0; k < 3; k++) {
			snprintf(path, sizeof(path), "contacts[%zu].%s", i,
			    keys[k]);
			if (!get_opt_str(it, keys[k], path, &has, &vals[k], &e))
				goto out;
			if (k == 0)
				c->email = vals[0];
			else if (k == 1)
				c->name = vals[1];
			else
				c->phone = vals[2];
		}
		if (c->email == NULL && c->name == NULL && c->phone == NULL) {
			fail(&e, "contacts[%zu] needs an email, a name or a "
			    "phone.", i);
			goto out;
		}
		if (c->email != NULL && !kv_email_valid(c->email)) {
			fail(&e, "contacts[%zu].email is not a valid email "
			    "address.", i);
			goto out;
		}
	}
	ok = true;
out:
	json_decref(doc);
	if (!ok) {
		cv_contacts_free(*out, *n);
		*out = NULL;
		*n = 0;
		*errmsg = e.msg;
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/* Contacts: {"id":"{base}/certificates/contacts","contacts":[…]}. */
enum cv_err
kv_json_contacts(struct cv_resp *resp, const char *base,
    const struct cv_contact *list, size_t n)
{
	json_t	*arr, *c;
	size_t	 i;

	arr = json_array();
	for (i = 0; i < n; i++) {
		c = json_object();
		if (list[i].email != NULL)
			json_object_set_new(c, "email",
			    json_string(list[i].email));
		if (list[i].name != NULL)
			json_object_set_new(c, "name",
			    json_string(list[i].name));
		if (list[i].phone != NULL)
			json_object_set_new(c, "phone",
			    json_string(list[i].phone));
		json_array_append_new(arr, c);
	}
	return kv_json_set(resp, 200, json_pack("{s:s+, s:o}", "id", base,
	    "/certificates/contacts", "contacts", arr));
}
