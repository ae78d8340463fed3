/*
 * certvault — a certificate's policy: get and update.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "crypto.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "store.h"

static enum cv_err
policy_answer(struct cv_req *req, struct cv_resp *resp, const char *json,
    const struct store_policy *pol)
{
	char		*base;
	enum cv_err	 er;

	base = http_base_url(req);
	er = kv_json_policy_doc(resp, base, pol->name, json, pol->created,
	    pol->updated);
	free(base);
	return er;
}

/* GET /certificates/{name}/policy */
enum cv_err
h_policy_get(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct store_policy	 pol = { NULL, 0, 0 };
	char			*json = NULL;
	enum cv_err		 er;

	er = store_cert_policy(ctx->store, req->vault.id, req->args[0], &json,
	    &pol);
	if (er == CV_ERR_CERT_NOT_FOUND)
		er = kv_err_set(resp, er, "Certificate not found: %s",
		    req->args[0]);
	else if (er == CV_OK)
		er = policy_answer(req, resp, json, &pol);
	free(json);
	free(pol.name);
	return er;
}

/*
 * PATCH /certificates/{name}/policy: the members given replace the stored
 * ones, the others stay; the result is validated like a create's policy
 * and governs the next versions.
 */
enum cv_err
h_policy_update(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct store_policy	 pol = { NULL, 0, 0 };
	struct cv_policy	 p;
	struct cv_issuer	 iss;
	char			*stored = NULL, *merged = NULL, *msg = NULL;
	enum cv_err		 er;

	memset(&p, 0, sizeof(p));
	memset(&iss, 0, sizeof(iss));
	er = store_cert_policy(ctx->store, req->vault.id, req->args[0],
	    &stored, &pol);
	if (er == CV_ERR_CERT_NOT_FOUND) {
		er = kv_err_set(resp, er, "Certificate not found: %s",
		    req->args[0]);
		goto out;
	}
	if (er != CV_OK)
		goto out;
	if ((er = kv_json_policy_merge(stored, req->body, &merged, &msg)) !=
	    CV_OK || (er = kv_json_policy_parse(merged, &p, &msg)) != CV_OK) {
		kv_err_set(resp, CV_ERR_BAD_PARAMETER, "%s", msg);
		goto out;
	}
	if (p.issuer_kind == CV_ISSUER_OBJECT &&
	    (er = h_issuer_usable(resp, ctx, req->vault.id, p.issuer,
	    &iss)) != CV_OK)
		goto out;
	if (p.x509.subject[0] != '\0' &&
	    (er = crypto_dn_check(p.x509.subject, &msg)) != CV_OK) {
		kv_err_set(resp, er, "policy.x509_props.subject: %s",
		    msg != NULL ? msg : "not a valid distinguished name.");
		goto out;
	}
	er = store_cert_policy_update(ctx->store, req->vault.id, req->args[0],
	    p.json);
	if (er == CV_ERR_CERT_NOT_FOUND)
		er = kv_err_set(resp, er, "Certificate not found: %s",
		    req->args[0]);
	if (er != CV_OK)
		goto out;
	free(pol.name);
	pol.name = NULL;
	free(stored);
	stored = NULL;
	/* Read it back for the timestamps the database set. */
	if ((er = store_cert_policy(ctx->store, req->vault.id, req->args[0],
	    &stored, &pol)) == CV_OK)
		er = policy_answer(req, resp, stored, &pol);
out:
	cv_issuer_free(&iss);
	kv_policy_free(&p);
	free(stored);
	free(merged);
	free(msg);
	free(pol.name);
	return er;
}
