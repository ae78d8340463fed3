/*
 * certvault — GET /.well-known/acme-challenge/{token}: the http-01
 * answers of ACME orders (RFC 8555, 8.3).  SPDX-License-Identifier: ISC
 *
 * The CA asks over plain HTTP, on the name being validated, without any
 * credentials; the answer (token.thumbprint) is public by design.  It is
 * read from the database so that any node of a cluster answers for an
 * order another node's worker placed.
 */
#include "config.h"

#include <string.h>

#include "certvault.h"
#include "handlers.h"
#include "kv.h"
#include "store.h"

/* A token is base64url (RFC 8555, 8.1), at least 128 bits of it. */
static bool
token_valid(const char *t)
{
	size_t	 n = strlen(t);

	return n >= 16 && n <= 256 && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

enum cv_err
h_acme_challenge(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	char		*keyauth;
	enum cv_err	 er;

	if (req->argsz != 1 || !token_valid(req->args[0]))
		return kv_err_set(resp, CV_ERR_NOT_FOUND, NULL);
	er = store_acme_challenge_get(ctx->store, req->args[0], &keyauth);
	if (er != CV_OK)
		return kv_err_set(resp, er, NULL);
	resp->body = keyauth;
	resp->bodysz = strlen(keyauth);
	resp->content_type = "text/plain";
	return CV_OK;
}
