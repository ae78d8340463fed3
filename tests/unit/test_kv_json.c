/*
 * certvault — unit tests of kv_json.c: policies, request bodies, and the
 * operation and bundle documents.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certvault.h"
#include "kv.h"
#include "cu.h"

static json_t *
policy_doc(const struct cv_policy *p)
{
	json_t	*doc = json_loads(p->json, 0, NULL);

	CU_ASSERT_PTR_NOT_NULL(doc);
	return doc;
}

/* What the JS SDK sends for a default Self create (api doc §7.1). */
static void
test_sdk_defaults(void)
{
	struct cv_create	 c;
	char			*msg;
	json_t			*doc, *want;

	CU_ASSERT_EQUAL_FATAL(kv_json_create_parse("{\"policy\":{\"key_props\":"
	    "{},\"secret_props\":{},\"x509_props\":{\"subject\":\"cn=MyCert\","
	    "\"sans\":{}},\"issuer\":{\"name\":\"Self\"},\"attributes\":{}},"
	    "\"attributes\":{}}", &c, &msg), CV_OK);
	CU_ASSERT_TRUE(c.has_policy);
	CU_ASSERT_TRUE(c.enabled);
	CU_ASSERT_EQUAL(c.policy.key.kty, CV_KTY_RSA);
	CU_ASSERT_EQUAL(c.policy.key.bits, 2048);
	CU_ASSERT_EQUAL(c.policy.issuer_kind, CV_ISSUER_SELF);
	CU_ASSERT_EQUAL(c.policy.validity_months, 12);
	CU_ASSERT_EQUAL(c.policy.x509.key_usage,
	    CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT);
	CU_ASSERT_EQUAL(c.policy.x509.ekus.n, 2);
	CU_ASSERT_STRING_EQUAL(c.policy.x509.subject, "cn=MyCert");
	doc = policy_doc(&c.policy);
	want = json_pack("{s:b, s:s, s:i, s:b}", "exportable", 1, "kty", "RSA",
	    "key_size", 2048, "reuse_key", 0);
	CU_ASSERT_TRUE(json_equal(json_object_get(doc, "key_props"), want));
	json_decref(want);
	want = json_object();
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(doc, "secret_props"), "contentType")),
	    "application/x-pkcs12");
	CU_ASSERT_TRUE(json_equal(json_object_get(json_object_get(doc,
	    "x509_props"), "sans"), want));
	json_decref(want);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(json_array_get(json_object_get(doc,
	    "lifetime_actions"), 0), "action"), "action_type")), "AutoRenew");
	json_decref(doc);
	kv_create_free(&c);
}

static void
test_ec_and_unknown(void)
{
	struct cv_policy	 p;
	char			*msg;
	json_t			*doc;

	CU_ASSERT_EQUAL_FATAL(kv_json_policy_parse("{\"key_props\":{\"kty\":"
	    "\"EC-HSM\",\"crv\":\"P-384\"},\"x509_props\":{\"subject\":"
	    "\"CN=a\",\"sans\":{\"dns_names\":[\"a.example\"],\"ipAddresses\":"
	    "[\"192.0.2.1\"]}}}", &p, &msg), CV_OK);
	CU_ASSERT_EQUAL(p.key.kty, CV_KTY_EC);
	CU_ASSERT_EQUAL(p.key.curve, CV_CURVE_P384);
	CU_ASSERT_EQUAL(p.key.bits, 384);
	CU_ASSERT_STRING_EQUAL(p.kty, "EC-HSM");
	CU_ASSERT_EQUAL(p.issuer_kind, CV_ISSUER_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(p.issuer, "Unknown");
	CU_ASSERT_EQUAL(p.x509.key_usage, CV_KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(p.x509.dns_names.n, 1);
	CU_ASSERT_EQUAL(p.x509.ips.n, 1);
	doc = policy_doc(&p);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(json_array_get(json_object_get(doc,
	    "lifetime_actions"), 0), "action"), "action_type")),
	    "EmailContacts");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(
	    doc, "key_props"), "key_size")), 384);
	json_decref(doc);
	kv_policy_free(&p);

	/* EC with only a size picks the curve. */
	CU_ASSERT_EQUAL_FATAL(kv_json_policy_parse("{\"key_props\":{\"kty\":"
	    "\"EC\",\"key_size\":521},\"x509_props\":{\"subject\":\"CN=b\"}}",
	    &p, &msg), CV_OK);
	CU_ASSERT_EQUAL(p.key.curve, CV_CURVE_P521);
	kv_policy_free(&p);
}

/* Each bad policy is a 400 whose message names the field. */
static void
test_policy_errors(void)
{
	static const struct {
		const char	*policy;
		const char	*names;
	} bad[] = {
		{ "{\"key_props\":{\"kty\":\"oct\"},\"x509_props\":{\"subject\":"
		    "\"CN=a\"}}", "policy.key_props.kty" },
		{ "{\"key_props\":{\"kty\":\"RSA\",\"key_size\":1024},"
		    "\"x509_props\":{\"subject\":\"CN=a\"}}",
		    "policy.key_props.key_size" },
		{ "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256K\"},"
		    "\"x509_props\":{\"subject\":\"CN=a\"}}", "P-256K" },
		{ "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\","
		    "\"key_size\":384},\"x509_props\":{\"subject\":\"CN=a\"}}",
		    "does not match" },
		{ "{\"x509_props\":{\"subject\":\"CN=a\",\"key_usage\":"
		    "[\"flying\"]}}", "policy.x509_props.key_usage[0]" },
		{ "{\"x509_props\":{\"subject\":\"CN=a\",\"ekus\":[\"1.2.x\"]}}",
		    "policy.x509_props.ekus[0]" },
		{ "{\"x509_props\":{\"subject\":\"CN=a\",\"validity_months\":0}}",
		    "policy.x509_props.validity_months" },
		{ "{\"x509_props\":{}}", "policy.x509_props.subject" },
		{ "{\"x509_props\":{\"subject\":\"CN=a\"},\"lifetime_actions\":"
		    "[{\"trigger\":{\"lifetime_percentage\":80,"
		    "\"days_before_expiry\":10},\"action\":{\"action_type\":"
		    "\"AutoRenew\"}}]}", "exactly one" },
		{ "{\"x509_props\":{\"subject\":\"CN=a\"},\"lifetime_actions\":"
		    "[{\"trigger\":{\"lifetime_percentage\":80},\"action\":"
		    "{\"action_type\":\"Dance\"}}]}", "action_type" },
		{ "{\"x509_props\":{\"subject\":\"CN=a\"},\"secret_props\":"
		    "{\"contentType\":\"text/plain\"}}",
		    "policy.secret_props.contentType" },
		{ "{\"x509_props\":{\"subject\":\"CN=a\"},\"issuer\":{\"name\":"
		    "\"bad name!\"}}", "policy.issuer.name" },
		{ "{\"key_props\":[]}", "policy.key_props" },
		{ "[]", "policy must be" },
	};
	struct cv_policy	 p;
	char			*msg;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(kv_json_policy_parse(bad[i].policy, &p, &msg),
		    CV_ERR_BAD_PARAMETER);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		if (strstr(msg, bad[i].names) == NULL)
			CU_FAIL("message does not name the field");
		free(msg);
	}
}

static void
test_bodies(void)
{
	struct cv_create	 c;
	struct cv_merge		 m;
	char			*msg;
	bool			 cancel;

	CU_ASSERT_EQUAL(kv_json_create_parse("", &c, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	CU_ASSERT_EQUAL(kv_json_create_parse("{\"policy\":", &c, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not valid JSON"));
	free(msg);
	CU_ASSERT_EQUAL(kv_json_create_parse("{\"tags\":{\"a\":1}}", &c, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	CU_ASSERT_EQUAL_FATAL(kv_json_create_parse("{\"tags\":{\"team\":\"web\"},"
	    "\"attributes\":{\"enabled\":false}}", &c, &msg), CV_OK);
	CU_ASSERT_FALSE(c.has_policy);
	CU_ASSERT_FALSE(c.enabled);
	CU_ASSERT_STRING_EQUAL(c.tags_json, "{\"team\":\"web\"}");
	kv_create_free(&c);

	CU_ASSERT_EQUAL(kv_json_cancel_parse("{}", &cancel, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	CU_ASSERT_EQUAL(kv_json_cancel_parse("{\"cancellation_requested\":true}",
	    &cancel, &msg), CV_OK);
	CU_ASSERT_TRUE(cancel);

	CU_ASSERT_EQUAL(kv_json_merge_parse("{\"x5c\":[]}", &m, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	CU_ASSERT_EQUAL(kv_json_merge_parse("{\"x5c\":[1]}", &m, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	CU_ASSERT_EQUAL_FATAL(kv_json_merge_parse("{\"x5c\":[\"AAAA\",\"BBBB\"],"
	    "\"attributes\":{\"enabled\":false}}", &m, &msg), CV_OK);
	CU_ASSERT_EQUAL(m.x5c.n, 2);
	CU_ASSERT_EQUAL(m.enabled, 0);
	kv_merge_free(&m);
}

static json_t *
resp_doc(struct cv_resp *resp)
{
	json_t	*doc = json_loadb(resp->body, resp->bodysz, 0, NULL);

	CU_ASSERT_PTR_NOT_NULL(doc);
	return doc;
}

static void
test_operation_doc(void)
{
	struct cv_operation	 op;
	struct cv_resp		 resp;
	unsigned char		 csr[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	json_t			*doc;

	memset(&op, 0, sizeof(op));
	memset(&resp, 0, sizeof(resp));
	op.name = "web";
	strcpy(op.request_id, "0123456789abcdef0123456789abcdef");
	op.issuer_name = "Unknown";
	op.cert_transparency = -1;
	op.csr.data = csr;
	op.csr.len = sizeof(csr);
	op.status = "inProgress";
	op.status_details = "Pending certificate created. Please Perform "
	    "Merge to complete the request.";
	CU_ASSERT_EQUAL(kv_json_operation(&resp, 202, "https://h:1", &op),
	    CV_OK);
	CU_ASSERT_EQUAL(resp.status, 202);
	doc = resp_doc(&resp);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "id")),
	    "https://h:1/certificates/web/pending");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "csr")),
	    "MAMCAQA=");
	CU_ASSERT_TRUE(json_is_false(json_object_get(doc,
	    "cancellation_requested")));
	CU_ASSERT_PTR_NOT_NULL(json_object_get(doc, "status_details"));
	CU_ASSERT_PTR_NULL(json_object_get(doc, "target"));
	json_decref(doc);
	cv_resp_free(&resp);

	op.status = "completed";
	op.status_details = NULL;
	CU_ASSERT_EQUAL(kv_json_operation(&resp, 200, "https://h:1", &op),
	    CV_OK);
	doc = resp_doc(&resp);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc,
	    "target")), "https://h:1/certificates/web");
	CU_ASSERT_PTR_NULL(json_object_get(doc, "status_details"));
	json_decref(doc);
	cv_resp_free(&resp);

	/* Completed, though a cancellation was asked for: details say so. */
	op.cancellation_requested = true;
	op.status_details = "Cancellation was requested after the "
	    "certificate was issued; it has no effect.";
	CU_ASSERT_EQUAL(kv_json_operation(&resp, 200, "https://h:1", &op),
	    CV_OK);
	doc = resp_doc(&resp);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc,
	    "status_details")), op.status_details);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(doc, "target"));
	json_decref(doc);
	cv_resp_free(&resp);
}

static void
test_bundle_doc(void)
{
	struct cv_version	 v;
	struct cv_resp		 resp;
	unsigned char		 der[] = { 0x30, 0x00 };
	json_t			*doc, *at;

	memset(&v, 0, sizeof(v));
	memset(&resp, 0, sizeof(resp));
	v.name = "web";
	strcpy(v.version, "00112233445566778899aabbccddeeff");
	v.policy_json = "{\"issuer\":{\"name\":\"Unknown\"},\"attributes\":"
	    "{\"enabled\":true}}";
	v.recoverable_days = 90;
	v.has_pending = true;
	v.created = v.updated = 1700000000;
	CU_ASSERT_EQUAL(kv_json_bundle(&resp, 200, "https://h", &v), CV_OK);
	doc = resp_doc(&resp);
	CU_ASSERT_PTR_NULL(json_object_get(doc, "cer"));
	CU_ASSERT_PTR_NULL(json_object_get(doc, "x5t"));
	CU_ASSERT_PTR_NULL(json_object_get(doc, "kid"));
	CU_ASSERT_PTR_NULL(json_object_get(doc, "sid"));
	at = json_object_get(doc, "attributes");
	CU_ASSERT_TRUE(json_is_false(json_object_get(at, "enabled")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(at,
	    "recoveryLevel")), "Recoverable+Purgeable");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(doc, "pending"), "id")),
	    "https://h/certificates/web/pending");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(doc, "policy"), "id")),
	    "https://h/certificates/web/policy");
	json_decref(doc);
	cv_resp_free(&resp);

	v.has_cert = true;
	v.enabled = true;
	v.der.data = der;
	v.der.len = sizeof(der);
	memset(v.x5t, 0xff, sizeof(v.x5t));
	v.has_pending = false;
	v.recoverable_days = 7;
	CU_ASSERT_EQUAL(kv_json_bundle(&resp, 201, "https://h", &v), CV_OK);
	doc = resp_doc(&resp);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "kid")),
	    "https://h/keys/web/00112233445566778899aabbccddeeff");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "cer")),
	    "MAA=");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "x5t")),
	    "__________________________8");
	CU_ASSERT_PTR_NULL(json_object_get(doc, "pending"));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(doc, "attributes"), "recoveryLevel")),
	    "CustomizedRecoverable+Purgeable");
	json_decref(doc);
	cv_resp_free(&resp);
}

/* head, then n items "pre<i>post" separated by commas, then tail */
static char *
repeat(const char *head, const char *pre, const char *post, int n,
    const char *tail)
{
	size_t	 len = strlen(head) + strlen(tail) + 1 +
		    (size_t)n * (strlen(pre) + strlen(post) + 16);
	char	*s = cv_malloc(len), *p = s;
	int	 i;

	p += sprintf(p, "%s", head);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%s%d%s", i > 0 ? "," : "", pre, i, post);
	sprintf(p, "%s", tail);
	return s;
}

/* expect a create body to parse or to fail with a message holding want */
static void
create_limit(char *body, const char *want)
{
	struct cv_create	 c;
	char			*msg = NULL;
	enum cv_err		 er;

	memset(&c, 0, sizeof(c));
	er = kv_json_create_parse(body, &c, &msg);
	if (want == NULL) {
		CU_ASSERT_EQUAL(er, CV_OK);
	} else {
		CU_ASSERT_EQUAL(er, CV_ERR_BAD_PARAMETER);
		CU_ASSERT_PTR_NOT_NULL(msg != NULL ? strstr(msg, want) : NULL);
	}
	kv_create_free(&c);
	free(msg);
	free(body);
}

/* Limits of issue 8: at the limit accepted, one beyond refused, named. */
static void
test_limits(void)
{
	struct cv_merge	 m;
	char		*body, *msg = NULL, deep[200], big[1100];
	int		 i;

	/* tags: 15 (Key Vault's limit) */
	create_limit(repeat("{\"policy\":{\"issuer\":{\"name\":\"Self\"},"
	    "\"x509_props\":{\"subject\":\"CN=a\"}},\"tags\":{",
	    "\"t", "\":\"v\"", 15, "}}"), NULL);
	create_limit(repeat("{\"policy\":{\"issuer\":{\"name\":\"Self\"},"
	    "\"x509_props\":{\"subject\":\"CN=a\"}},\"tags\":{",
	    "\"t", "\":\"v\"", 16, "}}"), "at most 15 are allowed");
	memset(big, 'x', 257);
	big[257] = '\0';
	body = cv_asprintf("{\"policy\":{\"issuer\":{\"name\":\"Self\"},"
	    "\"x509_props\":{\"subject\":\"CN=a\"}},\"tags\":{\"t\":\"%s\"}}",
	    big);
	create_limit(body, "longer than 256 characters");
	/* subject alternative names: 100 */
	create_limit(repeat("{\"policy\":{\"issuer\":{\"name\":\"Self\"},"
	    "\"x509_props\":{\"subject\":\"CN=a\",\"sans\":{\"dns_names\":[",
	    "\"h", ".example\"", 100, "]}}}}"), NULL);
	create_limit(repeat("{\"policy\":{\"issuer\":{\"name\":\"Self\"},"
	    "\"x509_props\":{\"subject\":\"CN=a\",\"sans\":{\"dns_names\":[",
	    "\"h", ".example\"", 101, "]}}}}"),
	    "at most 100 are allowed");
	create_limit(repeat("{\"policy\":{\"issuer\":{\"name\":\"Self\"},"
	    "\"x509_props\":{\"subject\":\"CN=a\",\"sans\":{\"emails\":"
	    "[\"a@b.example\"],\"dns_names\":[", "\"h", ".example\"", 100,
	    "]}}}}"), "sans holds 101 names");
	/* a subject of 1025 characters */
	memset(big, 'a', 1025);
	big[1025] = '\0';
	body = cv_asprintf("{\"policy\":{\"issuer\":{\"name\":\"Self\"},"
	    "\"x509_props\":{\"subject\":\"CN=%s\"}}}", big);
	create_limit(body, "subject is longer than 1024");
	/* nesting: 32 levels pass the check, 33 do not */
	for (i = 0; i < 31; i++)
		deep[i] = '[';
	deep[31] = '\0';
	body = cv_asprintf("{\"tags\":%s%s}", deep, "]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]");
	create_limit(body, "tags must be a JSON object");
	body = cv_asprintf("{\"tags\":[%s%s}", deep, "]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]");
	create_limit(body, "deeper than 32 levels");
	body = cv_asprintf("{\"tags\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[\"}");
	create_limit(body, "tags must be a JSON object");
	/* x5c: 10 certificates at once */
	memset(&m, 0, sizeof(m));
	body = repeat("{\"x5c\":[", "\"Y2VydA", "==\"", 11, "]}");
	CU_ASSERT_EQUAL(kv_json_merge_parse(body, &m, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL(msg != NULL ? strstr(msg, "x5c holds 11 "
	    "entries; at most 10") : NULL);
	kv_merge_free(&m);
	free(msg);
	free(body);
	msg = NULL;
	body = repeat("{\"x5c\":[", "\"Y2VydA", "==\"", 10, "]}");
	CU_ASSERT_EQUAL(kv_json_merge_parse(body, &m, &msg), CV_OK);
	kv_merge_free(&m);
	free(msg);
	free(body);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "SDK default policy", test_sdk_defaults },
		{ "limits: tags, SANs, subject, nesting, x5c", test_limits },
		{ "EC and Unknown defaults", test_ec_and_unknown },
		{ "policy errors name the field", test_policy_errors },
		{ "create, cancel and merge bodies", test_bodies },
		{ "CertificateOperation document", test_operation_doc },
		{ "CertificateBundle document", test_bundle_doc },
	};

	return CU_RUN("kv_json", tests);
}
