/*
 * certvault — storage side of a master key rotation: the sealed rows of
 * keys, key_pool and issuer_credentials, a batch at a time.
 * SPDX-License-Identifier: ISC
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

static const char *const table_names[STORE_RESEAL__MAX] = {
	[STORE_RESEAL_KEYS] = "keys",
	[STORE_RESEAL_POOL] = "key_pool",
	[STORE_RESEAL_CREDENTIALS] = "issuer_credentials",
};

static const enum stmt picks[STORE_RESEAL__MAX] = {
	[STORE_RESEAL_KEYS] = STMT_RESEAL_KEYS_PICK,
	[STORE_RESEAL_POOL] = STMT_RESEAL_POOL_PICK,
	[STORE_RESEAL_CREDENTIALS] = STMT_RESEAL_CRED_PICK,
};

static const enum stmt stores[STORE_RESEAL__MAX] = {
	[STORE_RESEAL_KEYS] = STMT_RESEAL_KEYS_PUT,
	[STORE_RESEAL_POOL] = STMT_RESEAL_POOL_PUT,
	[STORE_RESEAL_CREDENTIALS] = STMT_RESEAL_CRED_PUT,
};

/* The SQL name of table t. */
const char *
store_reseal_table_name(enum store_reseal_table t)
{

	return t < STORE_RESEAL__MAX ? table_names[t] : "?";
}

void
store_reseal_rows_free(struct store_reseal_row *rows, size_t n)
{
	size_t	 i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++) {
		cv_bytes_free(&rows[i].sealed);
		free(rows[i].master_key_id);
	}
	free(rows);
}

/*
 * An array literal for a parameter: "{a,b}" of the master key ids (16
 * hex characters: nothing to quote), or of the row ids.  The caller
 * frees it.
 */
static char *
array_text(const char *const *ids, size_t nids)
{
	char	*s, *t;
	size_t	 i;

	s = cv_strdup("{");
	for (i = 0; i < nids; i++) {
		t = cv_asprintf("%s%s%s", s, i > 0 ? "," : "", ids[i]);
		free(s);
		s = t;
	}
	t = cv_asprintf("%s}", s);
	free(s);
	return t;
}

static char *
array_int(const int64_t *v, size_t n)
{
	char	*s, *t;
	size_t	 i;

	s = cv_strdup("{");
	for (i = 0; i < n; i++) {
		t = cv_asprintf("%s%s%lld", s, i > 0 ? "," : "",
		    (long long)v[i]);
		free(s);
		s = t;
	}
	t = cv_asprintf("%s}", s);
	free(s);
	return t;
}

/*
 * Lock and read up to limit rows of table t whose id is above after,
 * sealed under one of the master keys old[0 … nold-1], leaving out the
 * rows skip[0 … nskip-1] and any row another transaction holds.  Run it
 * inside the caller's transaction: the rows stay locked until its end.
 * *rows (store_reseal_rows_free) holds *n rows in id order.
 */
enum cv_err
store_reseal_pick(struct store *st, enum store_reseal_table t,
    const char *const *old, size_t nold, const int64_t *skip, size_t nskip,
    int64_t after, int limit, struct store_reseal_row **rows, size_t *n)
{
	PGresult		*res = NULL;
	struct store_params	 p = { 0 };
	struct store_reseal_row	*r;
	struct cv_bytes		 nonce = { NULL, 0 };
	char			*olds, *skips, *uid;
	enum cv_err		 er;
	int			 i, nt;

	*rows = NULL;
	*n = 0;
	olds = array_text(old, nold);
	skips = array_int(skip, nskip);
	store_param_text(&p, olds);
	store_param_text(&p, skips);
	store_param_int(&p, limit);
	store_param_int(&p, after);
	er = store_exec(st, picks[t], &p, &res);
	free(olds);
	free(skips);
	if (er != CV_OK)
		return er;
	nt = PQntuples(res);
	if (nt > 0)
		*rows = cv_calloc((size_t)nt, sizeof(**rows));
	for (i = 0; i < nt; i++) {
		r = &(*rows)[i];
		*n = (size_t)i + 1;
		r->id = store_get_int(res, i, "id");
		if ((uid = store_get(res, i, "uid")) != NULL) {
			snprintf(r->uid, sizeof(r->uid), "%s", uid);
			free(uid);
		}
		r->master_key_id = store_get(res, i, "master_key_id");
		if ((er = store_get_bytes(res, i, "sealed", &r->sealed)) !=
		    CV_OK ||
		    (er = store_get_bytes(res, i, "nonce", &nonce)) != CV_OK)
			break;
		if (nonce.len == sizeof(r->nonce))
			memcpy(r->nonce, nonce.data, sizeof(r->nonce));
		cv_bytes_free(&nonce);
	}
	cv_bytes_free(&nonce);
	PQclear(res);
	if (er != CV_OK) {
		store_reseal_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	return er;
}

/*
 * Store row r of table t sealed again: sealed with nonce under master
 * key new_id, if it is still under the key it was read with (it is, when
 * it was locked by store_reseal_pick in this transaction).
 * CV_ERR_CONFLICT if it was not.
 */
enum cv_err
store_reseal_put(struct store *st, enum store_reseal_table t,
    const struct store_reseal_row *r, const struct cv_bytes *sealed,
    const unsigned char *nonce, const char *new_id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, r->id);
	store_param_bytes(&p, sealed->data, (int)sealed->len);
	store_param_bytes(&p, nonce, CV_SEAL_NONCE_LEN);
	store_param_text(&p, new_id);
	store_param_text(&p, r->master_key_id);
	if ((er = store_exec(st, stores[t], &p, &res)) != CV_OK)
		return er;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		er = CV_ERR_CONFLICT;
	PQclear(res);
	return er;
}

void
store_reseal_left_free(struct store_reseal_left *l, size_t n)
{
	size_t	 i;

	if (l == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(l[i].table);
		free(l[i].master_key_id);
		free(l[i].ids);
	}
	free(l);
}

/*
 * What is sealed under another key than current, per table and master
 * key id, with the first row ids of each (store_reseal_left_free).
 */
enum cv_err
store_reseal_left(struct store *st, const char *current,
    struct store_reseal_left **left, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	int			 i, nt;

	*left = NULL;
	*n = 0;
	store_param_text(&p, current);
	if ((er = store_exec(st, STMT_RESEAL_LEFT, &p, &res)) != CV_OK)
		return er;
	if ((nt = PQntuples(res)) > 0)
		*left = cv_calloc((size_t)nt, sizeof(**left));
	for (i = 0; i < nt; i++) {
		(*left)[i].table = store_get(res, i, "t");
		(*left)[i].master_key_id = store_get(res, i, "master_key_id");
		(*left)[i].n = store_get_int(res, i, "n");
		(*left)[i].ids = store_get(res, i, "ids");
	}
	*n = (size_t)nt;
	PQclear(res);
	return CV_OK;
}
