/*
 * certvault — certificates.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/*
 * List up to limit live certificates of a vault whose names sort after
 * after (NULL: from the start), in name order: keyset pagination, so a
 * page boundary stays put while others insert.
 */
enum cv_err
store_cert_list(struct store *st, int64_t vault_id, const char *after,
    int limit, struct cv_cert_item **items, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			 vid[32], lim[16];
	enum cv_err		 er;
	int			 i;

	*items = NULL;
	*n = 0;
	snprintf(vid, sizeof(vid), "%lld", (long long)vault_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	store_param_text(&p, vid);
	store_param_text(&p, after);
	store_param_text(&p, lim);
	if ((er = store_exec(st, STMT_CERT_LIST, &p, &res)) != CV_OK)
		return er;
	*items = cv_calloc((size_t)PQntuples(res), sizeof(**items));
	for (i = 0; i < PQntuples(res); i++) {
		(*items)[i].name = store_get(res, i, "name");
		(*items)[i].x5t = store_get(res, i, "x5t");
		(*items)[i].enabled = store_get_bool(res, i, "enabled");
		(*items)[i].nbf = store_get_int(res, i, "nbf");
		(*items)[i].exp = store_get_int(res, i, "exp");
		(*items)[i].created = store_get_int(res, i, "created");
		(*items)[i].updated = store_get_int(res, i, "updated");
		(*items)[i].tags_json = store_get(res, i, "tags");
	}
	*n = (size_t)PQntuples(res);
	PQclear(res);
	return CV_OK;
}

void
store_lock_free(struct store_lock *lk)
{

	if (lk == NULL)
		return;
	cv_operation_free(&lk->op);
	free(lk->pub.data);
	memset(lk, 0, sizeof(*lk));
}

/*
 * Lock the certificate name of the vault for the rest of the caller's
 * transaction.  With new_policy not NULL, a missing row is created first
 * (with that policy), so that two creates of a new name serialise on it
 * too.  lk->exists is false when there is no such certificate.
 */
enum cv_err
store_cert_lock(struct store *st, int64_t vault_id, const char *name,
    const char *new_policy, struct store_lock *lk)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	memset(lk, 0, sizeof(*lk));
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	if (new_policy != NULL) {
		store_param_text(&p, new_policy);
		if ((er = store_exec(st, STMT_CERT_ENSURE, &p, &res)) != CV_OK)
			return er;
		PQclear(res);
		p.n = 2;
	}
	if ((er = store_exec(st, STMT_CERT_LOCK, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 1) {
		lk->exists = true;
		lk->cert_id = store_get_int(res, 0, "cert_id");
		lk->deleted = store_get_bool(res, 0, "deleted");
		lk->op_id = store_get_int(res, 0, "op_id");
		lk->has_op = lk->op_id != 0;
		if (lk->has_op) {
			lk->target_version_id = store_get_int(res, 0,
			    "target_version_id");
			if ((er = store_pending_row(res, 0, &lk->op)) == CV_OK)
				er = store_get_bytes(res, 0, "public_key",
				    &lk->pub);
		}
	}
	PQclear(res);
	return er;
}

/* The stored policy of a live certificate; CV_ERR_CERT_NOT_FOUND if none. */
enum cv_err
store_cert_policy(struct store *st, int64_t vault_id, const char *name,
    char **json)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*json = NULL;
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_CERT_POLICY, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0)
		er = CV_ERR_CERT_NOT_FOUND;
	else
		*json = store_get(res, 0, "policy");
	PQclear(res);
	return er;
}

static void
param_bytes_or_null(struct store_params *p, const struct cv_bytes *b)
{

	if (b == NULL || b->data == NULL)
		store_param_text(p, NULL);
	else
		store_param_bytes(p, b->data, (int)b->len);
}

/*
 * Under the lock lk: store the policy, replace any finished operation,
 * and insert the new key, version and operation.  The caller has checked
 * that no operation is in progress.
 */
enum cv_err
store_cert_new_version(struct store *st, const struct store_lock *lk,
    const struct store_new_version *nv)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	int64_t			 key_id, version_id;
	enum cv_err		 er;
	const struct cv_operation *op = nv->op;

	store_param_int(&p, lk->cert_id);
	store_param_text(&p, nv->policy_json);
	if ((er = store_exec(st, STMT_CERT_SET_POLICY, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	if ((er = store_pending_delete(st, lk->cert_id)) != CV_OK)
		return er;

	p.n = 0;
	store_param_text(&p, nv->key_uid);
	store_param_int(&p, lk->cert_id);
	store_param_text(&p, nv->kty);
	store_param_int(&p, nv->key_size);
	store_param_text(&p, nv->curve);
	store_param_bool(&p, nv->exportable);
	param_bytes_or_null(&p, nv->pub);
	param_bytes_or_null(&p, nv->sealed);
	store_param_bytes(&p, nv->nonce, 12);
	store_param_text(&p, nv->master_key_id);
	if ((er = store_exec(st, STMT_KEY_INSERT, &p, &res)) != CV_OK)
		return er;
	key_id = store_get_int(res, 0, "id");
	PQclear(res);

	p.n = 0;
	store_param_int(&p, lk->cert_id);
	store_param_text(&p, nv->version);
	store_param_int(&p, key_id);
	param_bytes_or_null(&p, nv->cert);
	if (nv->cert != NULL)
		store_param_bytes(&p, nv->x5t, 20);
	else
		store_param_text(&p, NULL);
	param_bytes_or_null(&p, nv->cert != NULL ? nv->serial : NULL);
	store_param_text(&p, nv->subject);
	if (nv->cert != NULL) {
		store_param_int(&p, nv->nbf);
		store_param_int(&p, nv->exp);
	} else {
		store_param_text(&p, NULL);
		store_param_text(&p, NULL);
	}
	store_param_bool(&p, nv->enabled);
	store_param_text(&p, nv->tags_json);
	store_param_text(&p, nv->content_type);
	store_param_bool(&p, nv->preserve_cert_order);
	if ((er = store_exec(st, STMT_VERSION_INSERT, &p, &res)) != CV_OK)
		return er;
	version_id = store_get_int(res, 0, "id");
	PQclear(res);

	p.n = 0;
	store_param_int(&p, lk->cert_id);
	store_param_int(&p, version_id);
	store_param_text(&p, op->request_id);
	store_param_text(&p, op->issuer_name);
	store_param_text(&p, op->issuer_provider);
	store_param_text(&p, op->cty);
	store_param_text(&p, op->cert_transparency == -1 ? NULL :
	    op->cert_transparency ? "true" : "false");
	store_param_bytes(&p, op->csr.data, (int)op->csr.len);
	store_param_text(&p, op->status);
	store_param_text(&p, op->status_details);
	store_param_bool(&p, op->preserve_cert_order);
	if ((er = store_exec(st, STMT_PENDING_INSERT, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	return CV_OK;
}

/* Give the pending version version_id its certificate and chain. */
enum cv_err
store_version_issue(struct store *st, int64_t version_id,
    const struct store_issue *is)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	size_t			 i;

	store_param_int(&p, version_id);
	store_param_bytes(&p, is->cert->data, (int)is->cert->len);
	store_param_bytes(&p, is->x5t, 20);
	store_param_bytes(&p, is->serial->data, (int)is->serial->len);
	store_param_text(&p, is->subject);
	store_param_int(&p, is->nbf);
	store_param_int(&p, is->exp);
	store_param_bool(&p, is->enabled);
	store_param_text(&p, is->tags_json);
	if ((er = store_exec(st, STMT_VERSION_ISSUE, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	for (i = 0; i < is->chainsz; i++) {
		p.n = 0;
		store_param_int(&p, version_id);
		store_param_bytes(&p, is->chain[i].data,
		    (int)is->chain[i].len);
		if ((er = store_exec(st, STMT_VERSION_CHAIN_APPEND, &p,
		    &res)) != CV_OK)
			return er;
		PQclear(res);
	}
	return CV_OK;
}

/*
 * One version of a live certificate (version "" for the latest) as a
 * CertificateBundle shows it.  CV_ERR_CERT_NOT_FOUND if there is none.
 */
enum cv_err
store_version_get(struct store *st, int64_t vault_id, const char *name,
    const char *version, struct cv_version *v)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct cv_bytes		 x5t;
	char			*s;
	enum cv_err		 er;

	memset(v, 0, sizeof(*v));
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	store_param_text(&p, version);
	if ((er = store_exec(st, STMT_VERSION_GET, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_CERT_NOT_FOUND;
	}
	v->name = store_get(res, 0, "name");
	if ((s = store_get(res, 0, "version")) != NULL) {
		strncpy(v->version, s, sizeof(v->version) - 1);
		free(s);
	}
	if ((er = store_get_bytes(res, 0, "certificate_der", &v->der)) !=
	    CV_OK || (er = store_get_bytes(res, 0, "x5t", &x5t)) != CV_OK)
		goto out;
	v->has_cert = v->der.len > 0 && x5t.len == sizeof(v->x5t);
	if (v->has_cert)
		memcpy(v->x5t, x5t.data, sizeof(v->x5t));
	free(x5t.data);
	v->enabled = store_get_bool(res, 0, "enabled");
	v->nbf = store_get_int(res, 0, "nbf");
	v->exp = store_get_int(res, 0, "exp");
	v->created = store_get_int(res, 0, "created");
	v->updated = store_get_int(res, 0, "updated");
	v->tags_json = store_get(res, 0, "tags");
	v->policy_json = store_get(res, 0, "policy");
	v->policy_created = store_get_int(res, 0, "policy_created");
	v->policy_updated = store_get_int(res, 0, "policy_updated");
	v->has_pending = store_get_bool(res, 0, "has_pending");
	v->recoverable_days = (int)store_get_int(res, 0, "retention_days");
	v->purge_protection = store_get_bool(res, 0, "purge_protection");
	v->content_type = store_get(res, 0, "content_type");
	v->preserve_cert_order = store_get_bool(res, 0, "preserve_cert_order");
out:
	PQclear(res);
	return er;
}
