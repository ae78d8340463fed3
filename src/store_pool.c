/*
 * certvault — storage of the key pool: keys certvault-worker generated
 * and sealed ahead, one taken per create of that key type, so that a
 * create need not wait for an RSA key.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "certvault.h"
#include "crypto.h"
#include "store.h"
#include "store_int.h"

void
store_pooled_free(struct store_pooled *k)
{

	if (k == NULL)
		return;
	cv_bytes_free(&k->pub);
	cv_bytes_free(&k->sealed);
	free(k->master_key_id);
	memset(k, 0, sizeof(*k));
}

/*
 * Take the oldest pooled key of type spec ("RSA-2048") out of the pool,
 * for good: *found says whether there was one.  The caller frees k with
 * store_pooled_free, also on failure.
 */
enum cv_err
store_pool_take(struct store *st, const char *spec, struct store_pooled *k,
    bool *found)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct cv_bytes		 nonce = { NULL, 0 };
	char			*uid;
	enum cv_err		 er;

	memset(k, 0, sizeof(*k));
	*found = false;
	store_param_text(&p, spec);
	if ((er = store_exec(st, STMT_POOL_TAKE, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 1 &&
	    (uid = store_get(res, 0, "key_uid")) != NULL) {
		snprintf(k->key_uid, sizeof(k->key_uid), "%s", uid);
		free(uid);
		k->master_key_id = store_get(res, 0, "master_key_id");
		if ((er = store_get_bytes(res, 0, "public_key", &k->pub)) ==
		    CV_OK && (er = store_get_bytes(res, 0,
		    "sealed_private_key", &k->sealed)) == CV_OK &&
		    (er = store_get_bytes(res, 0, "seal_nonce", &nonce)) ==
		    CV_OK && nonce.len == sizeof(k->nonce)) {
			memcpy(k->nonce, nonce.data, sizeof(k->nonce));
			*found = true;
		}
		cv_bytes_free(&nonce);
	}
	PQclear(res);
	return er;
}

/* How many keys of type spec the pool holds. */
enum cv_err
store_pool_count(struct store *st, const char *spec, int64_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*n = 0;
	store_param_text(&p, spec);
	if ((er = store_exec(st, STMT_POOL_COUNT, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 1)
		*n = store_get_int(res, 0, "n");
	PQclear(res);
	return CV_OK;
}

/*
 * Add key k, of type spec, sealed, to the pool if it holds fewer than
 * size keys of that type; *added says whether it went in.  Counting and
 * adding happen under a lock per type (STMT_POOL_LOCK) in one
 * transaction, so that workers on any number of hosts, each with its own
 * count from before it generated its key, never take the pool past size
 * (a key that finds the pool full is dropped: it was never given out).
 * A worker killed at any point leaves the key either in the pool, whole,
 * or nowhere.
 */
enum cv_err
store_pool_put(struct store *st, const struct cv_keyspec *spec,
    const struct store_pooled *k, int64_t size, bool *added)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*added = false;
	if ((er = store_begin(st)) != CV_OK)
		return er;
	store_param_text(&p, crypto_keyspec_name(spec));
	if ((er = store_exec(st, STMT_POOL_LOCK, &p, &res)) != CV_OK)
		goto out;
	PQclear(res);
	p.n = 0;
	store_param_text(&p, k->key_uid);
	store_param_text(&p, spec->kty == CV_KTY_RSA ? "RSA" : "EC");
	store_param_int(&p, spec->bits);
	/* "EC-P-256" → "P-256" */
	store_param_text(&p, spec->kty == CV_KTY_EC ?
	    crypto_keyspec_name(spec) + 3 : NULL);
	store_param_bytes(&p, k->pub.data, (int)k->pub.len);
	store_param_bytes(&p, k->sealed.data, (int)k->sealed.len);
	store_param_bytes(&p, k->nonce, sizeof(k->nonce));
	store_param_text(&p, k->master_key_id);
	store_param_text(&p, crypto_keyspec_name(spec));
	store_param_int(&p, size);
	if ((er = store_exec(st, STMT_POOL_PUT, &p, &res)) != CV_OK)
		goto out;
	*added = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if ((er = store_commit(st)) != CV_OK)
		*added = false;
out:
	store_rollback(st);
	return er;
}
