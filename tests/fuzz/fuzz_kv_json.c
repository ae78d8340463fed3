/*
 * certvault — fuzz target: the JSON request bodies of every route
 * (kv_json_*_parse), as the handlers call them.
 * SPDX-License-Identifier: ISC
 *
 * Input: one selector byte, then the body.
 *   0  a policy (kv_json_policy_parse: PATCH …/policy after the merge,
 *      and every stored policy read back)
 *   1  POST …/create             2  POST …/import
 *   3  PATCH …/pending (cancel)  4  POST …/pending/merge
 *   5  PATCH …/{version}         6  PATCH …/policy (merge, then parse)
 *   7  POST /certificates/restore
 *   8  PUT /certificates/issuers/{name}   9  PATCH of an issuer
 *   10 PUT /certificates/contacts        11 an email address
 *
 * Invariant checked: a policy that parses yields an effective policy
 * (p.json, what is stored) that parses again to the same text, since
 * every later request reads the stored policy back.
 */
#include "config.h"

#include "certvault.h"
#include "kv.h"
#include "fuzz.h"

#define NSEL	12

/* The effective policy PATCH …/policy merges into (set up once). */
static char	*stored_policy;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cv_policy	 p;
	char			*msg;

	fuzz_quiet();
	if (kv_json_policy_parse("{\"key_props\":{\"kty\":\"EC\",\"crv\":"
	    "\"P-256\"},\"x509_props\":{\"subject\":\"CN=fuzz.example\","
	    "\"sans\":{\"dns_names\":[\"fuzz.example\"]}},\"issuer\":"
	    "{\"name\":\"Self\"}}", &p, &msg) != CV_OK)
		abort();
	stored_policy = cv_strdup(p.json);
	kv_policy_free(&p);
	return 0;
}

/* p parsed: its effective policy must read back as itself. */
static void
policy_roundtrip(const struct cv_policy *p)
{
	struct cv_policy	 again;
	char			*msg = NULL;

	FUZZ_ASSERT(p->json != NULL);
	if (kv_json_policy_parse(p->json, &again, &msg) != CV_OK) {
		fprintf(stderr, "stored policy %s does not parse: %s\n",
		    p->json, msg != NULL ? msg : "");
		abort();
	}
	FUZZ_ASSERT(strcmp(again.json, p->json) == 0);
	kv_policy_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cv_policy	 p;
	struct cv_create	 c;
	struct cv_merge		 m;
	struct cv_issuer_body	 ib;
	struct cv_contact	*contacts;
	char			*body, *msg = NULL, *merged, *value;
	size_t			 n;
	bool			 cancel;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	body = fuzz_str(data + 1, size - 1);
	switch (data[0] % NSEL) {
	case 0:
		if (kv_json_policy_parse(body, &p, &msg) == CV_OK) {
			policy_roundtrip(&p);
			kv_policy_free(&p);
		}
		break;
	case 1:
		if (kv_json_create_parse(body, &c, &msg) == CV_OK) {
			if (c.has_policy)
				policy_roundtrip(&c.policy);
			kv_create_free(&c);
		}
		break;
	case 2:
		if (kv_json_import_parse(body, &c, &msg) == CV_OK) {
			FUZZ_ASSERT(c.value != NULL && *c.value != '\0');
			/* An import's policy is merged into the derived one. */
			if (c.policy_given != NULL &&
			    kv_json_policy_merge(stored_policy, c.policy_given,
			    &merged, &msg) == CV_OK) {
				if (kv_json_policy_parse(merged, &p, &msg) ==
				    CV_OK)
					kv_policy_free(&p);
				free(merged);
			}
			kv_create_free(&c);
		}
		break;
	case 3:
		(void)kv_json_cancel_parse(body, &cancel, &msg);
		break;
	case 4:
		if (kv_json_merge_parse(body, &m, &msg) == CV_OK) {
			FUZZ_ASSERT(m.x5c.n > 0);
			kv_merge_free(&m);
		}
		break;
	case 5:
		if (kv_json_update_parse(body, &m, &msg) == CV_OK)
			kv_merge_free(&m);
		break;
	case 6:
		if (kv_json_policy_merge(stored_policy, body, &merged, &msg) ==
		    CV_OK) {
			free(msg);
			msg = NULL;
			if (kv_json_policy_parse(merged, &p, &msg) == CV_OK) {
				policy_roundtrip(&p);
				kv_policy_free(&p);
			}
			free(merged);
		}
		break;
	case 7:
		if (kv_json_restore_parse(body, &value, &msg) == CV_OK)
			free(value);
		break;
	case 8:
	case 9:
		if (kv_json_issuer_parse(body, data[0] % NSEL == 8, &ib,
		    &msg) == CV_OK) {
			FUZZ_ASSERT(data[0] % NSEL == 9 || ib.provider != NULL);
			kv_issuer_body_free(&ib);
		}
		break;
	case 10:
		if (kv_json_contacts_parse(body, &contacts, &n, &msg) ==
		    CV_OK) {
			FUZZ_ASSERT(n > 0);
			cv_contacts_free(contacts, n);
		}
		break;
	case 11:
		(void)kv_email_valid(body);
		break;
	}
	free(msg);
	free(body);
	return 0;
}
