/*
 * certvault — unit tests of http_req.c: CGI environment to cv_req.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "http.h"
#include "cu.h"

static void
test_decode(void)
{
	char	*out;

	CU_ASSERT_EQUAL(http_percent_decode("a%2Db+c", 7, true, &out), CV_OK);
	CU_ASSERT_STRING_EQUAL(out, "a-b c");
	free(out);
	CU_ASSERT_EQUAL(http_percent_decode("a+b", 3, false, &out), CV_OK);
	CU_ASSERT_STRING_EQUAL(out, "a+b");
	free(out);
	CU_ASSERT_EQUAL(http_percent_decode("%4", 2, true, &out),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(http_percent_decode("%zz", 3, true, &out),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(http_percent_decode("a%00", 4, true, &out),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(http_percent_decode("%", 1, true, &out),
	    CV_ERR_BAD_PARAMETER);
}

/* The JS SDK encodes the parameter name: api%2Dversion. */
static void
test_sdk_request(void)
{
	char *env[] = {
		"REQUEST_METHOD=POST",
		"REQUEST_URI=/certificates/my-cert/create?api%2Dversion=2025-07-01&x=",
		"QUERY_STRING=ignored=1",
		"HTTP_HOST=demo.vault.localhost:8443",
		"HTTPS=on",
		"HTTP_AUTHORIZATION=Bearer abc",
		"CONTENT_TYPE=application/json",
		"CONTENT_LENGTH=42",
		"HTTP_X_MS_CLIENT_REQUEST_ID=1234",
		NULL,
	};
	struct cv_req	 req;

	CU_ASSERT_EQUAL(http_req_parse(&req, env), CV_OK);
	CU_ASSERT_EQUAL(req.method, CV_METHOD_POST);
	CU_ASSERT_STRING_EQUAL(req.path, "/certificates/my-cert/create");
	CU_ASSERT_STRING_EQUAL(req.host, "demo.vault.localhost:8443");
	CU_ASSERT_STRING_EQUAL(req.scheme, "https");
	CU_ASSERT_STRING_EQUAL(req.authorization, "Bearer abc");
	CU_ASSERT_EQUAL(req.content_length, 42);
	CU_ASSERT_STRING_EQUAL(req.client_request_id, "1234");
	CU_ASSERT_EQUAL(req.paramsz, 2);
	CU_ASSERT_STRING_EQUAL(cv_req_param(&req, "api-version"), "2025-07-01");
	CU_ASSERT_STRING_EQUAL(cv_req_param(&req, "x"), "");
	CU_ASSERT_PTR_NULL(cv_req_param(&req, "ignored"));
	cv_req_free(&req);
}

/* Without REQUEST_URI: SCRIPT_NAME + PATH_INFO and QUERY_STRING. */
static void
test_cgi_fallback(void)
{
	char *env[] = {
		"REQUEST_METHOD=GET",
		"SCRIPT_NAME=",
		"PATH_INFO=/certificates/a/",
		"QUERY_STRING=api-version=7.5&maxresults=3",
		"SERVER_NAME=localhost",
		NULL,
	};
	struct cv_req	 req;

	CU_ASSERT_EQUAL(http_req_parse(&req, env), CV_OK);
	CU_ASSERT_STRING_EQUAL(req.path, "/certificates/a/");
	CU_ASSERT_STRING_EQUAL(req.host, "localhost");
	CU_ASSERT_STRING_EQUAL(req.scheme, "http");
	CU_ASSERT_STRING_EQUAL(cv_req_param(&req, "maxresults"), "3");
	CU_ASSERT_PTR_NULL(req.authorization);
	cv_req_free(&req);
}

/* An encoded slash would move a name into another path segment. */
static void
test_bad_paths(void)
{
	char *env1[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/certificates/a%2Fb", NULL };
	char *env2[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/certificates?api-version=%G1", NULL };
	char *env3[] = { "REQUEST_METHOD=BREW", "REQUEST_URI=/x", NULL };
	struct cv_req	 req;

	CU_ASSERT_EQUAL(http_req_parse(&req, env1), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL(req.path);
	cv_req_free(&req);
	CU_ASSERT_EQUAL(http_req_parse(&req, env2), CV_ERR_BAD_PARAMETER);
	cv_req_free(&req);
	CU_ASSERT_EQUAL(http_req_parse(&req, env3), CV_OK);
	CU_ASSERT_EQUAL(req.method, CV_METHOD_OTHER);
	CU_ASSERT_STRING_EQUAL(req.method_name, "BREW");
	cv_req_free(&req);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "percent decoding", test_decode },
		{ "request as the SDK sends it", test_sdk_request },
		{ "CGI fallback without REQUEST_URI", test_cgi_fallback },
		{ "malformed paths and queries", test_bad_paths },
	};

	return CU_RUN("http_req", tests);
}
