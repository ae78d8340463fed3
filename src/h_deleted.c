/*
 * certvault — soft-delete: delete a certificate, read and list deleted
 * ones, recover, purge.  SPDX-License-Identifier: ISC
 *
 * A deleted certificate keeps its row (the lock), its versions and keys,
 * and its name: create, import and restore of that name get 409 until
 * it is recovered or purged.  Every change happens under the row lock,
 * so a delete never interleaves with a create, merge or recover of the
 * same name.  certvault-worker purges what is past scheduledPurgeDate.
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
deleted_not_found(struct cv_resp *resp, const char *name)
{

	return kv_err_set(resp, CV_ERR_CERT_NOT_FOUND,
	    "Deleted Certificate not found: %s", name);
}

/*
 * Under the row lock of a live certificate: mark it deleted, drop its
 * pending operation, and read back what the answer shows.
 */
static enum cv_err
delete_locked(struct cv_resp *resp, const struct cv_ctx *ctx,
    int64_t vault_id, const char *name, struct cv_version *v,
    struct store_deleted *d)
{
	struct store_del_lock	 lk;
	char			 recovery_id[33];
	enum cv_err		 er;

	if ((er = crypto_random_hex(recovery_id, 16)) != CV_OK)
		return er;
	if ((er = store_begin(ctx->store)) != CV_OK)
		return er;
	if ((er = store_deleted_lock(ctx->store, vault_id, name, &lk)) !=
	    CV_OK)
		goto out;
	if (!lk.exists || lk.deleted) {
		er = kv_err_set(resp, CV_ERR_CERT_NOT_FOUND,
		    "Certificate not found: %s", name);
		goto out;
	}
	if ((er = store_pending_delete(ctx->store, lk.cert_id)) != CV_OK ||
	    (er = store_deleted_mark(ctx->store, lk.cert_id, recovery_id)) !=
	    CV_OK)
		goto out;
	/* A row without any version is not a certificate GET would show. */
	er = store_deleted_get(ctx->store, vault_id, name, v, d);
	if (er == CV_ERR_CERT_NOT_FOUND) {
		er = kv_err_set(resp, er, "Certificate not found: %s", name);
		goto out;
	}
	if (er != CV_OK)
		goto out;
	if ((er = store_commit(ctx->store)) != CV_OK)
		cv_version_free(v);
out:
	store_rollback(ctx->store);
	return er;
}

/*
 * DELETE /certificates/{name}: soft-delete every version and the policy;
 * 200 with the latest version as a DeletedCertificateBundle.
 */
enum cv_err
h_deleted_delete(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_version	 v;
	struct store_deleted	 d;
	char			*base;
	enum cv_err		 er;
	int			 tries;

	memset(&v, 0, sizeof(v));
	/* A serialization failure or deadlock is retried once. */
	for (tries = 0; tries < 2; tries++)
		if ((er = delete_locked(resp, ctx, req->vault.id, req->args[0],
		    &v, &d)) != CV_ERR_RETRY)
			break;
	if (er != CV_OK)
		return er;
	base = http_base_url(req);
	er = kv_json_deleted_bundle(resp, base, &v, d.deleted,
	    d.scheduled_purge);
	free(base);
	cv_version_free(&v);
	return er;
}

/* GET /deletedcertificates/{name} */
enum cv_err
h_deleted_get(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_version	 v;
	struct store_deleted	 d;
	char			*base;
	enum cv_err		 er;

	er = store_deleted_get(ctx->store, req->vault.id, req->args[0], &v, &d);
	if (er == CV_ERR_CERT_NOT_FOUND)
		return deleted_not_found(resp, req->args[0]);
	if (er != CV_OK)
		return er;
	base = http_base_url(req);
	er = kv_json_deleted_bundle(resp, base, &v, d.deleted,
	    d.scheduled_purge);
	free(base);
	cv_version_free(&v);
	return er;
}

/*
 * GET /deletedcertificates: one page of soft-deleted certificates, in
 * name order; $skiptoken is the last name of the page before.
 */
enum cv_err
h_deleted_list(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_deleted_item	*items;
	size_t			 n, shown;
	int			 limit;
	bool			 pending;
	const char		*after;
	char			*base, *next = NULL;
	enum cv_err		 er;

	if ((er = h_list_params(req, resp, &limit, &pending, &after)) != CV_OK)
		return er;
	/* One more than the page tells whether there is a next page. */
	if ((er = store_deleted_list(ctx->store, req->vault.id, after,
	    limit + 1, pending, &items, &n)) != CV_OK)
		return er;
	base = http_base_url(req);
	shown = n;
	if (n > (size_t)limit) {
		shown = (size_t)limit;
		next = cv_asprintf("%s/deletedcertificates?api-version=%s&"
		    "$skiptoken=%s&maxresults=%d%s", base, req->api_version,
		    items[shown - 1].item.name, limit,
		    pending ? "&includePending=true" : "");
	}
	er = kv_json_deleted_list(resp, base, items, shown, next);
	free(next);
	free(base);
	cv_deleted_items_free(items, n);
	return er;
}

/* Under the row lock: make the deleted certificate name live again. */
static enum cv_err
recover_locked(struct cv_resp *resp, const struct cv_ctx *ctx,
    int64_t vault_id, const char *name)
{
	struct store_del_lock	 lk;
	enum cv_err		 er;

	if ((er = store_begin(ctx->store)) != CV_OK)
		return er;
	if ((er = store_deleted_lock(ctx->store, vault_id, name, &lk)) !=
	    CV_OK)
		goto out;
	if (!lk.exists || !lk.deleted) {
		er = deleted_not_found(resp, name);
		goto out;
	}
	if ((er = store_deleted_recover(ctx->store, lk.cert_id)) == CV_OK)
		er = store_commit(ctx->store);
out:
	store_rollback(ctx->store);
	return er;
}

/*
 * POST /deletedcertificates/{name}/recover: 200 with the latest version
 * as a CertificateBundle.
 */
enum cv_err
h_deleted_recover(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	enum cv_err	 er;
	int		 tries;

	for (tries = 0; tries < 2; tries++)
		if ((er = recover_locked(resp, ctx, req->vault.id,
		    req->args[0])) != CV_ERR_RETRY)
			break;
	if (er != CV_OK)
		return er;
	return h_cert_bundle(req, resp, ctx, req->args[0], "", 200);
}

/* Under the row lock: purge the deleted certificate name, unless protected. */
static enum cv_err
purge_locked(struct cv_resp *resp, const struct cv_ctx *ctx,
    int64_t vault_id, const char *name)
{
	struct store_del_lock	 lk;
	enum cv_err		 er;

	if ((er = store_begin(ctx->store)) != CV_OK)
		return er;
	if ((er = store_deleted_lock(ctx->store, vault_id, name, &lk)) !=
	    CV_OK)
		goto out;
	if (!lk.exists || !lk.deleted) {
		er = deleted_not_found(resp, name);
		goto out;
	}
	if (lk.purge_protection) {
		er = kv_err_set(resp, CV_ERR_FORBIDDEN, "Operation \"purge\" is "
		    "not allowed because purge protection is enabled for this "
		    "vault. The certificate %s is purged automatically on its "
		    "scheduledPurgeDate.", name);
		goto out;
	}
	if ((er = store_deleted_purge(ctx->store, lk.cert_id)) == CV_OK)
		er = store_commit(ctx->store);
out:
	store_rollback(ctx->store);
	return er;
}

/*
 * DELETE /deletedcertificates/{name}: remove it for good, with every
 * version and key (cascade); 204 without a body.
 */
enum cv_err
h_deleted_purge(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	enum cv_err	 er;
	int		 tries;

	for (tries = 0; tries < 2; tries++)
		if ((er = purge_locked(resp, ctx, req->vault.id,
		    req->args[0])) != CV_ERR_RETRY)
			break;
	if (er != CV_OK)
		return er;
	resp->status = 204;
	return CV_OK;
}
