/*
 * certvault — map cv_err to an HTTP status and a Key Vault error body.
 * SPDX-License-Identifier: ISC
 *
 * This is the only place that knows both: handlers return codes, not
 * status numbers (kcgi's enum-indexed tables).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certvault.h"
#include "kv.h"
#include "log.h"

/*
 * Retry-After of a 503: the database is away or did not answer in time.
 * certvault serves again within 2 s of the database coming back (without
 * a restart: t_fault_db_outage measures it), so a client that waits 2 s
 * is back about as soon as a restart or a failover is over, and one that
 * keeps retrying through a longer outage sends one request every 2 s
 * instead of a stream.
 */
#define KV_RETRY_AFTER_UNAVAILABLE	2

struct kv_err_map {
	int		 status;
	const char	*code;		/* error.code on the wire */
	const char	*message;	/* default error.message */
	unsigned	 retry_after;	/* Retry-After seconds; 0: none */
};

static const struct kv_err_map kv_errs[CV_ERR__MAX] = {
	/* CV_OK */
	{ 200, NULL, NULL, 0 },
	/* CV_ERR_BAD_PARAMETER */
	{ 400, "BadParameter", "The request is not valid.", 0 },
	/* CV_ERR_UNAUTHORIZED: Key Vault's own wording (AKV10000). */
	{ 401, "Unauthorized",
	    "AKV10000: Request is missing a Bearer or PoP token.", 0 },
	/* CV_ERR_FORBIDDEN */
	{ 403, "Forbidden", "The operation is not allowed.", 0 },
	/* CV_ERR_NOT_FOUND */
	{ 404, "NotFound", "The requested resource does not exist.", 0 },
	/* CV_ERR_CERT_NOT_FOUND */
	{ 404, "CertificateNotFound", "Certificate not found.", 0 },
	/* CV_ERR_PENDING_NOT_FOUND */
	{ 404, "PendingCertificateNotFound", "Pending certificate not found.",
	    0 },
	/* CV_ERR_METHOD */
	{ 405, "MethodNotAllowed",
	    "The requested method is not allowed on this resource.", 0 },
	/* CV_ERR_CONFLICT */
	{ 409, "Conflict", "The request conflicts with the current state.",
	    0 },
	/* CV_ERR_PENDING_CONFLICT: 409 with code Forbidden, as the seed says. */
	{ 409, "Forbidden",
	    "A new key vault certificate can not be created or imported "
	    "while a pending key vault certificate's status is inProgress.",
	    0 },
	/* CV_ERR_TOO_LARGE */
	{ 413, "RequestTooLarge", "The request body is too large.", 0 },
	/* CV_ERR_MEDIA_TYPE */
	{ 415, "UnsupportedMediaType",
	    "The request body must be application/json.", 0 },
	/* CV_ERR_INTERNAL */
	{ 500, "InternalServerError",
	    "The server encountered an internal error.", 0 },
	/* CV_ERR_UNAVAILABLE */
	{ 503, "ServiceUnavailable",
	    "The service is temporarily unavailable: the database cannot be "
	    "reached. Retry later.", KV_RETRY_AFTER_UNAVAILABLE },
	/* CV_ERR_RETRY: a serialization failure that survived its retry. */
	{ 409, "Conflict",
	    "There was a conflict with a concurrent request. Retry.", 0 },
	/* CV_ERR_SECRET_NOT_FOUND */
	{ 404, "SecretNotFound", "Secret not found.", 0 },
	/* CV_ERR_KEY_NOT_FOUND */
	{ 404, "KeyNotFound", "Key not found.", 0 },
	/* CV_ERR_ISSUER_NOT_FOUND: the real service's wording. */
	{ 404, "CertificateIssuerNotFound", "Issuer not found", 0 },
	/* CV_ERR_CONTACTS_NOT_FOUND: the real service's wording. */
	{ 404, "ContactsNotFound", "Contacts not found", 0 },
	/* CV_ERR_TIMEOUT: a statement ran past request_timeout. */
	{ 503, "ServiceUnavailable",
	    "The request did not finish within the server's request timeout "
	    "(it waited for a lock or the database). Retry later.",
	    KV_RETRY_AFTER_UNAVAILABLE },
	/*
	 * CV_ERR_THROTTLED: Key Vault's code for its service limits.  The
	 * caller sets the wait its bucket needs; 1 is only the floor.
	 */
	{ 429, "Throttled",
	    "Request was not processed because too many requests were "
	    "received. Retry after the number of seconds Retry-After gives.",
	    1 },
};

int
kv_err_status(enum cv_err er)
{

	return er < CV_ERR__MAX ? kv_errs[er].status : 500;
}

const char *
kv_err_code(enum cv_err er)
{

	return er < CV_ERR__MAX ? kv_errs[er].code : "InternalServerError";
}

/* Retry-After seconds that go with er (0: none), e.g. for GET /healthz. */
unsigned
kv_err_retry_after(enum cv_err er)
{

	return er < CV_ERR__MAX ? kv_errs[er].retry_after : 0;
}

/*
 * Record an error on the response with a client-facing message (NULL for
 * the default one).  Return er, so a handler can "return kv_err_set(...)".
 */
enum cv_err
kv_err_set(struct cv_resp *resp, enum cv_err er, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (er == CV_OK || er >= CV_ERR__MAX)
		er = CV_ERR_INTERNAL;
	free(resp->errmsg);
	resp->errmsg = NULL;
	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) >= 0)
			resp->errmsg = msg;
		va_end(ap);
	}
	resp->err = er;
	resp->status = kv_errs[er].status;
	/*
	 * Only 429 and 503 say when to come back; a wait the caller already
	 * set (a rate limit's bucket) is kept if it is longer.
	 */
	if (kv_errs[er].retry_after == 0)
		resp->retry_after = 0;
	else if (resp->retry_after < kv_errs[er].retry_after)
		resp->retry_after = kv_errs[er].retry_after;
	return er;
}

/*
 * If an error was recorded, replace whatever body there was with the Key
 * Vault error document {"error":{"code":…,"message":…}}.
 */
void
kv_err_finish(struct cv_resp *resp)
{
	json_t	*doc;
	char	*text;

	if (resp->err == CV_OK)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->bodysz = 0;
	doc = json_pack("{s:{s:s, s:s}}", "error",
	    "code", kv_errs[resp->err].code,
	    "message", resp->errmsg != NULL ? resp->errmsg :
	    kv_errs[resp->err].message);
	if (doc != NULL && resp->errinner != NULL)
		json_object_set_new(json_object_get(doc, "error"), "innererror",
		    json_pack("{s:s}", "code", resp->errinner));
	if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		/* Only on allocation failure; still say something valid. */
		json_decref(doc);
		resp->status = 500;
		resp->body = cv_strdup("{\"error\":{\"code\":"
		    "\"InternalServerError\",\"message\":\"out of memory\"}}");
		resp->bodysz = strlen(resp->body);
		return;
	}
	json_decref(doc);
	resp->status = kv_errs[resp->err].status;
	resp->body = text;
	resp->bodysz = strlen(text);
}
