/*
 * certvault — unit tests of http_auth.c: bearer, challenge, permissions.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "crypto.h"
#include "http.h"
#include "cu.h"

static void
test_bearer(void)
{
	char	*t;

	t = http_auth_bearer("Bearer abc");
	CU_ASSERT_STRING_EQUAL(t, "abc");
	free(t);
	t = http_auth_bearer("bearer   abc  ");
	CU_ASSERT_STRING_EQUAL(t, "abc");
	free(t);
	CU_ASSERT_PTR_NULL(http_auth_bearer(NULL));
	CU_ASSERT_PTR_NULL(http_auth_bearer("Basic dXNlcjpwYXNz"));
	CU_ASSERT_PTR_NULL(http_auth_bearer("Bearer"));
	CU_ASSERT_PTR_NULL(http_auth_bearer("Bearer   "));
	CU_ASSERT_PTR_NULL(http_auth_bearer("Bearerabc"));
}

static char *
challenge(const char *scheme, const char *host, const char *vault)
{
	struct cv_req	 req;

	memset(&req, 0, sizeof(req));
	req.scheme = (char *)scheme;
	req.host = (char *)host;
	req.vault.name = (char *)vault;
	return http_auth_challenge(&req);
}

/* resource must be a parent domain of the host for the SDK's check. */
static void
test_challenge(void)
{
	char	*c;

	c = challenge("https", "demo.vault.localhost:8443", "demo");
	CU_ASSERT_STRING_EQUAL(c, "Bearer authorization="
	    "\"https://demo.vault.localhost:8443/demo\", "
	    "resource=\"https://vault.localhost\"");
	free(c);
	c = challenge("https", "kv.example.org", "prod");
	CU_ASSERT_STRING_EQUAL(c, "Bearer authorization="
	    "\"https://kv.example.org/prod\", resource=\"https://example.org\"");
	free(c);
	c = challenge("https", "127.0.0.1:8443", "demo");
	CU_ASSERT_PTR_NOT_NULL(strstr(c, "resource=\"https://127.0.0.1\""));
	free(c);
	c = challenge("http", "localhost", "demo");
	CU_ASSERT_PTR_NOT_NULL(strstr(c, "resource=\"http://localhost\""));
	free(c);
	c = challenge("https", "[::1]:8443", "demo");
	CU_ASSERT_PTR_NOT_NULL(strstr(c, "resource=\"https://[::1]\""));
	free(c);
}

static void
test_perms(void)
{
	unsigned	 p;

	CU_ASSERT_TRUE(http_auth_perms_parse("get,list", &p));
	CU_ASSERT_EQUAL(p, CV_PERM_GET | CV_PERM_LIST);
	CU_ASSERT_TRUE(http_auth_perms_parse("{create,purge}", &p));
	CU_ASSERT_EQUAL(p, CV_PERM_CREATE | CV_PERM_PURGE);
	CU_ASSERT_TRUE(http_auth_perms_parse("all", &p));
	CU_ASSERT_EQUAL(p, CV_PERM_ALL);
	CU_ASSERT_FALSE(http_auth_perms_parse("get,fly", &p));
	CU_ASSERT_STRING_EQUAL(http_auth_perm_name(CV_PERM_MANAGECONTACTS),
	    "managecontacts");
	CU_ASSERT_PTR_NULL(http_auth_perm_name(CV_PERM_GET | CV_PERM_LIST));
}

static void
test_tokens(void)
{
	char		 a[CV_TOKEN_LEN + 1], b[CV_TOKEN_LEN + 1];
	unsigned char	 ha[CV_TOKEN_HASH_LEN], hb[CV_TOKEN_HASH_LEN];

	CU_ASSERT_EQUAL(crypto_token_new(a), CV_OK);
	CU_ASSERT_EQUAL(crypto_token_new(b), CV_OK);
	CU_ASSERT_EQUAL(strlen(a), CV_TOKEN_LEN);
	CU_ASSERT_TRUE(crypto_token_wellformed(a));
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	crypto_token_hash(a, ha);
	crypto_token_hash(b, hb);
	CU_ASSERT_NOT_EQUAL(memcmp(ha, hb, sizeof(ha)), 0);
	crypto_token_hash(a, hb);
	CU_ASSERT_EQUAL(memcmp(ha, hb, sizeof(ha)), 0);
	CU_ASSERT_FALSE(crypto_token_wellformed("cv_123"));
	a[10] = 'G';
	CU_ASSERT_FALSE(crypto_token_wellformed(a));
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "bearer header", test_bearer },
		{ "challenge", test_challenge },
		{ "permission names", test_perms },
		{ "tokens", test_tokens },
	};

	return CU_RUN("http_auth", tests);
}
