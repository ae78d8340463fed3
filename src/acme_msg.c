/*
 * certvault — ACME's JSON (RFC 8555): what certvault-worker sends to a
 * CA and reads back, the JWS envelope (RFC 7515, flattened), JWK
 * thumbprints (RFC 7638), and the progress kept in provider_state.
 * SPDX-License-Identifier: ISC
 *
 * Readers are lenient about members they do not need and strict about
 * the ones they do: a CA's answer without them is an error the operator
 * sees, not a crash.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme.h"
#include "crypto.h"
#include "log.h"

#define ACME_ERR	"urn:ietf:params:acme:error:"

void
acme_dir_free(struct acme_dir *d)
{

	if (d == NULL)
		return;
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	memset(d, 0, sizeof(*d));
}

void
acme_problem_free(struct acme_problem *p)
{

	if (p == NULL)
		return;
	free(p->type);
	free(p->detail);
	memset(p, 0, sizeof(*p));
}

void
acme_order_free(struct acme_order *o)
{

	if (o == NULL)
		return;
	free(o->status);
	cv_strlist_free(&o->authorizations);
	free(o->finalize);
	free(o->certificate);
	acme_problem_free(&o->error);
	memset(o, 0, sizeof(*o));
}

void
acme_authz_free(struct acme_authz *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nchallenges; i++) {
		free(a->challenges[i].type);
		free(a->challenges[i].url);
		free(a->challenges[i].token);
		free(a->challenges[i].status);
		acme_problem_free(&a->challenges[i].error);
	}
	free(a->challenges);
	free(a->status);
	free(a->identifier);
	memset(a, 0, sizeof(*a));
}

void
acme_state_free(struct acme_state *s)
{

	if (s == NULL)
		return;
	free(s->order_url);
	cv_strlist_free(&s->dns_records);
	memset(s, 0, sizeof(*s));
}

/* A copy of string member key of obj, or NULL. */
static char *
str_dup(json_t *obj, const char *key)
{
	const char	*s;

	s = json_string_value(json_object_get(obj, key));
	return s != NULL ? cv_strdup(s) : NULL;
}

/* The strings of array a into l (other members skipped; none if no array). */
static void
strlist_of(json_t *a, struct cv_strlist *l)
{
	json_t	*v;
	size_t	 i;

	if (!json_is_array(a))
		return;
	l->v = cv_calloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			l->v[l->n++] = cv_strdup(json_string_value(v));
}

static json_t *
parse(const char *text, const char *what, char **err)
{
	json_error_t	 je;
	json_t		*doc;

	doc = text == NULL ? NULL : json_loads(text, JSON_REJECT_DUPLICATES,
	    &je);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		if (err != NULL)
			*err = cv_asprintf("the ACME server's %s is not a "
			    "JSON object", what);
		return NULL;
	}
	return doc;
}

/* The directory; CV_ERR_BAD_PARAMETER with *err if it lacks a URL. */
enum cv_err
acme_msg_dir(const char *text, struct acme_dir *d, char **err)
{
	json_t	*doc, *meta;

	memset(d, 0, sizeof(*d));
	if ((doc = parse(text, "directory", err)) == NULL)
		return CV_ERR_BAD_PARAMETER;
	d->new_nonce = str_dup(doc, "newNonce");
	d->new_account = str_dup(doc, "newAccount");
	d->new_order = str_dup(doc, "newOrder");
	meta = json_object_get(doc, "meta");
	d->eab_required = json_is_true(json_object_get(meta,
	    "externalAccountRequired"));
	json_decref(doc);
	if (d->new_nonce == NULL || d->new_account == NULL ||
	    d->new_order == NULL) {
		*err = cv_strdup("the ACME directory lacks newNonce, "
		    "newAccount or newOrder");
		acme_dir_free(d);
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/* Fill p from problem object o: its type and detail, subproblems after. */
static void
problem_from(json_t *o, struct acme_problem *p)
{
	json_t		*subs, *sp;
	const char	*d, *v;
	char		*t;
	size_t		 i;

	p->type = str_dup(o, "type");
	d = json_string_value(json_object_get(o, "detail"));
	p->detail = cv_strdup(d != NULL ? d : "no detail given");
	subs = json_object_get(o, "subproblems");
	json_array_foreach(subs, i, sp) {
		if ((d = json_string_value(json_object_get(sp,
		    "detail"))) == NULL)
			continue;
		v = json_string_value(json_object_get(json_object_get(sp,
		    "identifier"), "value"));
		t = cv_asprintf("%s; %s%s%s", p->detail, v != NULL ? v : "",
		    v != NULL ? ": " : "", d);
		free(p->detail);
		p->detail = t;
	}
}

/*
 * The problem document in a CA's error response (body of content type
 * ctype); false if it is not one.
 */
bool
acme_msg_problem(const char *text, const char *ctype, struct acme_problem *p)
{
	json_t	*doc;

	memset(p, 0, sizeof(*p));
	(void)ctype;	/* some CAs label problems application/json */
	if ((doc = parse(text, "problem", NULL)) == NULL)
		return false;
	if (json_string_value(json_object_get(doc, "type")) == NULL) {
		json_decref(doc);
		return false;
	}
	problem_from(doc, p);
	json_decref(doc);
	return true;
}

/*
 * Key Vault's error code for a problem type: the order was refused for
 * what the request asked ("Request rejected"), or the CA failed it
 * ("Certificate issuer error").
 */
const char *
acme_msg_error_code(const char *type)
{
	static const char *const rejected[] = {
		"rejectedIdentifier", "unsupportedIdentifier", "caa",
		"badCSR", "badPublicKey", "badSignatureAlgorithm",
	};
	size_t	 i, n = strlen(ACME_ERR);

	if (type == NULL || strncmp(type, ACME_ERR, n) != 0)
		return ACME_CODE_ISSUER;
	for (i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
		if (strcmp(type + n, rejected[i]) == 0)
			return ACME_CODE_REJECTED;
	return ACME_CODE_ISSUER;
}

enum cv_err
acme_msg_order(const char *text, struct acme_order *o, char **err)
{
	json_t		*doc;

	memset(o, 0, sizeof(*o));
	if ((doc = parse(text, "order", err)) == NULL)
		return CV_ERR_BAD_PARAMETER;
	o->status = str_dup(doc, "status");
	o->finalize = str_dup(doc, "finalize");
	o->certificate = str_dup(doc, "certificate");
	strlist_of(json_object_get(doc, "authorizations"), &o->authorizations);
	if (json_is_object(json_object_get(doc, "error")))
		problem_from(json_object_get(doc, "error"), &o->error);
	json_decref(doc);
	if (o->status == NULL || o->finalize == NULL) {
		*err = cv_strdup("the ACME order lacks status or finalize");
		acme_order_free(o);
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

enum cv_err
acme_msg_authz(const char *text, struct acme_authz *a, char **err)
{
	json_t			*doc, *chs, *c;
	struct acme_challenge	*ch;
	size_t			 i;

	memset(a, 0, sizeof(*a));
	if ((doc = parse(text, "authorization", err)) == NULL)
		return CV_ERR_BAD_PARAMETER;
	a->status = str_dup(doc, "status");
	a->identifier = str_dup(json_object_get(doc, "identifier"), "value");
	a->wildcard = json_is_true(json_object_get(doc, "wildcard"));
	chs = json_object_get(doc, "challenges");
	if (json_is_array(chs) && json_array_size(chs) > 0) {
		a->challenges = cv_calloc(json_array_size(chs),
		    sizeof(*a->challenges));
		json_array_foreach(chs, i, c) {
			ch = &a->challenges[a->nchallenges];
			ch->type = str_dup(c, "type");
			ch->url = str_dup(c, "url");
			ch->token = str_dup(c, "token");
			ch->status = str_dup(c, "status");
			if (json_is_object(json_object_get(c, "error")))
				problem_from(json_object_get(c, "error"),
				    &ch->error);
			if (ch->type == NULL || ch->url == NULL ||
			    ch->status == NULL) {
				free(ch->type);
				free(ch->url);
				free(ch->token);
				free(ch->status);
				acme_problem_free(&ch->error);
				memset(ch, 0, sizeof(*ch));
				continue;
			}
			a->nchallenges++;
		}
	}
	json_decref(doc);
	if (a->status == NULL || a->identifier == NULL) {
		*err = cv_strdup("the ACME authorization lacks status or "
		    "identifier");
		acme_authz_free(a);
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/* provider_state as kept by STMT_ISSUE_LATER; {} is a fresh start. */
enum cv_err
acme_msg_state(const char *text, struct acme_state *s)
{
	json_t	*doc;

	memset(s, 0, sizeof(*s));
	if (text == NULL || *text == '\0')
		return CV_OK;
	if ((doc = parse(text, "state", NULL)) == NULL)
		return CV_ERR_BAD_PARAMETER;
	s->order_url = str_dup(doc, "order");
	s->transient = (int)json_integer_value(json_object_get(doc,
	    "transient"));
	strlist_of(json_object_get(doc, "dns_records"), &s->dns_records);
	json_decref(doc);
	return CV_OK;
}

/* Dump doc compactly and drop it; aborts only on allocation failure. */
static char *
dump(json_t *doc, size_t flags)
{
	char	*s;

	if (doc == NULL || (s = json_dumps(doc, JSON_COMPACT | flags)) == NULL)
		fatal("out of memory");
	json_decref(doc);
	return s;
}

char *
acme_msg_state_json(const struct acme_state *s)
{
	json_t	*doc, *recs;
	size_t	 i;

	recs = json_array();
	for (i = 0; i < s->dns_records.n; i++)
		json_array_append_new(recs, json_string(s->dns_records.v[i]));
	doc = json_pack("{s:s?, s:o, s:i}", "order", s->order_url,
	    "dns_records", recs, "transient", s->transient);
	return dump(doc, JSON_SORT_KEYS);
}

/*
 * The public key as JSON with only the required members, sorted, no
 * white space: RFC 7638's canonical form, also fine as the JWS jwk.
 */
char *
acme_msg_jwk_json(const struct cv_jwk *k)
{
	json_t	*doc;

	if (k->n != NULL)
		doc = json_pack("{s:s, s:s, s:s}", "e", k->e, "kty", "RSA",
		    "n", k->n);
	else
		doc = json_pack("{s:s, s:s, s:s, s:s}", "crv", k->crv, "kty",
		    "EC", "x", k->x, "y", k->y);
	return dump(doc, JSON_SORT_KEYS);
}

/* The RFC 7638 thumbprint of k: base64url SHA-256, 43 characters. */
enum cv_err
acme_msg_thumbprint(const struct cv_jwk *k, char out[44])
{
	unsigned char	 md[32];
	char		*json, *b64;

	if (k->kty == NULL || (k->n == NULL && k->x == NULL))
		return CV_ERR_BAD_PARAMETER;
	json = acme_msg_jwk_json(k);
	crypto_sha256(json, strlen(json), md);
	free(json);
	b64 = crypto_b64_encode(md, sizeof(md), true);
	snprintf(out, 44, "%s", b64);
	free(b64);
	return CV_OK;
}

/*
 * A JWS in flattened JSON (RFC 8555, 6.2) signed with key: the header
 * names jwk (newAccount) or kid, nonce and url; payload NULL makes a
 * POST-as-GET (empty payload).
 */
enum cv_err
acme_msg_jws(const struct cv_bytes *key, const struct cv_jwk *jwk,
    const char *kid, const char *nonce, const char *url, const char *payload,
    char **out)
{
	json_t		*hdr;
	const char	*alg;
	char		*hjson, *h64, *p64, *input, *sig = NULL, *jwkjson;
	enum cv_err	 er;

	*out = NULL;
	if ((alg = crypto_jws_alg(key)) == NULL)
		return CV_ERR_BAD_PARAMETER;
	hdr = json_pack("{s:s, s:s, s:s}", "alg", alg, "nonce", nonce,
	    "url", url);
	if (hdr == NULL)
		fatal("out of memory");
	if (kid != NULL)
		json_object_set_new(hdr, "kid", json_string(kid));
	else {
		jwkjson = acme_msg_jwk_json(jwk);
		json_object_set_new(hdr, "jwk", json_loads(jwkjson, 0, NULL));
		free(jwkjson);
	}
	hjson = dump(hdr, JSON_SORT_KEYS);
	h64 = crypto_b64_encode((const unsigned char *)hjson, strlen(hjson),
	    true);
	p64 = payload == NULL ? cv_strdup("") : crypto_b64_encode(
	    (const unsigned char *)payload, strlen(payload), true);
	input = cv_asprintf("%s.%s", h64, p64);
	er = crypto_jws_sign(key, input, strlen(input), &sig);
	if (er == CV_OK)
		*out = dump(json_pack("{s:s, s:s, s:s}", "protected", h64,
		    "payload", p64, "signature", sig), 0);
	free(hjson);
	free(h64);
	free(p64);
	free(input);
	free(sig);
	return er;
}

/*
 * The externalAccountBinding member of newAccount (RFC 8555, 7.3.4): the
 * account's jwk signed with HS256 under the CA's MAC key (hmac_b64,
 * base64url as CAs hand it out) for key id eab_kid.  CV_ERR_BAD_PARAMETER
 * with *err if the MAC key is not base64url.
 */
enum cv_err
acme_msg_eab(const char *eab_kid, const char *hmac_b64,
    const struct cv_jwk *jwk, const char *url, char **out, char **err)
{
	struct cv_bytes	 mac = { NULL, 0 };
	char		*hjson, *h64, *jwkjson, *p64, *input, *sig = NULL;
	enum cv_err	 er;

	*out = NULL;
	if (crypto_b64_decode(hmac_b64, strlen(hmac_b64), true, &mac) !=
	    CV_OK || mac.len == 0) {
		*err = cv_strdup("the issuer's password (the External Account "
		    "Binding MAC key) is not base64url");
		return CV_ERR_BAD_PARAMETER;
	}
	hjson = dump(json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid",
	    eab_kid, "url", url), JSON_SORT_KEYS);
	h64 = crypto_b64_encode((const unsigned char *)hjson, strlen(hjson),
	    true);
	jwkjson = acme_msg_jwk_json(jwk);
	p64 = crypto_b64_encode((const unsigned char *)jwkjson,
	    strlen(jwkjson), true);
	input = cv_asprintf("%s.%s", h64, p64);
	if ((er = crypto_hs256(&mac, input, strlen(input), &sig)) == CV_OK)
		*out = dump(json_pack("{s:s, s:s, s:s}", "protected", h64,
		    "payload", p64, "signature", sig), 0);
	crypto_wipe(mac.data, mac.len);
	cv_bytes_free(&mac);
	free(hjson);
	free(h64);
	free(jwkjson);
	free(p64);
	free(input);
	free(sig);
	return er;
}

/*
 * The e-mail addresses of an issuer's org_details.admin_details (JSON
 * array of {email, …}) into emails (caller frees); none if unreadable.
 */
void
acme_msg_emails(const char *admin_json, struct cv_strlist *emails)
{
	json_t		*doc, *a;
	const char	*e;
	size_t		 i;

	memset(emails, 0, sizeof(*emails));
	if (admin_json == NULL || (doc = json_loads(admin_json, 0,
	    NULL)) == NULL)
		return;
	if (json_is_array(doc)) {
		emails->v = cv_calloc(json_array_size(doc) + 1,
		    sizeof(char *));
		json_array_foreach(doc, i, a)
			if ((e = json_string_value(json_object_get(a,
			    "email"))) != NULL && *e != '\0')
				emails->v[emails->n++] = cv_strdup(e);
	}
	json_decref(doc);
}

/* newAccount: agree to the terms, contacts as mailto:, EAB if given. */
char *
acme_msg_new_account(const struct cv_strlist *emails, const char *eab)
{
	json_t	*doc, *contacts;
	char	*m;
	size_t	 i;

	contacts = json_array();
	for (i = 0; i < emails->n; i++) {
		m = cv_asprintf("mailto:%s", emails->v[i]);
		json_array_append_new(contacts, json_string(m));
		free(m);
	}
	doc = json_pack("{s:b, s:o}", "termsOfServiceAgreed", 1, "contact",
	    contacts);
	if (eab != NULL)
		json_object_set_new(doc, "externalAccountBinding",
		    json_loads(eab, 0, NULL));
	return dump(doc, 0);
}

char *
acme_msg_new_order(const struct cv_strlist *names)
{
	json_t	*ids;
	size_t	 i;

	ids = json_array();
	for (i = 0; i < names->n; i++)
		json_array_append_new(ids, json_pack("{s:s, s:s}", "type",
		    "dns", "value", names->v[i]));
	return dump(json_pack("{s:o}", "identifiers", ids), 0);
}

char *
acme_msg_finalize(const struct cv_bytes *csr)
{
	char	*b64, *s;

	b64 = crypto_b64_encode(csr->data, csr->len, true);
	s = dump(json_pack("{s:s}", "csr", b64), 0);
	free(b64);
	return s;
}

char *
acme_msg_deactivate(void)
{

	return dump(json_pack("{s:s}", "status", "deactivated"), 0);
}
