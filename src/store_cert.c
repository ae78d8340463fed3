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

/* Fill items from a result with the ITEM_COLUMNS. */
static void
items_from(const PGresult *res, struct cv_cert_item **items, size_t *n)
{
	int	 i;

	*items = cv_calloc((size_t)PQntuples(res), sizeof(**items));
	for (i = 0; i < PQntuples(res); i++) {
		(*items)[i].name = store_get(res, i, "name");
		(*items)[i].version = store_get(res, i, "version");
		(*items)[i].x5t = store_get(res, i, "x5t");
		(*items)[i].enabled = store_get_bool(res, i, "enabled");
		(*items)[i].nbf = store_get_int(res, i, "nbf");
		(*items)[i].exp = store_get_int(res, i, "exp");
		(*items)[i].created = store_get_int(res, i, "created");
		(*items)[i].updated = store_get_int(res, i, "updated");
		(*items)[i].tags_json = store_get(res, i, "tags");
	}
	*n = (size_t)PQntuples(res);
}

/*
 * List up to limit live certificates of a vault whose names sort after
 * after (NULL: from the start), in name order: keyset pagination, so a
 * page boundary stays put while others insert.  Certificates that have
 * only a pending version are listed when include_pending is set.
 */
enum cv_err
store_cert_list(struct store *st, int64_t vault_id, const char *after,
    int limit, bool include_pending, struct cv_cert_item **items, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*items = NULL;
	*n = 0;
	store_param_int(&p, vault_id);
	store_param_text(&p, after);
	store_param_int(&p, limit);
	store_param_bool(&p, include_pending);
	if ((er = store_exec(st, STMT_CERT_LIST, &p, &res)) != CV_OK)
		return er;
	items_from(res, items, n);
	PQclear(res);
	return CV_OK;
}

/*
 * List up to limit versions of a live certificate, oldest first, after
 * the version after (NULL: from the first).
 */
enum cv_err
store_cert_versions(struct store *st, int64_t vault_id, const char *name,
    const char *after, int limit, struct cv_cert_item **items, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*items = NULL;
	*n = 0;
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	store_param_text(&p, after);
	store_param_int(&p, limit);
	if ((er = store_exec(st, STMT_CERT_VERSIONS, &p, &res)) != CV_OK)
		return er;
	items_from(res, items, n);
	PQclear(res);
	return CV_OK;
}

/*
 * Set enabled (-1: keep) and tags (NULL: keep) of one version ("" for the
 * latest); *version receives its id.  CV_ERR_CERT_NOT_FOUND if none.
 */
enum cv_err
store_version_update(struct store *st, int64_t vault_id, const char *name,
    const char *version, int enabled, const char *tags_json,
    char out[33])
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	char			*v;

	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	store_param_text(&p, version);
	store_param_text(&p, enabled < 0 ? NULL : enabled ? "true" : "false");
	store_param_text(&p, tags_json);
	if ((er = store_exec(st, STMT_VERSION_UPDATE, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0)
		er = CV_ERR_CERT_NOT_FOUND;
	else if ((v = store_get(res, 0, "version")) != NULL) {
		snprintf(out, 33, "%s", v);
		free(v);
	}
	PQclear(res);
	return er;
}

/* Replace the policy of a live certificate; CV_ERR_CERT_NOT_FOUND if none. */
enum cv_err
store_cert_policy_update(struct store *st, int64_t vault_id,
    const char *name, const char *policy_json)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	bool			 found;

	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	store_param_text(&p, policy_json);
	if ((er = store_exec(st, STMT_CERT_POLICY_UPDATE, &p, &res)) != CV_OK)
		return er;
	found = strcmp(PQcmdTuples(res), "0") != 0;
	PQclear(res);
	return found ? CV_OK : CV_ERR_CERT_NOT_FOUND;
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
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_OK;
	}
	/* A new statement, a new snapshot: what committed while we waited. */
	p.n = 0;
	store_param_int(&p, store_get_int(res, 0, "id"));
	PQclear(res);
	if ((er = store_exec(st, STMT_CERT_LOCKED, &p, &res)) != CV_OK)
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

/*
 * The stored policy of a live certificate (and, if pol is not NULL, its
 * name as stored and the policy's timestamps).  CV_ERR_CERT_NOT_FOUND if
 * there is no such certificate.
 */
enum cv_err
store_cert_policy(struct store *st, int64_t vault_id, const char *name,
    char **json, struct store_policy *pol)
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
	else {
		*json = store_get(res, 0, "policy");
		if (pol != NULL) {
			pol->name = store_get(res, 0, "name");
			pol->created = store_get_int(res, 0, "created");
			pol->updated = store_get_int(res, 0, "updated");
		}
	}
	PQclear(res);
	return er;
}

/* Append the chain certificates to version version_id, in order. */
enum cv_err
store_chain_append(struct store *st, int64_t version_id,
    const struct cv_bytes *chain, size_t n)
{
	PGresult		*res;
	struct store_params	 p;
	enum cv_err		 er;
	size_t			 i;

	for (i = 0; i < n; i++) {
		p.n = 0;
		store_param_int(&p, version_id);
		store_param_bytes(&p, chain[i].data, (int)chain[i].len);
		if ((er = store_exec(st, STMT_VERSION_CHAIN_APPEND, &p,
		    &res)) != CV_OK)
			return er;
		PQclear(res);
	}
	return CV_OK;
}

/*
 * Under the lock lk: store the policy, replace any finished operation,
 * and insert the new key, version (with its chain) and operation (none
 * for an import).  The caller has checked that no operation is in
 * progress.
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
	store_param_bytes_or_null(&p, nv->pub);
	store_param_bytes_or_null(&p, nv->sealed);
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
	store_param_bytes_or_null(&p, nv->cert);
	if (nv->cert != NULL)
		store_param_bytes(&p, nv->x5t, 20);
	else
		store_param_text(&p, NULL);
	store_param_bytes_or_null(&p, nv->cert != NULL ? nv->serial : NULL);
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
	if ((er = store_chain_append(st, version_id, nv->chain,
	    nv->chainsz)) != CV_OK)
		return er;
	if (op == NULL)
		return CV_OK;

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
	return store_chain_append(st, version_id, is->chain, is->chainsz);
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
	er = store_version_row(res, 0, v);
	PQclear(res);
	return er;
}

/*
 * Fill v from row of a result with STMT_VERSION_GET's columns (also
 * STMT_DELETED_GET's).  The caller releases v with cv_version_free, also
 * on failure.
 */
enum cv_err
store_version_row(const PGresult *res, int row, struct cv_version *v)
{
	struct cv_bytes		 x5t;
	char			*s;
	enum cv_err		 er;

	v->name = store_get(res, row, "name");
	if ((s = store_get(res, row, "version")) != NULL) {
		strncpy(v->version, s, sizeof(v->version) - 1);
		free(s);
	}
	if ((er = store_get_bytes(res, row, "certificate_der", &v->der)) !=
	    CV_OK || (er = store_get_bytes(res, row, "x5t", &x5t)) != CV_OK)
		return er;
	v->has_cert = v->der.len > 0 && x5t.len == sizeof(v->x5t);
	if (v->has_cert)
		memcpy(v->x5t, x5t.data, sizeof(v->x5t));
	free(x5t.data);
	v->enabled = store_get_bool(res, row, "enabled");
	v->nbf = store_get_int(res, row, "nbf");
	v->exp = store_get_int(res, row, "exp");
	v->created = store_get_int(res, row, "created");
	v->updated = store_get_int(res, row, "updated");
	v->tags_json = store_get(res, row, "tags");
	v->policy_json = store_get(res, row, "policy");
	v->policy_created = store_get_int(res, row, "policy_created");
	v->policy_updated = store_get_int(res, row, "policy_updated");
	v->has_pending = store_get_bool(res, row, "has_pending");
	v->recoverable_days = (int)store_get_int(res, row, "retention_days");
	v->purge_protection = store_get_bool(res, row, "purge_protection");
	v->content_type = store_get(res, row, "content_type");
	v->preserve_cert_order = store_get_bool(res, row,
	    "preserve_cert_order");
	return CV_OK;
}

void
store_keyed_free(struct store_keyed *k)
{
	size_t	 i;

	if (k == NULL)
		return;
	cv_version_free(&k->v);
	free(k->key_uid);
	free(k->master_key_id);
	free(k->pub.data);
	free(k->sealed.data);
	for (i = 0; i < k->ncerts; i++)
		free(k->certs[i].data);
	free(k->certs);
	memset(k, 0, sizeof(*k));
}

/*
 * An issued version of a live certificate ("" for the latest) with its
 * chain and its key, still sealed.  CV_ERR_CERT_NOT_FOUND if none.
 */
enum cv_err
store_version_key(struct store *st, int64_t vault_id, const char *name,
    const char *version, struct store_keyed *k)
{
	PGresult		*res = NULL, *chain = NULL;
	struct store_params	 p = { 0 };
	struct cv_bytes		 b;
	char			*s;
	enum cv_err		 er;
	int			 i;

	memset(k, 0, sizeof(*k));
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	store_param_text(&p, version);
	if ((er = store_exec(st, STMT_VERSION_KEY, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		er = CV_ERR_CERT_NOT_FOUND;
		goto out;
	}
	k->v.name = store_get(res, 0, "name");
	if ((s = store_get(res, 0, "version")) != NULL) {
		snprintf(k->v.version, sizeof(k->v.version), "%s", s);
		free(s);
	}
	k->v.has_cert = true;
	k->v.enabled = store_get_bool(res, 0, "enabled");
	k->v.nbf = store_get_int(res, 0, "nbf");
	k->v.exp = store_get_int(res, 0, "exp");
	k->v.created = store_get_int(res, 0, "created");
	k->v.updated = store_get_int(res, 0, "updated");
	k->v.tags_json = store_get(res, 0, "tags");
	k->v.recoverable_days = (int)store_get_int(res, 0, "retention_days");
	k->v.purge_protection = store_get_bool(res, 0, "purge_protection");
	k->v.content_type = store_get(res, 0, "content_type");
	k->key_uid = store_get(res, 0, "key_uid");
	k->master_key_id = store_get(res, 0, "master_key_id");
	k->exportable = store_get_bool(res, 0, "exportable");
	if ((er = store_get_bytes(res, 0, "certificate_der", &k->v.der)) !=
	    CV_OK || (er = store_get_bytes(res, 0, "public_key", &k->pub)) !=
	    CV_OK || (er = store_get_bytes(res, 0, "sealed_private_key",
	    &k->sealed)) != CV_OK || (er = store_get_bytes(res, 0, "seal_nonce",
	    &b)) != CV_OK)
		goto out;
	if (b.len == sizeof(k->nonce))
		memcpy(k->nonce, b.data, sizeof(k->nonce));
	free(b.data);
	if ((er = store_get_bytes(res, 0, "x5t", &b)) != CV_OK)
		goto out;
	if (b.len == sizeof(k->v.x5t))
		memcpy(k->v.x5t, b.data, sizeof(k->v.x5t));
	free(b.data);

	p.n = 0;
	store_param_text(&p, PQgetvalue(res, 0, PQfnumber(res, "version_id")));
	if ((er = store_exec(st, STMT_VERSION_CHAIN, &p, &chain)) != CV_OK)
		goto out;
	k->certs = cv_calloc((size_t)PQntuples(chain) + 1, sizeof(*k->certs));
	k->certs[0].data = cv_malloc(k->v.der.len);
	memcpy(k->certs[0].data, k->v.der.data, k->v.der.len);
	k->certs[0].len = k->v.der.len;
	k->ncerts = 1;
	for (i = 0; i < PQntuples(chain); i++, k->ncerts++)
		if ((er = store_get_bytes(chain, i, "der",
		    &k->certs[k->ncerts])) != CV_OK)
			goto out;
out:
	PQclear(chain);
	PQclear(res);
	if (er != CV_OK)
		store_keyed_free(k);
	return er;
}
