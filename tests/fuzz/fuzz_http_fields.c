/*
 * certvault — fuzz target: the fields of a request that arrive as text:
 * query strings (percent-decoding, name=value pairs) and headers (the
 * Authorization bearer token, the Host a 401 challenge is built from),
 * and the permission lists certvault-admin reads.
 * SPDX-License-Identifier: ISC
 *
 * Input: one selector byte, then the field.
 *   0, 1  http_percent_decode of the bytes (NULs included), '+' as space
 *         or not
 *   2     QUERY_STRING of a GET, through http_req_parse
 *   3     REQUEST_URI (path and query), through http_req_parse
 *   4     Authorization header: http_auth_bearer
 *   5     Host header: http_auth_challenge and http_base_url
 *   6     permission list: http_auth_perms_parse
 */
#include "config.h"

#include "certvault.h"
#include "http.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{

	fuzz_quiet();
	return 0;
}

/* Parse a request whose environment is {"REQUEST_METHOD=GET", name=s}. */
static void
one_request(const char *name, const char *s)
{
	struct cv_req	 req;
	char		*env[3];
	size_t		 i;

	env[0] = "REQUEST_METHOD=GET";
	env[1] = cv_asprintf("%s=%s", name, s);
	env[2] = NULL;
	if (http_req_parse(&req, env) == CV_OK)
		for (i = 0; i < req.paramsz; i++)
			FUZZ_ASSERT(strlen(req.params[i].name) +
			    strlen(req.params[i].value) <= strlen(s));
	(void)cv_req_param(&req, "api-version");
	cv_req_free(&req);
	free(env[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cv_req	 req;
	char		*s, *out;
	unsigned	 perms;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	switch (data[0] % 7) {
	case 0:
	case 1:
		if (http_percent_decode((const char *)data + 1, size - 1,
		    data[0] % 7 == 0, &out) == CV_OK) {
			/* Never longer; never an encoded NUL inside. */
			FUZZ_ASSERT(strlen(out) <= size - 1);
			FUZZ_ASSERT(memchr(data + 1, '\0', size - 1) != NULL ||
			    strlen(out) == size - 1 ||
			    memchr(data + 1, '%', size - 1) != NULL);
			free(out);
		} else
			FUZZ_ASSERT(out == NULL);
		break;
	case 2:
		one_request("QUERY_STRING", s);
		break;
	case 3:
		one_request("REQUEST_URI", s);
		break;
	case 4:
		if ((out = http_auth_bearer(s)) != NULL) {
			FUZZ_ASSERT(*out != '\0' && out[0] != ' ' &&
			    out[0] != '\t');
			free(out);
		}
		break;
	case 5:
		memset(&req, 0, sizeof(req));
		req.host = s;
		req.scheme = "https";
		free(http_auth_challenge(&req));
		free(http_base_url(&req));
		break;
	case 6:
		(void)http_auth_perms_parse(s, &perms);
		break;
	}
	free(s);
	return 0;
}
