/*
 * certvault — soft-deleted certificates, and the rows of a backup.
 * SPDX-License-Identifier: ISC
 *
 * Delete, recover and purge change a certificate under its row lock
 * (store_deleted_lock) in the caller's transaction.  A backup is read
 * under a share lock, so no create, merge or delete changes it half-way;
 * a restore writes everything in the caller's transaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "crypto.h"
#include "store.h"
#include "store_int.h"

/*
 * Lock the certificate name of the vault FOR UPDATE for the rest of the
 * caller's transaction.  lk->exists is false when there is no such row.
 */
enum cv_err
store_deleted_lock(struct store *st, int64_t vault_id, const char *name,
    struct store_del_lock *lk)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	memset(lk, 0, sizeof(*lk));
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_DELETED_LOCK, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 1) {
		lk->exists = true;
		lk->cert_id = store_get_int(res, 0, "cert_id");
		lk->deleted = store_get_bool(res, 0, "deleted");
		lk->purge_protection = store_get_bool(res, 0,
		    "purge_protection");
	}
	PQclear(res);
	return CV_OK;
}

/*
 * Soft-delete certificate cert_id now, to be purged after the vault's
 * retention; recovery_id is 32 random hex characters.
 */
enum cv_err
store_deleted_mark(struct store *st, int64_t cert_id, const char *recovery_id)
{

	return store_exec_id(st, STMT_DELETED_MARK, cert_id, recovery_id);
}

/* Make the soft-deleted certificate cert_id live again. */
enum cv_err
store_deleted_recover(struct store *st, int64_t cert_id)
{

	return store_exec_id(st, STMT_DELETED_RECOVER, cert_id, NULL);
}

/* Remove the soft-deleted certificate cert_id and, by cascade, its parts. */
enum cv_err
store_deleted_purge(struct store *st, int64_t cert_id)
{

	return store_exec_id(st, STMT_DELETED_PURGE, cert_id, NULL);
}

/*
 * The latest version of the soft-deleted certificate name as a
 * DeletedCertificateBundle shows it, and when it was deleted and will be
 * purged (*d).  CV_ERR_CERT_NOT_FOUND if there is none.
 */
enum cv_err
store_deleted_get(struct store *st, int64_t vault_id, const char *name,
    struct cv_version *v, struct store_deleted *d)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	memset(v, 0, sizeof(*v));
	memset(d, 0, sizeof(*d));
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_DELETED_GET, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_CERT_NOT_FOUND;
	}
	if ((er = store_version_row(res, 0, v)) == CV_OK) {
		d->deleted = store_get_int(res, 0, "deleted");
		d->scheduled_purge = store_get_int(res, 0, "scheduled_purge");
	} else
		cv_version_free(v);
	PQclear(res);
	return er;
}

/*
 * List up to limit soft-deleted certificates of a vault whose names sort
 * after after (NULL: from the start), in name order (keyset pagination).
 * Those whose only version is pending are listed with include_pending.
 */
enum cv_err
store_deleted_list(struct store *st, int64_t vault_id, const char *after,
    int limit, bool include_pending, struct cv_deleted_item **items,
    size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct cv_deleted_item	*it;
	enum cv_err		 er;
	int			 i;

	*items = NULL;
	*n = 0;
	store_param_int(&p, vault_id);
	store_param_text(&p, after);
	store_param_int(&p, limit);
	store_param_bool(&p, include_pending);
	if ((er = store_exec(st, STMT_DELETED_LIST, &p, &res)) != CV_OK)
		return er;
	*items = cv_calloc((size_t)PQntuples(res), sizeof(**items));
	for (i = 0; i < PQntuples(res); i++) {
		it = &(*items)[i];
		it->item.name = store_get(res, i, "name");
		it->item.x5t = store_get(res, i, "x5t");
		it->item.enabled = store_get_bool(res, i, "enabled");
		it->item.nbf = store_get_int(res, i, "nbf");
		it->item.exp = store_get_int(res, i, "exp");
		it->item.created = store_get_int(res, i, "created");
		it->item.updated = store_get_int(res, i, "updated");
		it->item.tags_json = store_get(res, i, "tags");
		it->deleted = store_get_int(res, i, "deleted");
		it->scheduled_purge = store_get_int(res, i, "scheduled_purge");
		it->recoverable_days = (int)store_get_int(res, i,
		    "retention_days");
		it->purge_protection = store_get_bool(res, i,
		    "purge_protection");
	}
	*n = (size_t)PQntuples(res);
	PQclear(res);
	return CV_OK;
}

/* Read the keys of certificate cert_id into b, sealed as stored. */
static enum cv_err
backup_keys(struct store *st, int64_t cert_id, struct cv_backup *b)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct cv_backup_key	*k;
	struct cv_bytes		 nonce;
	char			*s;
	enum cv_err		 er;
	int			 i;

	store_param_int(&p, cert_id);
	if ((er = store_exec(st, STMT_BACKUP_KEYS, &p, &res)) != CV_OK)
		return er;
	b->keys = cv_calloc((size_t)PQntuples(res), sizeof(*b->keys));
	b->nkeys = (size_t)PQntuples(res);
	for (i = 0; i < PQntuples(res); i++) {
		k = &b->keys[i];
		k->id = store_get_int(res, i, "id");
		if ((s = store_get(res, i, "key_uid")) != NULL) {
			snprintf(k->uid, sizeof(k->uid), "%s", s);
			free(s);
		}
		k->kty = store_get(res, i, "kty");
		k->key_size = (unsigned)store_get_int(res, i, "key_size");
		k->curve = store_get(res, i, "curve");
		k->exportable = store_get_bool(res, i, "exportable");
		k->master_key_id = store_get(res, i, "master_key_id");
		k->created = store_get_int(res, i, "created");
		if ((er = store_get_bytes(res, i, "public_key", &k->pub)) !=
		    CV_OK || (er = store_get_bytes(res, i,
		    "sealed_private_key", &k->sealed)) != CV_OK ||
		    (er = store_get_bytes(res, i, "seal_nonce", &nonce)) !=
		    CV_OK)
			break;
		if (nonce.len != sizeof(k->nonce)) {
			cv_bytes_free(&nonce);
			er = CV_ERR_INTERNAL;
			break;
		}
		memcpy(k->nonce, nonce.data, sizeof(k->nonce));
		cv_bytes_free(&nonce);
	}
	PQclear(res);
	return er;
}

/* Index in b->keys of the key whose row id is key_id, or -1. */
static long
key_index(const struct cv_backup *b, int64_t key_id)
{
	size_t	 i;

	for (i = 0; i < b->nkeys; i++)
		if (b->keys[i].id == key_id)
			return (long)i;
	return -1;
}

/* Read the versions of certificate cert_id into b, oldest first. */
static enum cv_err
backup_versions(struct store *st, int64_t cert_id, struct cv_backup *b)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct cv_backup_version *v;
	char			*s;
	long			 k;
	enum cv_err		 er = CV_OK;
	int			 i;

	store_param_int(&p, cert_id);
	if ((er = store_exec(st, STMT_BACKUP_VERSIONS, &p, &res)) != CV_OK)
		return er;
	b->versions = cv_calloc((size_t)PQntuples(res), sizeof(*b->versions));
	b->nversions = (size_t)PQntuples(res);
	for (i = 0; i < PQntuples(res); i++) {
		v = &b->versions[i];
		v->id = store_get_int(res, i, "id");
		if ((s = store_get(res, i, "version")) != NULL) {
			snprintf(v->version, sizeof(v->version), "%s", s);
			free(s);
		}
		if ((k = key_index(b, store_get_int(res, i, "key_id"))) < 0) {
			er = CV_ERR_INTERNAL;
			break;
		}
		v->key = (size_t)k;
		v->subject = store_get(res, i, "subject");
		v->nbf = store_get_int(res, i, "nbf");
		v->exp = store_get_int(res, i, "exp");
		v->enabled = store_get_bool(res, i, "enabled");
		v->tags_json = store_get(res, i, "tags");
		v->content_type = store_get(res, i, "content_type");
		v->preserve_cert_order = store_get_bool(res, i,
		    "preserve_cert_order");
		v->created = store_get_int(res, i, "created");
		v->updated = store_get_int(res, i, "updated");
		if ((er = store_get_bytes(res, i, "certificate_der", &v->der)) !=
		    CV_OK || (er = store_get_bytes(res, i, "x5t", &v->x5t)) !=
		    CV_OK || (er = store_get_bytes(res, i, "serial_number",
		    &v->serial)) != CV_OK)
			break;
	}
	PQclear(res);
	return er;
}

/* Read the chains (issuers of each leaf, in order) into b's versions. */
static enum cv_err
backup_chains(struct store *st, int64_t cert_id, struct cv_backup *b)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct cv_backup_version *v = NULL;
	int64_t			 vid;
	size_t			 j;
	enum cv_err		 er;
	int			 i;

	store_param_int(&p, cert_id);
	if ((er = store_exec(st, STMT_BACKUP_CHAINS, &p, &res)) != CV_OK)
		return er;
	for (i = 0; i < PQntuples(res); i++) {
		vid = store_get_int(res, i, "version_id");
		if (v == NULL || v->id != vid) {
			for (v = NULL, j = 0; j < b->nversions; j++)
				if (b->versions[j].id == vid)
					v = &b->versions[j];
			if (v == NULL) {
				er = CV_ERR_INTERNAL;
				break;
			}
		}
		v->chain = cv_realloc(v->chain, (v->nchain + 1) *
		    sizeof(*v->chain));
		if ((er = store_get_bytes(res, i, "der",
		    &v->chain[v->nchain])) != CV_OK)
			break;
		v->nchain++;
	}
	PQclear(res);
	return er;
}

/*
 * Read everything a backup of the live certificate name holds into b:
 * the certificate row, its keys (still sealed: b->keys[].sealed, nonce,
 * uid, master_key_id; priv stays empty), its versions oldest first and
 * their chains, in one transaction under a share lock of the row.
 * CV_ERR_CERT_NOT_FOUND if there is no such live certificate or it has
 * no version.  On failure b is released.
 */
enum cv_err
store_backup_read(struct store *st, int64_t vault_id, const char *name,
    struct cv_backup *b)
{
	PGresult		*res = NULL;
	struct store_params	 p = { 0 };
	int64_t			 cert_id;
	enum cv_err		 er;

	memset(b, 0, sizeof(*b));
	if ((er = store_begin(st)) != CV_OK)
		return er;
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_BACKUP_CERT, &p, &res)) != CV_OK)
		goto out;
	if (PQntuples(res) == 0) {
		er = CV_ERR_CERT_NOT_FOUND;
		goto out;
	}
	cert_id = store_get_int(res, 0, "id");
	b->name = store_get(res, 0, "name");
	b->policy_json = store_get(res, 0, "policy");
	b->tags_json = store_get(res, 0, "tags");
	b->created = store_get_int(res, 0, "created");
	b->updated = store_get_int(res, 0, "updated");
	b->policy_updated = store_get_int(res, 0, "policy_updated");
	if ((er = backup_keys(st, cert_id, b)) != CV_OK ||
	    (er = backup_versions(st, cert_id, b)) != CV_OK ||
	    (er = backup_chains(st, cert_id, b)) != CV_OK)
		goto out;
	if (b->nversions == 0) {
		er = CV_ERR_CERT_NOT_FOUND;
		goto out;
	}
	er = store_commit(st);
out:
	PQclear(res);
	store_rollback(st);
	if (er != CV_OK)
		cv_backup_free(b);
	return er;
}

/* Insert key k of certificate cert_id; *id receives its row id. */
static enum cv_err
restore_key(struct store *st, int64_t cert_id, const struct cv_backup_key *k,
    const char *master_key_id, int64_t *id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_text(&p, k->uid);
	store_param_int(&p, cert_id);
	store_param_text(&p, k->kty);
	store_param_int(&p, k->key_size);
	store_param_text(&p, k->curve);
	store_param_bool(&p, k->exportable);
	store_param_bytes(&p, k->pub.data, (int)k->pub.len);
	store_param_bytes(&p, k->sealed.data, (int)k->sealed.len);
	store_param_bytes(&p, k->nonce, (int)sizeof(k->nonce));
	store_param_text(&p, master_key_id);
	store_param_int(&p, k->created);
	if ((er = store_exec(st, STMT_RESTORE_KEY, &p, &res)) != CV_OK)
		return er;
	*id = store_get_int(res, 0, "id");
	PQclear(res);
	return CV_OK;
}

/* Insert version v (key row key_id) of certificate cert_id, its chain too. */
static enum cv_err
restore_version(struct store *st, int64_t cert_id,
    const struct cv_backup_version *v, int64_t key_id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	int64_t			 id;
	enum cv_err		 er;
	bool			 issued = v->der.len > 0;

	store_param_int(&p, cert_id);
	store_param_text(&p, v->version);
	store_param_int(&p, key_id);
	store_param_bytes_or_null(&p, &v->der);
	store_param_bytes_or_null(&p, &v->x5t);
	store_param_bytes_or_null(&p, &v->serial);
	store_param_text(&p, v->subject);
	if (issued) {
		store_param_int(&p, v->nbf);
		store_param_int(&p, v->exp);
	} else {
		store_param_text(&p, NULL);
		store_param_text(&p, NULL);
	}
	store_param_bool(&p, v->enabled);
	store_param_text(&p, v->tags_json);
	store_param_text(&p, v->content_type);
	store_param_bool(&p, v->preserve_cert_order);
	store_param_int(&p, v->created);
	store_param_int(&p, v->updated);
	if ((er = store_exec(st, STMT_RESTORE_VERSION, &p, &res)) != CV_OK)
		return er;
	id = store_get_int(res, 0, "id");
	PQclear(res);
	if ((er = store_chain_append(st, id, v->chain, v->nchain)) != CV_OK)
		return er;
	return CV_OK;
}

/*
 * In the caller's transaction: insert the certificate of backup b into
 * the vault, with its keys (already sealed again: b->keys[].sealed,
 * nonce and a new uid, under master_key_id) and its versions with their
 * ids and timestamps.  CV_ERR_CONFLICT if the name exists, live or
 * soft-deleted; then nothing is written.
 */
enum cv_err
store_backup_write(struct store *st, int64_t vault_id,
    const struct cv_backup *b, const char *master_key_id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	int64_t			 cert_id, *key_ids;
	size_t			 i;
	enum cv_err		 er = CV_OK;

	store_param_int(&p, vault_id);
	store_param_text(&p, b->name);
	store_param_text(&p, b->policy_json);
	store_param_text(&p, b->tags_json);
	store_param_int(&p, b->created);
	store_param_int(&p, b->updated);
	store_param_int(&p, b->policy_updated);
	if ((er = store_exec(st, STMT_RESTORE_CERT, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_CONFLICT;
	}
	cert_id = store_get_int(res, 0, "id");
	PQclear(res);
	key_ids = cv_calloc(b->nkeys, sizeof(*key_ids));
	for (i = 0; i < b->nkeys && er == CV_OK; i++)
		er = restore_key(st, cert_id, &b->keys[i], master_key_id,
		    &key_ids[i]);
	for (i = 0; i < b->nversions && er == CV_OK; i++)
		er = restore_version(st, cert_id, &b->versions[i],
		    key_ids[b->versions[i].key]);
	free(key_ids);
	return er;
}

/*
 * The release functions of the shapes above (certvault.h), here beside
 * their main producer; kv_json_backup_parse() fills a cv_backup too.
 */
void
cv_deleted_items_free(struct cv_deleted_item *items, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(items[i].item.name);
		free(items[i].item.version);
		free(items[i].item.x5t);
		free(items[i].item.tags_json);
	}
	free(items);
}

/* Release b, wiping every private key in it; accepts an empty b. */
void
cv_backup_free(struct cv_backup *b)
{
	struct cv_backup_version *v;
	size_t			 i, j;

	if (b == NULL)
		return;
	for (i = 0; i < b->nkeys; i++) {
		free(b->keys[i].kty);
		free(b->keys[i].curve);
		free(b->keys[i].master_key_id);
		cv_bytes_free(&b->keys[i].pub);
		cv_bytes_free(&b->keys[i].priv);
		cv_bytes_free(&b->keys[i].sealed);
	}
	free(b->keys);
	for (i = 0; i < b->nversions; i++) {
		v = &b->versions[i];
		cv_bytes_free(&v->der);
		for (j = 0; j < v->nchain; j++)
			cv_bytes_free(&v->chain[j]);
		free(v->chain);
		cv_bytes_free(&v->x5t);
		cv_bytes_free(&v->serial);
		free(v->subject);
		free(v->tags_json);
		free(v->content_type);
	}
	free(b->versions);
	free(b->name);
	free(b->policy_json);
	free(b->tags_json);
	memset(b, 0, sizeof(*b));
}
