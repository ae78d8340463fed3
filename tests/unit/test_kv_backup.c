/*
 * certvault — unit tests of kv_json.c's soft-delete and backup documents:
 * the backup round trip, what its parser refuses, the restore body, the
 * DeletedCertificateBundle and the deleted list.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certvault.h"
#include "crypto.h"
#include "kv.h"
#include "cu.h"

static void
bytes_set(struct cv_bytes *b, const char *s)
{

	b->len = strlen(s);
	b->data = (unsigned char *)cv_strdup(s);
}

static bool
bytes_eq(const struct cv_bytes *b, const char *s)
{

	return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

/*
 * A backup of two keys and three versions: an issued one with a chain,
 * an issued one without, and a pending one.  Bytes are stand-ins (the
 * document does not look inside them); the DER ones start with 0x30.
 */
static void
sample(struct cv_backup *b)
{
	struct cv_backup_version *v;

	memset(b, 0, sizeof(*b));
	b->name = cv_strdup("Web-1");
	b->policy_json = cv_strdup("{\"issuer\":{\"name\":\"Self\"},"
	    "\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"}}");
	b->tags_json = cv_strdup("{\"team\":\"ops\"}");
	b->created = 1700000000;
	b->updated = 1700000100;
	b->policy_updated = 1700000200;
	b->nkeys = 2;
	b->keys = cv_calloc(2, sizeof(*b->keys));
	b->keys[0].kty = cv_strdup("EC");
	b->keys[0].key_size = 256;
	b->keys[0].curve = cv_strdup("P-256");
	b->keys[0].exportable = true;
	bytes_set(&b->keys[0].pub, "0pub-ec");
	bytes_set(&b->keys[0].priv, "0priv-ec\001\002");
	b->keys[0].created = 1700000001;
	b->keys[1].kty = cv_strdup("RSA");
	b->keys[1].key_size = 2048;
	bytes_set(&b->keys[1].pub, "0pub-rsa");
	bytes_set(&b->keys[1].priv, "0priv-rsa");
	b->keys[1].created = 1700000002;
	b->nversions = 3;
	b->versions = cv_calloc(3, sizeof(*b->versions));
	v = &b->versions[0];
	snprintf(v->version, sizeof(v->version), "%s",
	    "00112233445566778899aabbccddeeff");
	v->key = 0;
	bytes_set(&v->der, "0leaf-1");
	v->nchain = 2;
	v->chain = cv_calloc(2, sizeof(*v->chain));
	bytes_set(&v->chain[0], "0ca-1");
	bytes_set(&v->chain[1], "0root");
	bytes_set(&v->x5t, "01234567890123456789");
	bytes_set(&v->serial, "\001\002\003");
	v->subject = cv_strdup("CN=web.example");
	v->nbf = 1700000000;
	v->exp = 1731536000;
	v->enabled = true;
	v->tags_json = cv_strdup("{\"v\":\"1\"}");
	v->content_type = cv_strdup("application/x-pem-file");
	v->preserve_cert_order = true;
	v->created = 1700000003;
	v->updated = 1700000004;
	v = &b->versions[1];
	snprintf(v->version, sizeof(v->version), "%s",
	    "ffeeddccbbaa99887766554433221100");
	v->key = 1;
	bytes_set(&v->der, "0leaf-2");
	bytes_set(&v->x5t, "abcdefghijabcdefghij");
	bytes_set(&v->serial, "\011");
	v->nbf = 1710000000;
	v->exp = 1741536000;
	v->enabled = false;
	v->content_type = cv_strdup("application/x-pkcs12");
	v->created = 1710000000;
	v->updated = 1710000001;
	v = &b->versions[2];
	snprintf(v->version, sizeof(v->version), "%s",
	    "0123456789abcdef0123456789abcdef");
	v->key = 1;
	v->subject = cv_strdup("CN=next.example");
	v->content_type = cv_strdup("application/x-pkcs12");
	v->created = 1720000000;
	v->updated = 1720000000;
}

/* Build, parse, compare every field; the plain text holds the keys. */
static void
test_round_trip(void)
{
	struct cv_backup		 in, out;
	struct cv_bytes			 plain;
	const struct cv_backup_version	*a, *b;
	json_t				*doc;
	char				*msg = NULL;
	size_t				 i;

	sample(&in);
	CU_ASSERT_EQUAL_FATAL(kv_json_backup_build(&in, &plain), CV_OK);
	CU_ASSERT_TRUE(plain.len > 0);
	doc = json_loadb((const char *)plain.data, plain.len, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc,
	    "format")), "certvault-backup");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc,
	    "formatVersion")), 1);
	CU_ASSERT_FALSE(json_object_get(json_array_get(json_object_get(doc,
	    "versions"), 2), "cer") != NULL);
	json_decref(doc);

	CU_ASSERT_EQUAL_FATAL(kv_json_backup_parse(&plain, &out, &msg), CV_OK);
	CU_ASSERT_PTR_NULL(msg);
	CU_ASSERT_STRING_EQUAL(out.name, "Web-1");
	doc = json_loads(out.policy_json, 0, NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(doc, "key_props"), "crv")), "P-256");
	json_decref(doc);
	CU_ASSERT_STRING_EQUAL(out.tags_json, "{\"team\":\"ops\"}");
	CU_ASSERT_EQUAL(out.created, 1700000000);
	CU_ASSERT_EQUAL(out.updated, 1700000100);
	CU_ASSERT_EQUAL(out.policy_updated, 1700000200);
	CU_ASSERT_EQUAL_FATAL(out.nkeys, 2);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_STRING_EQUAL(out.keys[i].kty, in.keys[i].kty);
		CU_ASSERT_EQUAL(out.keys[i].key_size, in.keys[i].key_size);
		CU_ASSERT_EQUAL(out.keys[i].exportable, in.keys[i].exportable);
		CU_ASSERT_EQUAL(out.keys[i].created, in.keys[i].created);
		CU_ASSERT_EQUAL(out.keys[i].pub.len, in.keys[i].pub.len);
		CU_ASSERT_EQUAL(memcmp(out.keys[i].pub.data,
		    in.keys[i].pub.data, in.keys[i].pub.len), 0);
		CU_ASSERT_EQUAL(out.keys[i].priv.len, in.keys[i].priv.len);
		CU_ASSERT_EQUAL(memcmp(out.keys[i].priv.data,
		    in.keys[i].priv.data, in.keys[i].priv.len), 0);
		CU_ASSERT_EQUAL(out.keys[i].sealed.len, 0);
	}
	CU_ASSERT_STRING_EQUAL(out.keys[0].curve, "P-256");
	CU_ASSERT_PTR_NULL(out.keys[1].curve);
	CU_ASSERT_EQUAL_FATAL(out.nversions, 3);
	for (i = 0; i < 3; i++) {
		a = &in.versions[i];
		b = &out.versions[i];
		CU_ASSERT_STRING_EQUAL(b->version, a->version);
		CU_ASSERT_EQUAL(b->key, a->key);
		CU_ASSERT_EQUAL(b->der.len, a->der.len);
		CU_ASSERT_EQUAL(b->x5t.len, a->x5t.len);
		CU_ASSERT_EQUAL(b->serial.len, a->serial.len);
		CU_ASSERT_EQUAL(b->nbf, a->nbf);
		CU_ASSERT_EQUAL(b->exp, a->exp);
		CU_ASSERT_EQUAL(b->enabled, a->enabled);
		CU_ASSERT_EQUAL(b->preserve_cert_order,
		    a->preserve_cert_order);
		CU_ASSERT_EQUAL(b->created, a->created);
		CU_ASSERT_EQUAL(b->updated, a->updated);
		CU_ASSERT_STRING_EQUAL(b->content_type, a->content_type);
		CU_ASSERT_EQUAL(b->nchain, a->nchain);
	}
	a = &out.versions[0];
	CU_ASSERT_TRUE(bytes_eq(&a->der, "0leaf-1"));
	CU_ASSERT_TRUE(bytes_eq(&a->x5t, "01234567890123456789"));
	CU_ASSERT_TRUE(bytes_eq(&a->serial, "\001\002\003"));
	CU_ASSERT_TRUE(bytes_eq(&a->chain[0], "0ca-1"));
	CU_ASSERT_TRUE(bytes_eq(&a->chain[1], "0root"));
	CU_ASSERT_STRING_EQUAL(a->subject, "CN=web.example");
	CU_ASSERT_STRING_EQUAL(a->tags_json, "{\"v\":\"1\"}");
	CU_ASSERT_STRING_EQUAL(out.versions[1].tags_json, "{}");
	CU_ASSERT_PTR_NULL(out.versions[1].subject);
	CU_ASSERT_EQUAL(out.versions[2].der.len, 0);
	CU_ASSERT_STRING_EQUAL(out.versions[2].subject, "CN=next.example");

	cv_backup_free(&out);
	cv_backup_free(&in);
	cv_bytes_free(&plain);
	CU_ASSERT_PTR_NULL(in.keys);
	CU_ASSERT_EQUAL(in.nversions, 0);
}

/*
 * Parse text after replacing the first occurrence of from with to in
 * the document built from the sample: expect a refusal with a message.
 */
static void
refused(const char *from, const char *to)
{
	struct cv_backup	 in, out;
	struct cv_bytes		 plain, bad;
	char			*text, *at, *msg = NULL;
	size_t			 n;

	sample(&in);
	CU_ASSERT_EQUAL_FATAL(kv_json_backup_build(&in, &plain), CV_OK);
	text = cv_strndup((const char *)plain.data, plain.len);
	at = strstr(text, from);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	n = strlen(text) - strlen(from) + strlen(to);
	bad.data = cv_malloc(n + 1);
	bad.len = n;
	memcpy(bad.data, text, (size_t)(at - text));
	memcpy(bad.data + (at - text), to, strlen(to));
	memcpy(bad.data + (at - text) + strlen(to), at + strlen(from),
	    strlen(at + strlen(from)));
	CU_ASSERT_EQUAL(kv_json_backup_parse(&bad, &out, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL(msg);
	CU_ASSERT_PTR_NULL(out.keys);
	CU_ASSERT_PTR_NULL(out.name);
	free(msg);
	free(text);
	cv_bytes_free(&bad);
	cv_bytes_free(&plain);
	cv_backup_free(&in);
}

static void
test_refusals(void)
{
	struct cv_backup	 out;
	struct cv_bytes		 junk;
	char			*msg = NULL;

	bytes_set(&junk, "{\"format\":\"certvault-backup\"");
	CU_ASSERT_EQUAL(kv_json_backup_parse(&junk, &out, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	cv_bytes_free(&junk);
	bytes_set(&junk, "[]");
	CU_ASSERT_EQUAL(kv_json_backup_parse(&junk, &out, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	cv_bytes_free(&junk);

	refused("\"formatVersion\":1", "\"formatVersion\":2");
	refused("\"format\":\"certvault-backup\"", "\"format\":\"other\"");
	refused("\"name\":\"Web-1\"", "\"name\":\"bad name\"");
	refused("\"key\":1", "\"key\":2");
	refused("\"key\":0", "\"key\":-1");
	refused("00112233445566778899aabbccddeeff",
	    "00112233445566778899AABBCCDDEEFF");
	refused("ffeeddccbbaa99887766554433221100",
	    "00112233445566778899aabbccddeeff");
	refused("\"kty\":\"EC\",\"keySize\"",
	    "\"kty\":\"oct\",\"keySize\"");
	refused("\"contentType\":\"application/x-pem-file\"",
	    "\"contentType\":\"text/plain\"");
	refused("\"keys\":[", "\"keys\":[],\"x\":[");
	refused("\"priv\":\"", "\"priv\":\"*");
	refused("\"created\":1700000000", "\"created\":\"yesterday\"");
	refused("\"x5t\":\"", "\"x5t\":\"AAAA");
}

static void
test_restore_body(void)
{
	char	*value, *msg;

	CU_ASSERT_EQUAL(kv_json_restore_parse("{\"value\":\"Q1ZCMQ\"}", &value,
	    &msg), CV_OK);
	CU_ASSERT_STRING_EQUAL(value, "Q1ZCMQ");
	free(value);
	CU_ASSERT_EQUAL(kv_json_restore_parse("{}", &value, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(value);
	CU_ASSERT_PTR_NOT_NULL(msg);
	free(msg);
	CU_ASSERT_EQUAL(kv_json_restore_parse("{\"value\":7}", &value, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	CU_ASSERT_EQUAL(kv_json_restore_parse("not json", &value, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
	CU_ASSERT_EQUAL(kv_json_restore_parse(NULL, &value, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
}

static json_t *
resp_doc(struct cv_resp *resp)
{
	json_t	*doc;

	doc = json_loadb(resp->body, resp->bodysz, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(doc);
	return doc;
}

static void
test_deleted_docs(void)
{
	struct cv_resp		 resp;
	struct cv_version	 v;
	struct cv_deleted_item	 items[2];
	json_t			*doc, *it, *at;
	unsigned char		 der[] = { 0x30, 0x00 };

	memset(&resp, 0, sizeof(resp));
	memset(&v, 0, sizeof(v));
	v.name = "Web";
	snprintf(v.version, sizeof(v.version), "%s",
	    "00112233445566778899aabbccddeeff");
	v.has_cert = true;
	v.enabled = true;
	v.der.data = der;
	v.der.len = sizeof(der);
	v.recoverable_days = 7;
	v.purge_protection = true;
	CU_ASSERT_EQUAL(kv_json_deleted_bundle(&resp, "https://h", &v,
	    1700000000, 1700604800), CV_OK);
	CU_ASSERT_EQUAL(resp.status, 200);
	doc = resp_doc(&resp);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "id")),
	    "https://h/certificates/Web/00112233445566778899aabbccddeeff");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc,
	    "recoveryId")), "https://h/deletedcertificates/Web");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc,
	    "deletedDate")), 1700000000);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc,
	    "scheduledPurgeDate")), 1700604800);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "cer")),
	    "MAA=");
	at = json_object_get(doc, "attributes");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(at,
	    "recoveryLevel")), "CustomizedRecoverable");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(at,
	    "recoverableDays")), 7);
	json_decref(doc);
	cv_resp_free(&resp);

	memset(items, 0, sizeof(items));
	items[0].item.name = "a";
	items[0].item.x5t = "xyz";
	items[0].item.enabled = true;
	items[0].item.tags_json = "{\"k\":\"v\"}";
	items[0].deleted = 10;
	items[0].scheduled_purge = 20;
	items[0].recoverable_days = 90;
	items[1].item.name = "b";
	items[1].recoverable_days = 90;
	CU_ASSERT_EQUAL(kv_json_deleted_list(&resp, "https://h", items, 2,
	    "https://h/deletedcertificates?x"), CV_OK);
	doc = resp_doc(&resp);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "value")), 2);
	it = json_array_get(json_object_get(doc, "value"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(it, "id")),
	    "https://h/certificates/a");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(it,
	    "recoveryId")), "https://h/deletedcertificates/a");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(it,
	    "scheduledPurgeDate")), 20);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(it, "x5t")),
	    "xyz");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(it, "tags"), "k")), "v");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(it, "attributes"), "recoveryLevel")),
	    "Recoverable+Purgeable");
	it = json_array_get(json_object_get(doc, "value"), 1);
	CU_ASSERT_PTR_NULL(json_object_get(it, "x5t"));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc,
	    "nextLink")), "https://h/deletedcertificates?x");
	json_decref(doc);
	cv_resp_free(&resp);

	CU_ASSERT_EQUAL(kv_json_deleted_list(&resp, "https://h", NULL, 0,
	    NULL), CV_OK);
	CU_ASSERT_STRING_EQUAL(resp.body, "{\"value\":[],\"nextLink\":null}");
	cv_resp_free(&resp);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "backup document round trip", test_round_trip },
		{ "backup documents refused", test_refusals },
		{ "restore body", test_restore_body },
		{ "deleted bundle and list", test_deleted_docs },
	};

	return CU_RUN("kv_backup", tests);
}
