/*
 * certvault — storage of ACME issuers' accounts and of the http-01
 * answers certvault-fcgi serves.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

static void
sealed_free(struct store_sealed *s)
{

	free(s->sealed.data);
	free(s->master_key_id);
	memset(s, 0, sizeof(*s));
}

void
store_acme_account_free(struct store_acme_account *a)
{

	if (a == NULL)
		return;
	free(a->directory_url);
	free(a->account_url);
	sealed_free(&a->key);
	sealed_free(&a->eab_mac);
	memset(a, 0, sizeof(*a));
}

/* The sealed secret in columns PREFIX_uid, _sealed, _nonce, _master. */
static enum cv_err
sealed_get(const PGresult *res, const char *prefix, struct store_sealed *s)
{
	struct cv_bytes	 nonce = { NULL, 0 };
	char		 col[32], *v;
	enum cv_err	 er;

	snprintf(col, sizeof(col), "%s_uid", prefix);
	if ((v = store_get(res, 0, col)) == NULL)
		return CV_OK;
	snprintf(s->uid, sizeof(s->uid), "%s", v);
	free(v);
	snprintf(col, sizeof(col), "%s_master", prefix);
	s->master_key_id = store_get(res, 0, col);
	snprintf(col, sizeof(col), "%s_sealed", prefix);
	if ((er = store_get_bytes(res, 0, col, &s->sealed)) != CV_OK)
		return er;
	snprintf(col, sizeof(col), "%s_nonce", prefix);
	if ((er = store_get_bytes(res, 0, col, &nonce)) == CV_OK &&
	    nonce.len == sizeof(s->nonce))
		memcpy(s->nonce, nonce.data, sizeof(s->nonce));
	free(nonce.data);
	return er;
}

/*
 * The account of ACME issuer issuer_id as stored (fields empty for what
 * is not yet there).  CV_ERR_NOT_FOUND if the issuer is gone.  The
 * caller frees a with store_acme_account_free, also on failure.
 */
enum cv_err
store_acme_account_get(struct store *st, int64_t issuer_id,
    struct store_acme_account *a)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	memset(a, 0, sizeof(*a));
	store_param_int(&p, issuer_id);
	if ((er = store_exec(st, STMT_ACME_ACCOUNT_GET, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_NOT_FOUND;
	}
	a->directory_url = store_get(res, 0, "directory_url");
	a->account_url = store_get(res, 0, "account_url");
	if ((er = sealed_get(res, "key", &a->key)) == CV_OK)
		er = sealed_get(res, "pwd", &a->eab_mac);
	PQclear(res);
	return er;
}

/*
 * Store the account key of issuer issuer_id, sealed, unless one is
 * stored already (then this one is dropped: read it back).
 */
enum cv_err
store_acme_key_put(struct store *st, int64_t issuer_id,
    const struct store_issuer_secret *s)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_text(&p, s->uid);
	store_param_int(&p, issuer_id);
	store_param_bytes(&p, s->sealed->data, (int)s->sealed->len);
	store_param_bytes(&p, s->nonce, 12);
	store_param_text(&p, s->master_key_id);
	if ((er = store_exec(st, STMT_ACME_KEY_PUT, &p, &res)) == CV_OK)
		PQclear(res);
	return er;
}

/* The account of issuer issuer_id is account_url at directory_url. */
enum cv_err
store_acme_account_put(struct store *st, int64_t issuer_id,
    const char *directory_url, const char *account_url)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, issuer_id);
	store_param_text(&p, directory_url);
	store_param_text(&p, account_url);
	if ((er = store_exec(st, STMT_ACME_ACCOUNT_PUT, &p, &res)) == CV_OK)
		PQclear(res);
	return er;
}

/* Publish the http-01 answer keyauth for token of operation op_id. */
enum cv_err
store_acme_challenge_put(struct store *st, int64_t op_id, const char *token,
    const char *keyauth, const char *identifier)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_text(&p, token);
	store_param_text(&p, keyauth);
	store_param_int(&p, op_id);
	store_param_text(&p, identifier);
	if ((er = store_exec(st, STMT_ACME_CHALLENGE_PUT, &p, &res)) == CV_OK)
		PQclear(res);
	return er;
}

/*
 * The http-01 answer for token into *keyauth (caller frees).
 * CV_ERR_NOT_FOUND if none is published.
 */
enum cv_err
store_acme_challenge_get(struct store *st, const char *token, char **keyauth)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*keyauth = NULL;
	store_param_text(&p, token);
	if ((er = store_exec(st, STMT_ACME_CHALLENGE_GET, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 1)
		*keyauth = store_get(res, 0, "key_authorization");
	PQclear(res);
	return *keyauth != NULL ? CV_OK : CV_ERR_NOT_FOUND;
}

/* Withdraw the http-01 answers of operation op_id. */
enum cv_err
store_acme_challenges_clear(struct store *st, int64_t op_id)
{

	return store_exec_id(st, STMT_ACME_CHALLENGES_CLEAR, op_id, NULL);
}
