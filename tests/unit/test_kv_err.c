/*
 * certvault — unit tests of kv_err.c: codes, statuses, the error body.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certvault.h"
#include "kv.h"
#include "cu.h"

static void
test_table(void)
{
	int	 i;

	/* Every error has a status >= 400 and a code. */
	for (i = 1; i < CV_ERR__MAX; i++) {
		CU_ASSERT(kv_err_status((enum cv_err)i) >= 400);
		CU_ASSERT_PTR_NOT_NULL(kv_err_code((enum cv_err)i));
	}
	CU_ASSERT_EQUAL(kv_err_status(CV_ERR_BAD_PARAMETER), 400);
	CU_ASSERT_STRING_EQUAL(kv_err_code(CV_ERR_BAD_PARAMETER),
	    "BadParameter");
	CU_ASSERT_EQUAL(kv_err_status(CV_ERR_UNAUTHORIZED), 401);
	CU_ASSERT_EQUAL(kv_err_status(CV_ERR_FORBIDDEN), 403);
	CU_ASSERT_EQUAL(kv_err_status(CV_ERR_CERT_NOT_FOUND), 404);
	CU_ASSERT_STRING_EQUAL(kv_err_code(CV_ERR_PENDING_NOT_FOUND),
	    "PendingCertificateNotFound");
	CU_ASSERT_EQUAL(kv_err_status(CV_ERR_METHOD), 405);
	/* The seed: 409 whose body code is Forbidden. */
	CU_ASSERT_EQUAL(kv_err_status(CV_ERR_PENDING_CONFLICT), 409);
	CU_ASSERT_STRING_EQUAL(kv_err_code(CV_ERR_PENDING_CONFLICT),
	    "Forbidden");
	CU_ASSERT_EQUAL(kv_err_status(CV_ERR_TOO_LARGE), 413);
	CU_ASSERT_EQUAL(kv_err_status(CV_ERR_UNAVAILABLE), 503);
}

static void
test_body(void)
{
	struct cv_resp	 resp;
	json_t		*doc;
	json_error_t	 jerr;
	const char	*code, *msg;

	memset(&resp, 0, sizeof(resp));
	resp.body = strdup("{\"partial\":true}");
	CU_ASSERT_EQUAL(kv_err_set(&resp, CV_ERR_CERT_NOT_FOUND,
	    "Certificate not found: %s", "web\"01"), CV_ERR_CERT_NOT_FOUND);
	kv_err_finish(&resp);
	CU_ASSERT_EQUAL(resp.status, 404);
	doc = json_loadb(resp.body, resp.bodysz, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(json_unpack(doc, "{s:{s:s, s:s}}", "error", "code",
	    &code, "message", &msg), 0);
	CU_ASSERT_STRING_EQUAL(code, "CertificateNotFound");
	CU_ASSERT_STRING_EQUAL(msg, "Certificate not found: web\"01");
	CU_ASSERT_PTR_NULL(json_object_get(doc, "partial"));
	json_decref(doc);
	cv_resp_free(&resp);

	/* Default message, and CV_OK is never an error on the wire. */
	memset(&resp, 0, sizeof(resp));
	kv_err_set(&resp, CV_ERR_UNAUTHORIZED, NULL);
	kv_err_finish(&resp);
	CU_ASSERT_PTR_NOT_NULL(strstr(resp.body, "AKV10000"));
	cv_resp_free(&resp);
	memset(&resp, 0, sizeof(resp));
	kv_err_finish(&resp);
	CU_ASSERT_PTR_NULL(resp.body);
}

/* Retry-After: 503s and 429s say when to come back, nothing else does. */
static void
test_retry_after(void)
{
	struct cv_resp	 resp;
	int		 i;

	for (i = 1; i < CV_ERR__MAX; i++) {
		if (kv_err_status((enum cv_err)i) == 503 ||
		    kv_err_status((enum cv_err)i) == 429) {
			CU_ASSERT(kv_err_retry_after((enum cv_err)i) > 0);
		} else {
			CU_ASSERT_EQUAL(kv_err_retry_after((enum cv_err)i), 0);
		}
	}
	CU_ASSERT_EQUAL(kv_err_retry_after(CV_ERR_UNAVAILABLE), 2);
	CU_ASSERT_EQUAL(kv_err_retry_after(CV_ERR_TIMEOUT), 2);

	memset(&resp, 0, sizeof(resp));
	kv_err_set(&resp, CV_ERR_UNAVAILABLE, NULL);
	CU_ASSERT_EQUAL(resp.retry_after, 2);
	/* An error that replaces it does not keep its Retry-After. */
	kv_err_set(&resp, CV_ERR_INTERNAL, NULL);
	CU_ASSERT_EQUAL(resp.retry_after, 0);
	/* A rate limit's own, longer wait is kept. */
	resp.retry_after = 7;
	kv_err_set(&resp, CV_ERR_THROTTLED, NULL);
	CU_ASSERT_EQUAL(resp.retry_after, 7);
	cv_resp_free(&resp);

	/* /healthz's 503 carries the same. */
	memset(&resp, 0, sizeof(resp));
	kv_json_health(&resp, false);
	CU_ASSERT_EQUAL(resp.status, 503);
	CU_ASSERT_EQUAL(resp.retry_after, 2);
	cv_resp_free(&resp);
	memset(&resp, 0, sizeof(resp));
	kv_json_health(&resp, true);
	CU_ASSERT_EQUAL(resp.status, 200);
	CU_ASSERT_EQUAL(resp.retry_after, 0);
	cv_resp_free(&resp);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "status and code table", test_table },
		{ "error body", test_body },
		{ "Retry-After", test_retry_after },
	};

	return CU_RUN("kv_err", tests);
}
