/*
 * certvault — unit tests of route.c: patterns, the table, api-version.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "route.h"
#include "cu.h"

static void
free_args(char **args, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(args[i]);
}

static void
test_match_literal(void)
{
	char	*args[CV_ROUTE_ARGS];
	size_t	 n = 99;

	CU_ASSERT_TRUE(route_match("/certificates", "/certificates", args, &n));
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_FALSE(route_match("/certificates", "/certificates/", args,
	    &n));
	CU_ASSERT_FALSE(route_match("/certificates", "/certificatesx", args,
	    &n));
	CU_ASSERT_FALSE(route_match("/certificates", "/", args, &n));
	CU_ASSERT_FALSE(route_match("/healthz", "/certificates", args, &n));
}

static void
test_match_captures(void)
{
	char	*args[CV_ROUTE_ARGS];
	size_t	 n;

	CU_ASSERT_TRUE(route_match("/certificates/{name}/pending",
	    "/certificates/web-01/pending", args, &n));
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(args[0], "web-01");
	free_args(args, n);
	CU_ASSERT_FALSE(route_match("/certificates/{name}/pending",
	    "/certificates//pending", args, &n));
	CU_ASSERT_FALSE(route_match("/certificates/{name}/pending",
	    "/certificates/a/pending/x", args, &n));
}

/* The SDK's "latest" is an empty version: GET /certificates/{name}/. */
static void
test_match_optional(void)
{
	const char	*pat = "/certificates/{name}/{version?}";
	char		*args[CV_ROUTE_ARGS];
	size_t		 n;

	CU_ASSERT_TRUE(route_match(pat, "/certificates/a", args, &n));
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(args[0], "a");
	CU_ASSERT_STRING_EQUAL(args[1], "");
	free_args(args, n);
	CU_ASSERT_TRUE(route_match(pat, "/certificates/a/", args, &n));
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(args[1], "");
	free_args(args, n);
	CU_ASSERT_TRUE(route_match(pat, "/certificates/a/0123abcd", args, &n));
	CU_ASSERT_STRING_EQUAL(args[1], "0123abcd");
	free_args(args, n);
	CU_ASSERT_FALSE(route_match(pat, "/certificates/a/b/c", args, &n));
	CU_ASSERT_FALSE(route_match(pat, "/certificates", args, &n));
}

static void
test_find(void)
{
	struct cv_req		 req;
	const struct route	*r;
	char			*allow;
	bool			 known;

	memset(&req, 0, sizeof(req));
	req.method = CV_METHOD_GET;
	req.path = "/certificates";
	r = route_find(&req, &known, &allow);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->perm, CV_PERM_LIST);
	CU_ASSERT_PTR_NULL(allow);

	req.method = CV_METHOD_DELETE;
	CU_ASSERT_PTR_NULL(route_find(&req, &known, &allow));
	CU_ASSERT_TRUE(known);
	CU_ASSERT_STRING_EQUAL(allow, "GET");
	free(allow);

	req.path = "/nothing/here";
	CU_ASSERT_PTR_NULL(route_find(&req, &known, &allow));
	CU_ASSERT_FALSE(known);
	CU_ASSERT_PTR_NULL(allow);

	req.method = CV_METHOD_GET;
	req.path = "/healthz";
	r = route_find(&req, &known, &allow);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_TRUE(r->flags & ROUTE_PUBLIC);
}

static void
test_api_versions(void)
{

	CU_ASSERT_TRUE(route_api_version_known("7.5"));
	CU_ASSERT_TRUE(route_api_version_known("2025-07-01"));
	CU_ASSERT_TRUE(route_api_version_known("7.0"));
	CU_ASSERT_FALSE(route_api_version_known("7.7"));
	CU_ASSERT_FALSE(route_api_version_known(""));
	CU_ASSERT_FALSE(route_api_version_known("2025-07-01 "));
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "literal patterns", test_match_literal },
		{ "captures", test_match_captures },
		{ "optional last segment", test_match_optional },
		{ "route table, 404 and 405", test_find },
		{ "api-version", test_api_versions },
	};

	return CU_RUN("route", tests);
}
