/*
 * certvault — the pending certificate operation: get, cancel, delete,
 * merge.  SPDX-License-Identifier: ISC
 *
 * Every change happens under the certificate's row lock, so a merge,
 * a cancel and a create of one name never interleave; a refused change
 * rolls back and leaves the operation as it was.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "crypto.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "store.h"

static enum cv_err
not_found(struct cv_resp *resp, const char *name)
{

	return kv_err_set(resp, CV_ERR_PENDING_NOT_FOUND,
	    "Pending certificate not found: %s", name);
}

/* request_id in the query is a filter: another id is a 404 (seed). */
static bool
request_matches(const struct cv_req *req, const struct cv_operation *op)
{
	const char	*want = cv_req_param(req, "request_id");

	return want == NULL || *want == '\0' ||
	    strcasecmp(want, op->request_id) == 0;
}

static bool
issuer_backed(const struct cv_operation *op)
{

	return strcasecmp(op->issuer_name, "Self") != 0 &&
	    strcasecmp(op->issuer_name, "Unknown") != 0;
}

static enum cv_err
answer(struct cv_req *req, struct cv_resp *resp, const struct cv_operation *op)
{
	char		*base;
	enum cv_err	 er;

	base = http_base_url(req);
	er = kv_json_operation(resp, 200, base, op);
	free(base);
	return er;
}

/* GET /certificates/{name}/pending */
enum cv_err
h_pending_get(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_operation	 op;
	enum cv_err		 er;

	er = store_pending_get(ctx->store, req->vault.id, req->args[0], &op);
	if (er == CV_ERR_PENDING_NOT_FOUND ||
	    (er == CV_OK && !request_matches(req, &op)))
		er = not_found(resp, req->args[0]);
	else if (er == CV_OK)
		er = answer(req, resp, &op);
	cv_operation_free(&op);
	return er;
}

/*
 * Begin a transaction and lock the name's operation (matching request_id).
 * On failure the transaction is rolled back and the error recorded.
 */
static enum cv_err
lock_op(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx,
    struct store_lock *lk)
{
	enum cv_err	 er;

	memset(lk, 0, sizeof(*lk));
	if ((er = store_begin(ctx->store)) != CV_OK)
		return er;
	if ((er = store_cert_lock(ctx->store, req->vault.id, req->args[0],
	    NULL, lk)) != CV_OK) {
		store_rollback(ctx->store);
		return er;
	}
	if (!lk->exists || lk->deleted || !lk->has_op ||
	    !request_matches(req, &lk->op)) {
		store_rollback(ctx->store);
		return not_found(resp, req->args[0]);
	}
	return CV_OK;
}

/*
 * PATCH /certificates/{name}/pending {"cancellation_requested": true}.
 * A request only: the issuer decides.  Not in progress: 400, the seed's
 * code (the real service says 403).
 */
enum cv_err
h_pending_update(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct store_lock	 lk;
	char			*msg = NULL;
	const char		*details;
	bool			 cancel;
	enum cv_err		 er;

	if ((er = kv_json_cancel_parse(req->body, &cancel, &msg)) != CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		free(msg);
		return er;
	}
	if ((er = lock_op(req, resp, ctx, &lk)) != CV_OK)
		return er;
	if (strcmp(lk.op.status, "inProgress") != 0) {
		er = kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The pending "
		    "certificate is %s; only a request in progress can be "
		    "cancelled.", lk.op.status);
		goto out;
	}
	if (cancel && !lk.op.cancellation_requested) {
		details = issuer_backed(&lk.op) ? "Cancellation requested. "
		    "The issuer will stop the request if it still can." :
		    "Cancellation requested. A manual request has no issuer to "
		    "stop it: merge a certificate or delete the pending "
		    "operation.";
		if ((er = store_pending_cancel(ctx->store, lk.op_id,
		    details)) != CV_OK)
			goto out;
		lk.op.cancellation_requested = true;
		free(lk.op.status_details);
		lk.op.status_details = cv_strdup(details);
	}
	if ((er = store_commit(ctx->store)) == CV_OK)
		er = answer(req, resp, &lk.op);
out:
	store_rollback(ctx->store);
	store_lock_free(&lk);
	return er;
}

/* DELETE /certificates/{name}/pending: 200 with the operation's last state. */
enum cv_err
h_pending_delete(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct store_lock	 lk;
	enum cv_err		 er;

	if ((er = lock_op(req, resp, ctx, &lk)) != CV_OK)
		return er;
	if ((er = store_pending_delete(ctx->store, lk.cert_id)) == CV_OK &&
	    (er = store_commit(ctx->store)) == CV_OK)
		er = answer(req, resp, &lk.op);
	store_rollback(ctx->store);
	store_lock_free(&lk);
	return er;
}

/* The decoded x5c chain of a merge, leaf first. */
struct chain {
	struct cv_bytes		*der;
	size_t			 n;
	struct cv_x509_info	 leaf;
	bool			 has_leaf;
};

static void
chain_free(struct chain *ch)
{
	size_t	 i;

	for (i = 0; i < ch->n; i++)
		cv_bytes_free(&ch->der[i]);
	free(ch->der);
	if (ch->has_leaf)
		cv_x509_info_free(&ch->leaf);
}

/* Decode every x5c element and put the leaf first; 400 on bad input. */
static enum cv_err
decode_chain(struct cv_resp *resp, const struct cv_merge *mg,
    struct chain *ch)
{
	char		*msg = NULL;
	enum cv_err	 er;
	size_t		 i;

	memset(ch, 0, sizeof(*ch));
	ch->der = cv_calloc(mg->x5c.n, sizeof(*ch->der));
	for (i = 0; i < mg->x5c.n; i++, ch->n++)
		if ((er = crypto_x509_decode_x5c(mg->x5c.v[i], &ch->der[i],
		    &msg)) != CV_OK) {
			kv_err_set(resp, CV_ERR_BAD_PARAMETER, "x5c[%zu]: %s",
			    i, msg != NULL ? msg : "not a certificate.");
			free(msg);
			return CV_ERR_BAD_PARAMETER;
		}
	if ((er = crypto_x509_chain_order(ch->der, ch->n, &msg)) != CV_OK) {
		kv_err_set(resp, CV_ERR_BAD_PARAMETER, "x5c: %s",
		    msg != NULL ? msg : "the chain cannot be ordered.");
		free(msg);
		return CV_ERR_BAD_PARAMETER;
	}
	if ((er = crypto_x509_info(&ch->der[0], &ch->leaf)) != CV_OK)
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER,
		    "x5c[0] cannot be read as a certificate.");
	ch->has_leaf = true;
	return CV_OK;
}

/*
 * POST /certificates/{name}/pending/merge: the chain signed elsewhere
 * completes the pending version.  Refused, the operation stays as it was.
 */
enum cv_err
h_pending_merge(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_merge		 mg;
	struct chain		 ch;
	struct store_lock	 lk;
	struct store_issue	 is;
	char			*msg = NULL, *base;
	bool			 locked = false;
	enum cv_err		 er;

	memset(&ch, 0, sizeof(ch));
	memset(&lk, 0, sizeof(lk));
	if ((er = kv_json_merge_parse(req->body, &mg, &msg)) != CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		free(msg);
		return er;
	}
	if ((er = decode_chain(resp, &mg, &ch)) != CV_OK)
		goto out;
	if ((er = lock_op(req, resp, ctx, &lk)) != CV_OK)
		goto out;
	locked = true;
	if (issuer_backed(&lk.op) && strcmp(lk.op.status, "inProgress") == 0) {
		er = kv_err_set(resp, CV_ERR_FORBIDDEN, "Merge is forbidden on "
		    "pending object created with issuer : %s while it is in "
		    "progess.", lk.op.issuer_name);
		goto out;
	}
	if (strcmp(lk.op.status, "completed") == 0) {
		er = kv_err_set(resp, CV_ERR_FORBIDDEN, "The pending "
		    "certificate is already completed; create a new version "
		    "to merge another certificate.");
		goto out;
	}
	if (!crypto_x509_key_matches(&ch.der[0], &lk.pub)) {
		er = kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The public key of "
		    "the certificate in x5c does not match the key of the "
		    "pending certificate request.");
		goto out;
	}
	memset(&is, 0, sizeof(is));
	is.cert = &ch.der[0];
	is.chain = ch.der + 1;
	is.chainsz = ch.n - 1;
	is.x5t = ch.leaf.x5t;
	is.serial = &ch.leaf.serial;
	is.subject = ch.leaf.subject;
	is.nbf = (int64_t)ch.leaf.not_before;
	is.exp = (int64_t)ch.leaf.not_after;
	is.enabled = mg.enabled != 0;
	is.tags_json = mg.tags_json;
	if ((er = store_version_issue(ctx->store, lk.target_version_id,
	    &is)) != CV_OK ||
	    (er = store_pending_complete(ctx->store, lk.op_id)) != CV_OK ||
	    (er = store_commit(ctx->store)) != CV_OK)
		goto out;
	locked = false;
	base = http_base_url(req);
	resp->location = cv_asprintf("%s/certificates/%s?api-version=%s",
	    base, req->args[0], req->api_version);
	free(base);
	er = h_cert_bundle(req, resp, ctx, req->args[0], "", 201);
out:
	if (locked)
		store_rollback(ctx->store);
	store_lock_free(&lk);
	chain_free(&ch);
	kv_merge_free(&mg);
	return er;
}
