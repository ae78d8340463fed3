/*
 * certvault — lifetime actions: which are due, the claim, the record.
 * SPDX-License-Identifier: ISC
 *
 * A lifetime action runs under the certificate's row lock, taken with
 * FOR UPDATE SKIP LOCKED, and its run is recorded in lifetime_action_runs
 * in the transaction that carries out its effect; the row's unique key
 * (version, action, trigger) makes each one happen once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/* Free n candidates of store_lifetime_scan(); c may be NULL. */
void
store_lifetime_cands_free(struct store_lifetime_cand *c, size_t n)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(c[i].vault);
		free(c[i].host);
		free(c[i].name);
		free(c[i].policy_json);
		free(c[i].version);
		free(c[i].tags_json);
		free(c[i].done);
	}
	free(c);
}

/*
 * Up to limit live certificates with lifetime actions, in id order after
 * the id after, whose latest issued version was valid as of as_of (Unix
 * seconds): the candidates, no lock taken.  vault and name (NULL: any)
 * narrow the scan.  The caller frees *out with store_lifetime_cands_free.
 */
enum cv_err
store_lifetime_scan(struct store *st, const char *vault, const char *name,
    int64_t as_of, int64_t after, int limit, struct store_lifetime_cand **out,
    size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct store_lifetime_cand *c;
	enum cv_err		 er;
	int			 i;

	*out = NULL;
	*n = 0;
	store_param_int(&p, after);
	store_param_text(&p, vault);
	store_param_text(&p, name);
	store_param_int(&p, as_of);
	store_param_int(&p, limit);
	if ((er = store_exec(st, STMT_LIFETIME_SCAN, &p, &res)) != CV_OK)
		return er;
	c = cv_calloc((size_t)PQntuples(res) + 1, sizeof(*c));
	for (i = 0; i < PQntuples(res); i++) {
		c[i].cert_id = store_get_int(res, i, "cert_id");
		c[i].vault_id = store_get_int(res, i, "vault_id");
		c[i].version_id = store_get_int(res, i, "version_id");
		c[i].vault = store_get(res, i, "vault");
		c[i].host = store_get(res, i, "host");
		c[i].name = store_get(res, i, "name");
		c[i].policy_json = store_get(res, i, "policy");
		c[i].version = store_get(res, i, "version");
		c[i].tags_json = store_get(res, i, "tags");
		c[i].done = store_get(res, i, "done");
		c[i].nbf = store_get_int(res, i, "nbf");
		c[i].exp = store_get_int(res, i, "exp");
		c[i].in_progress = store_get_bool(res, i, "in_progress");
	}
	*out = c;
	*n = (size_t)PQntuples(res);
	PQclear(res);
	return CV_OK;
}

/*
 * In the caller's transaction: lock the certificate cert_id unless
 * another worker holds it, then look again, with what committed before
 * the lock was ours, whether action (trigger) of version version_id is
 * still to do: the certificate live, that version still its latest issued
 * one, no final or backing-off run recorded.  *state says STORE_LT_BUSY
 * (leave it), STORE_LT_IN_PROGRESS (to do, but an operation is in
 * progress) or STORE_LT_CLAIMED.
 */
enum cv_err
store_lifetime_claim(struct store *st, int64_t cert_id, int64_t version_id,
    const char *action, const char *trigger, enum store_lt_state *state)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*state = STORE_LT_BUSY;
	store_param_int(&p, cert_id);
	if ((er = store_exec(st, STMT_LIFETIME_CLAIM, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_OK;
	}
	PQclear(res);
	/* A new statement: its snapshot sees what the lock's holder did. */
	store_param_int(&p, version_id);
	store_param_text(&p, action);
	store_param_text(&p, trigger);
	if ((er = store_exec(st, STMT_LIFETIME_CHECK, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 1 && store_get_bool(res, 0, "latest") &&
	    !store_get_bool(res, 0, "done"))
		*state = store_get_bool(res, 0, "in_progress") ?
		    STORE_LT_IN_PROGRESS : STORE_LT_CLAIMED;
	PQclear(res);
	return CV_OK;
}

/*
 * In the caller's transaction: record run r (a first attempt, or the next
 * one of a failed run).  Outcome "error" schedules another attempt, one
 * minute after the first failure, doubling up to an hour; *attempts and
 * *next (Unix seconds, 0 if none) say what was recorded when not NULL.
 * CV_ERR_CONFLICT if a final run is already recorded.
 */
enum cv_err
store_lifetime_record(struct store *st, const struct store_lifetime_run *r,
    int *attempts, int64_t *next)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, r->cert_id);
	store_param_int(&p, r->version_id);
	store_param_text(&p, r->action);
	store_param_text(&p, r->trigger);
	store_param_int(&p, r->due);
	store_param_int(&p, r->as_of);
	store_param_text(&p, r->outcome);
	store_param_text(&p, r->details);
	store_param_text(&p, r->recipients);
	store_param_text(&p, r->new_version);
	store_param_text(&p, r->error);
	if ((er = store_exec(st, STMT_LIFETIME_RECORD, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0)
		er = CV_ERR_CONFLICT;
	else {
		if (attempts != NULL)
			*attempts = (int)store_get_int(res, 0, "attempts");
		if (next != NULL)
			*next = store_get_int(res, 0, "next_attempt");
	}
	PQclear(res);
	return er;
}

/*
 * In the caller's transaction, after store_cert_new_version(): the
 * certificate's operation was started by a lifetime action.
 */
enum cv_err
store_lifetime_autorenew(struct store *st, int64_t cert_id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, cert_id);
	if ((er = store_exec(st, STMT_LIFETIME_ORIGIN, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	return CV_OK;
}
