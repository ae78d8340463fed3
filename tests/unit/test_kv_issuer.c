/*
 * certvault — unit tests of kv_json.c's issuer and contacts documents:
 * the PUT/PATCH issuer body, IssuerBundle (never a password), the issuer
 * list, and the contacts body and document.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certvault.h"
#include "kv.h"
#include "cu.h"

static json_t *
resp_doc(const struct cv_resp *resp)
{
	json_t	*doc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(resp->body);
	doc = json_loads(resp->body, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	return doc;
}

/* Parse body, expecting a 400 whose message contains want. */
static void
issuer_bad(const char *body, bool set, const char *want)
{
	struct cv_issuer_body	 b;
	char			*msg = NULL;

	CU_ASSERT_EQUAL(kv_json_issuer_parse(body, set, &b, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	if (strstr(msg, want) == NULL)
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", msg, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
	CU_ASSERT_PTR_NULL(b.provider);
	CU_ASSERT_PTR_NULL(b.pwd);
	free(msg);
}

/* A full PUT body as the spec's SetCertificateIssuer example has it. */
static void
test_issuer_full(void)
{
	struct cv_issuer_body	 b;
	char			*msg = NULL;
	json_t			*ad, *want;

	CU_ASSERT_EQUAL_FATAL(kv_json_issuer_parse("{\"provider\":\"Test\","
	    "\"credentials\":{\"account_id\":\"keyvaultuser\",\"pwd\":"
	    "\"s3cret\"},\"org_details\":{\"id\":\"org1\",\"admin_details\":"
	    "[{\"first_name\":\"John\",\"last_name\":\"Doe\",\"email\":"
	    "\"admin@microsoft.com\",\"phone\":\"4255555555\",\"extra\":1}]},"
	    "\"attributes\":{\"enabled\":false,\"created\":5},\"id\":\"x\"}",
	    true, &b, &msg), CV_OK);
	CU_ASSERT_PTR_NULL(msg);
	CU_ASSERT_STRING_EQUAL(b.provider, "Test");
	CU_ASSERT_TRUE(b.has_account_id);
	CU_ASSERT_STRING_EQUAL(b.account_id, "keyvaultuser");
	CU_ASSERT_TRUE(b.has_pwd);
	CU_ASSERT_STRING_EQUAL(b.pwd, "s3cret");
	CU_ASSERT_TRUE(b.has_org_id);
	CU_ASSERT_STRING_EQUAL(b.org_id, "org1");
	CU_ASSERT_EQUAL(b.enabled, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.admin_details_json);
	ad = json_loads(b.admin_details_json, 0, NULL);
	want = json_pack("[{s:s, s:s, s:s, s:s}]", "first_name", "John",
	    "last_name", "Doe", "email", "admin@microsoft.com", "phone",
	    "4255555555");
	CU_ASSERT_TRUE(json_equal(ad, want));
	json_decref(ad);
	json_decref(want);
	kv_issuer_body_free(&b);
	CU_ASSERT_PTR_NULL(b.pwd);
	CU_ASSERT_EQUAL(b.enabled, -1);
}

/*
 * What the JS SDK's createIssuer sends without options (credentials
 * always, with undefined members dropped; no attributes), and its
 * updateIssuer (no provider).
 */
static void
test_issuer_sdk_shapes(void)
{
	struct cv_issuer_body	 b;
	char			*msg = NULL;

	CU_ASSERT_EQUAL_FATAL(kv_json_issuer_parse("{\"credentials\":{},"
	    "\"provider\":\"DigiCert\"}", true, &b, &msg), CV_OK);
	CU_ASSERT_STRING_EQUAL(b.provider, "DigiCert");
	CU_ASSERT_FALSE(b.has_account_id);
	CU_ASSERT_FALSE(b.has_pwd);
	CU_ASSERT_FALSE(b.has_org_id);
	CU_ASSERT_PTR_NULL(b.admin_details_json);
	CU_ASSERT_EQUAL(b.enabled, -1);
	kv_issuer_body_free(&b);

	/* PATCH: nothing is required; "" clears, null is "not given". */
	CU_ASSERT_EQUAL_FATAL(kv_json_issuer_parse("{\"credentials\":"
	    "{\"account_id\":\"\",\"pwd\":null},\"org_details\":{\"id\":"
	    "\"approval-required\"},\"attributes\":{\"enabled\":true}}",
	    false, &b, &msg), CV_OK);
	CU_ASSERT_PTR_NULL(b.provider);
	CU_ASSERT_TRUE(b.has_account_id);
	CU_ASSERT_PTR_NULL(b.account_id);
	CU_ASSERT_FALSE(b.has_pwd);
	CU_ASSERT_STRING_EQUAL(b.org_id, "approval-required");
	CU_ASSERT_PTR_NULL(b.admin_details_json);
	CU_ASSERT_EQUAL(b.enabled, 1);
	kv_issuer_body_free(&b);

	/* An empty admin_details is given (and replaces). */
	CU_ASSERT_EQUAL_FATAL(kv_json_issuer_parse("{\"org_details\":"
	    "{\"admin_details\":[]}}", false, &b, &msg), CV_OK);
	CU_ASSERT_STRING_EQUAL(b.admin_details_json, "[]");
	kv_issuer_body_free(&b);
}

static void
test_issuer_errors(void)
{

	issuer_bad("", true, "missing");
	issuer_bad("[1]", true, "JSON object");
	issuer_bad("{\"credentials\":{}}", true, "provider is required");
	issuer_bad("{\"provider\":\"\"}", true, "provider must be");
	issuer_bad("{\"provider\":\"\"}", false, "provider must be");
	issuer_bad("{\"provider\":\"a\\nb\"}", true, "provider must be");
	issuer_bad("{\"provider\":7}", true, "provider must be a string");
	issuer_bad("{\"provider\":\"T\",\"credentials\":[]}", true,
	    "credentials must be a JSON object");
	issuer_bad("{\"provider\":\"T\",\"credentials\":{\"pwd\":1}}", true,
	    "credentials.pwd must be a string");
	/* jansson refuses a NUL inside a string (JSON_ALLOW_NUL unset). */
	issuer_bad("{\"provider\":\"T\",\"credentials\":{\"pwd\":\"a\\u0000b\"}}",
	    true, "not valid JSON");
	issuer_bad("{\"provider\":\"T\",\"org_details\":{\"admin_details\":"
	    "{}}}", true, "org_details.admin_details must be an array");
	issuer_bad("{\"provider\":\"T\",\"org_details\":{\"admin_details\":"
	    "[{\"email\":5}]}}", true, "org_details.admin_details[0].email");
	issuer_bad("{\"provider\":\"T\",\"org_details\":{\"admin_details\":"
	    "[7]}}", true, "org_details.admin_details[0] must be");
	issuer_bad("{\"provider\":\"T\",\"attributes\":{\"enabled\":\"yes\"}}",
	    true, "attributes.enabled");
	issuer_bad("{\"provider\":\"T\",\"provider\":\"U\"}", true,
	    "not valid JSON");
}

/* IssuerBundle: id, provider, account_id only, org_details, attributes. */
static void
test_issuer_doc(void)
{
	struct cv_resp		 resp;
	struct cv_issuer	 is;
	json_t			*doc, *want;

	memset(&resp, 0, sizeof(resp));
	memset(&is, 0, sizeof(is));
	is.name = "my-Issuer";
	is.provider = "LocalCA";
	is.enabled = true;
	is.account_id = "acct";
	is.organization_id = "approval-required";
	is.admin_details_json = "[{\"first_name\":\"A\"}]";
	is.has_password = true;
	is.requires_approval = true;
	is.created = 1700000000;
	is.updated = 1700000100;
	CU_ASSERT_EQUAL_FATAL(kv_json_issuer(&resp, "https://v.example:8443",
	    &is), CV_OK);
	CU_ASSERT_EQUAL(resp.status, 200);
	doc = resp_doc(&resp);
	want = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[{s:s}]}, "
	    "s:{s:b, s:i, s:i}}",
	    "id", "https://v.example:8443/certificates/issuers/my-Issuer",
	    "provider", "LocalCA", "credentials", "account_id", "acct",
	    "org_details", "id", "approval-required", "admin_details",
	    "first_name", "A", "attributes", "enabled", 1, "created",
	    1700000000, "updated", 1700000100);
	CU_ASSERT_TRUE(json_equal(doc, want));
	json_decref(want);
	json_decref(doc);
	CU_ASSERT_PTR_NULL(strstr(resp.body, "pwd"));
	cv_resp_free(&resp);

	/* No account, no organisation: no credentials, admin_details []. */
	memset(&resp, 0, sizeof(resp));
	is.account_id = NULL;
	is.organization_id = NULL;
	is.admin_details_json = NULL;
	is.enabled = false;
	CU_ASSERT_EQUAL_FATAL(kv_json_issuer(&resp, "https://h", &is), CV_OK);
	doc = resp_doc(&resp);
	CU_ASSERT_PTR_NULL(json_object_get(doc, "credentials"));
	want = json_pack("{s:[]}", "admin_details");
	CU_ASSERT_TRUE(json_equal(json_object_get(doc, "org_details"), want));
	json_decref(want);
	CU_ASSERT_TRUE(json_is_false(json_object_get(json_object_get(doc,
	    "attributes"), "enabled")));
	json_decref(doc);
	cv_resp_free(&resp);
}

static void
test_issuer_list_doc(void)
{
	struct cv_resp		 resp;
	struct cv_issuer	 items[2];
	json_t			*doc, *want;

	memset(&resp, 0, sizeof(resp));
	memset(items, 0, sizeof(items));
	items[0].name = "a";
	items[0].provider = "DigiCert";
	items[1].name = "B";
	items[1].provider = "LocalCA";
	CU_ASSERT_EQUAL_FATAL(kv_json_issuer_list(&resp, "https://h", items, 2,
	    "https://h/certificates/issuers?api-version=7.5&$skiptoken=B&"
	    "maxresults=2"), CV_OK);
	doc = resp_doc(&resp);
	want = json_pack("{s:[{s:s, s:s}, {s:s, s:s}], s:s}", "value",
	    "id", "https://h/certificates/issuers/a", "provider", "DigiCert",
	    "id", "https://h/certificates/issuers/B", "provider", "LocalCA",
	    "nextLink", "https://h/certificates/issuers?api-version=7.5&"
	    "$skiptoken=B&maxresults=2");
	CU_ASSERT_TRUE(json_equal(doc, want));
	json_decref(want);
	json_decref(doc);
	cv_resp_free(&resp);

	/* Empty: value is still an array, nextLink null. */
	memset(&resp, 0, sizeof(resp));
	CU_ASSERT_EQUAL_FATAL(kv_json_issuer_list(&resp, "https://h", NULL, 0,
	    NULL), CV_OK);
	CU_ASSERT_STRING_EQUAL(resp.body, "{\"value\":[],\"nextLink\":null}");
	cv_resp_free(&resp);
}

static void
test_email(void)
{

	CU_ASSERT_TRUE(kv_email_valid("a@b"));
	CU_ASSERT_TRUE(kv_email_valid("first.last+tag@example.org"));
	CU_ASSERT_FALSE(kv_email_valid(""));
	CU_ASSERT_FALSE(kv_email_valid("ab"));
	CU_ASSERT_FALSE(kv_email_valid("@b"));
	CU_ASSERT_FALSE(kv_email_valid("a@"));
	CU_ASSERT_FALSE(kv_email_valid("a@b@c"));
	CU_ASSERT_FALSE(kv_email_valid("a b@c"));
	CU_ASSERT_FALSE(kv_email_valid("a@b\tc"));
	CU_ASSERT_FALSE(kv_email_valid("\xc3\xa9@b"));
}

static void
contacts_bad(const char *body, const char *want)
{
	struct cv_contact	*list = (struct cv_contact *)1;
	size_t			 n = 9;
	char			*msg = NULL;

	CU_ASSERT_EQUAL(kv_json_contacts_parse(body, &list, &n, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	if (strstr(msg, want) == NULL)
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", msg, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
	free(msg);
}

static void
test_contacts(void)
{
	struct cv_contact	*list;
	struct cv_resp		 resp;
	size_t			 n;
	char			*msg = NULL;
	json_t			*doc, *want;

	CU_ASSERT_EQUAL_FATAL(kv_json_contacts_parse("{\"contacts\":[{\"email\":"
	    "\"a@example.org\",\"name\":\"A\",\"phone\":\"1\"},{\"name\":\"B\","
	    "\"email\":\"\"},{\"phone\":\"3\",\"x\":1}],\"id\":\"ignored\"}",
	    &list, &n, &msg), CV_OK);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(list[0].email, "a@example.org");
	CU_ASSERT_STRING_EQUAL(list[0].name, "A");
	CU_ASSERT_STRING_EQUAL(list[0].phone, "1");
	CU_ASSERT_PTR_NULL(list[1].email);
	CU_ASSERT_STRING_EQUAL(list[1].name, "B");
	CU_ASSERT_PTR_NULL(list[1].phone);
	CU_ASSERT_STRING_EQUAL(list[2].phone, "3");

	memset(&resp, 0, sizeof(resp));
	CU_ASSERT_EQUAL_FATAL(kv_json_contacts(&resp, "https://h", list, n),
	    CV_OK);
	doc = resp_doc(&resp);
	want = json_pack("{s:s, s:[{s:s, s:s, s:s}, {s:s}, {s:s}]}", "id",
	    "https://h/certificates/contacts", "contacts", "email",
	    "a@example.org", "name", "A", "phone", "1", "name", "B", "phone",
	    "3");
	CU_ASSERT_TRUE(json_equal(doc, want));
	json_decref(want);
	json_decref(doc);
	cv_resp_free(&resp);
	cv_contacts_free(list, n);
	cv_contacts_free(NULL, 0);

	contacts_bad("", "missing");
	contacts_bad("{}", "contacts (an array");
	contacts_bad("{\"contacts\":{}}", "contacts (an array");
	contacts_bad("{\"contacts\":[]}", "at least one contact");
	contacts_bad("{\"contacts\":[1]}", "contacts[0] must be a JSON object");
	contacts_bad("{\"contacts\":[{\"name\":\"a\"},{}]}",
	    "contacts[1] needs an email, a name or a phone");
	contacts_bad("{\"contacts\":[{\"email\":\"\",\"name\":\"\"}]}",
	    "contacts[0] needs");
	contacts_bad("{\"contacts\":[{\"name\":\"a\"},{\"email\":\"nope\"}]}",
	    "contacts[1].email is not a valid email address");
	contacts_bad("{\"contacts\":[{\"phone\":5}]}",
	    "contacts[0].phone must be a string");
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "issuer body, all members", test_issuer_full },
		{ "issuer bodies the JS SDK sends", test_issuer_sdk_shapes },
		{ "issuer body errors name the field", test_issuer_errors },
		{ "IssuerBundle document", test_issuer_doc },
		{ "issuer list document", test_issuer_list_doc },
		{ "email check", test_email },
		{ "contacts body and document", test_contacts },
	};

	return CU_RUN("kv_issuer", tests);
}
