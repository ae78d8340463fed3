/*
 * certvault — issuer-backed operations: claimed and carried out by
 * certvault-worker, approved or rejected by certvault-admin, and the
 * LocalCA's CA.  SPDX-License-Identifier: ISC
 *
 * A claim is one statement of its own (a lease: next_attempt_at moves on
 * by the lease time); the worker then does the provider's work with no
 * transaction open, and writes the outcome under the certificate's row
 * lock (store_cert_lock), so that exactly one outcome lands per
 * operation whatever dies in between.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "crypto.h"
#include "store.h"
#include "store_int.h"

void
store_claim_free(struct store_claim *cl)
{

	if (cl == NULL)
		return;
	free(cl->vault_name);
	free(cl->cert_name);
	free(cl->issuer_name);
	free(cl->issuer_provider);
	free(cl->csr.data);
	free(cl->provider_state);
	memset(cl, 0, sizeof(*cl));
}

/*
 * Claim the issuer-backed operation that has been due longest for the
 * worker who ("host:pid") for lease seconds: its attempts go up by one
 * and it is not due again before the lease runs out.  *found is false
 * when nothing is due; cl is filled otherwise (caller frees with
 * store_claim_free, also on failure).
 */
enum cv_err
store_issue_claim(struct store *st, const char *who, int lease,
    struct store_claim *cl, bool *found)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			*s;
	enum cv_err		 er;

	memset(cl, 0, sizeof(*cl));
	*found = false;
	store_param_text(&p, who);
	store_param_int(&p, lease);
	if ((er = store_exec(st, STMT_ISSUE_CLAIM, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 1) {
		*found = true;
		cl->op_id = store_get_int(res, 0, "op_id");
		if ((s = store_get(res, 0, "request_id")) != NULL) {
			snprintf(cl->request_id, sizeof(cl->request_id), "%s",
			    s);
			free(s);
		}
		cl->vault_id = store_get_int(res, 0, "vault_id");
		cl->vault_name = store_get(res, 0, "vault_name");
		cl->cert_name = store_get(res, 0, "cert_name");
		cl->issuer_name = store_get(res, 0, "issuer_name");
		cl->issuer_provider = store_get(res, 0, "issuer_provider");
		cl->cancellation_requested = store_get_bool(res, 0,
		    "cancellation_requested");
		cl->approved = store_get_bool(res, 0, "approved");
		cl->attempts = (int)store_get_int(res, 0, "attempts");
		cl->provider_state = store_get(res, 0, "provider_state");
		er = store_get_bytes(res, 0, "csr", &cl->csr);
	}
	PQclear(res);
	return er;
}

/*
 * A transient failure of operation op_id (what, for the operator): it is
 * due again after 2^attempts seconds, at most five minutes.  Nothing
 * happens if it is no longer in progress.
 */
enum cv_err
store_issue_retry(struct store *st, int64_t op_id, const char *what)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, op_id);
	store_param_text(&p, what);
	if ((er = store_exec(st, STMT_ISSUE_RETRY, &p, &res)) == CV_OK)
		PQclear(res);
	return er;
}

/*
 * Operation op_id is under way at its provider: due again after delay
 * seconds, with its progress state (JSON object), status_details
 * details for the user and, if error is not NULL, the transient error
 * that delays it.  Nothing happens if it is no longer in progress.
 */
enum cv_err
store_issue_later(struct store *st, int64_t op_id, int delay,
    const char *details, const char *state, const char *error)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, op_id);
	store_param_int(&p, delay);
	store_param_text(&p, details);
	store_param_text(&p, state);
	store_param_text(&p, error);
	if ((er = store_exec(st, STMT_ISSUE_LATER, &p, &res)) == CV_OK)
		PQclear(res);
	return er;
}

/*
 * Operation op_id waits for an operator's approval: status_details says
 * so and no worker takes it until then.  *waiting is false (and nothing
 * changed) if it was approved, cancelled or finished since it was
 * claimed: then it is due again at once.
 */
enum cv_err
store_issue_wait(struct store *st, int64_t op_id, const char *details,
    bool *waiting)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*waiting = false;
	store_param_int(&p, op_id);
	store_param_text(&p, details);
	if ((er = store_exec(st, STMT_ISSUE_WAIT, &p, &res)) != CV_OK)
		return er;
	*waiting = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return CV_OK;
}

/*
 * Finish operation op_id if it is still in progress: status completed,
 * failed (code and message required) or cancelled, with status_details
 * (NULL: none).  The caller holds the certificate's row lock.
 * CV_ERR_CONFLICT (nothing changed) if it is no longer in progress.
 */
enum cv_err
store_issue_finish(struct store *st, int64_t op_id, const char *status,
    const char *details, const char *code, const char *message)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, op_id);
	store_param_text(&p, status);
	store_param_text(&p, details);
	store_param_text(&p, code);
	store_param_text(&p, message);
	if ((er = store_exec(st, STMT_ISSUE_FINISH, &p, &res)) != CV_OK)
		return er;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		er = CV_ERR_CONFLICT;
	PQclear(res);
	return er;
}

void
store_ca_free(struct store_ca *ca)
{

	if (ca == NULL)
		return;
	free(ca->cert.data);
	free(ca->sealed.data);
	free(ca->master_key_id);
	memset(ca, 0, sizeof(*ca));
}

/*
 * The CA of issuer issuer_id as stored; cert and sealed are empty until
 * it is made.  With lock, the issuer's row is locked for the rest of the
 * caller's transaction, so that two workers never both make one.
 * CV_ERR_NOT_FOUND if the issuer is gone.  The caller frees ca with
 * store_ca_free, also on failure.
 */
enum cv_err
store_issue_ca_get(struct store *st, int64_t issuer_id, bool lock,
    struct store_ca *ca)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct cv_bytes		 nonce = { NULL, 0 };
	char			*s;
	enum cv_err		 er;

	memset(ca, 0, sizeof(*ca));
	store_param_int(&p, issuer_id);
	if ((er = store_exec(st, lock ? STMT_ISSUE_CA_LOCK : STMT_ISSUE_CA_GET,
	    &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_NOT_FOUND;
	}
	if ((s = store_get(res, 0, "credential_uid")) != NULL) {
		snprintf(ca->credential_uid, sizeof(ca->credential_uid), "%s",
		    s);
		free(s);
	}
	ca->master_key_id = store_get(res, 0, "master_key_id");
	if ((er = store_get_bytes(res, 0, "ca_cert", &ca->cert)) == CV_OK &&
	    (er = store_get_bytes(res, 0, "sealed_value", &ca->sealed)) ==
	    CV_OK &&
	    (er = store_get_bytes(res, 0, "seal_nonce", &nonce)) == CV_OK &&
	    nonce.len == sizeof(ca->nonce))
		memcpy(ca->nonce, nonce.data, sizeof(ca->nonce));
	free(nonce.data);
	PQclear(res);
	return er;
}

/*
 * Store the CA of issuer issuer_id: its sealed key as the issuer's
 * ca_private_key credential, its certificate as the issuer's chain.  In
 * the caller's transaction, under store_issue_ca_get's lock.
 */
enum cv_err
store_issue_ca_put(struct store *st, int64_t issuer_id,
    const struct store_ca *ca)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_text(&p, ca->credential_uid);
	store_param_int(&p, issuer_id);
	store_param_bytes(&p, ca->sealed.data, (int)ca->sealed.len);
	store_param_bytes(&p, ca->nonce, sizeof(ca->nonce));
	store_param_text(&p, ca->master_key_id);
	if ((er = store_exec(st, STMT_ISSUE_CA_KEY_PUT, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	p.n = 0;
	store_param_int(&p, issuer_id);
	store_param_bytes(&p, ca->cert.data, (int)ca->cert.len);
	if ((er = store_exec(st, STMT_ISSUE_CA_CERT_PUT, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	return CV_OK;
}

void
store_op_admin_free(struct store_op_admin *op)
{

	if (op == NULL)
		return;
	free(op->status);
	free(op->issuer_name);
	free(op->issuer_provider);
	free(op->approved_by);
	memset(op, 0, sizeof(*op));
}

/*
 * Lock the live certificate cert of the vault named vault for the rest
 * of the caller's transaction (the lock every change of its operation
 * takes) and read its operation into op (op_id 0: none).
 * CV_ERR_CERT_NOT_FOUND if there is no such certificate.
 */
enum cv_err
store_issue_admin_lock(struct store *st, const char *vault, const char *cert,
    struct store_op_admin *op)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			*s;
	enum cv_err		 er;

	memset(op, 0, sizeof(*op));
	store_param_text(&p, vault);
	store_param_text(&p, cert);
	if ((er = store_exec(st, STMT_ISSUE_ADMIN_LOCK, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_CERT_NOT_FOUND;
	}
	/* A new statement, a new snapshot: what committed while we waited. */
	p.n = 0;
	store_param_int(&p, store_get_int(res, 0, "id"));
	PQclear(res);
	if ((er = store_exec(st, STMT_ISSUE_ADMIN_OP, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_CERT_NOT_FOUND;
	}
	op->cert_id = store_get_int(res, 0, "cert_id");
	op->vault_id = store_get_int(res, 0, "vault_id");
	op->op_id = store_get_int(res, 0, "op_id");
	if ((s = store_get(res, 0, "request_id")) != NULL) {
		snprintf(op->request_id, sizeof(op->request_id), "%s", s);
		free(s);
	}
	op->status = store_get(res, 0, "status");
	op->issuer_name = store_get(res, 0, "issuer_name");
	op->issuer_provider = store_get(res, 0, "issuer_provider");
	op->approved_by = store_get(res, 0, "approved_by");
	op->cancellation_requested = store_get_bool(res, 0,
	    "cancellation_requested");
	PQclear(res);
	return CV_OK;
}

/*
 * Record an operator's approval of operation op_id (by whom, and the
 * status_details to show) and make it due at once.  CV_ERR_CONFLICT if
 * it is not in progress or already approved.
 */
enum cv_err
store_issue_approve(struct store *st, int64_t op_id, const char *by,
    const char *details)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, op_id);
	store_param_text(&p, by);
	store_param_text(&p, details);
	if ((er = store_exec(st, STMT_ISSUE_APPROVE, &p, &res)) != CV_OK)
		return er;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		er = CV_ERR_CONFLICT;
	PQclear(res);
	return er;
}

void
store_op_rows_free(struct store_op_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(rows[i].vault);
		free(rows[i].cert);
		free(rows[i].status);
		free(rows[i].issuer);
		free(rows[i].provider);
		free(rows[i].request_id);
		free(rows[i].age);
		free(rows[i].next_attempt);
		free(rows[i].claimed_by);
		free(rows[i].error_code);
		free(rows[i].error_message);
		free(rows[i].worker_last_error);
		free(rows[i].approved_by);
	}
	free(rows);
}

/*
 * The rows of pending_operations_overview, oldest first, of the vault
 * named vault (NULL: every vault).  The caller frees them with
 * store_op_rows_free.
 */
enum cv_err
store_issue_list(struct store *st, const char *vault,
    struct store_op_row **rows, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	struct store_op_row	*r;
	enum cv_err		 er;
	int			 i;

	*rows = NULL;
	*n = 0;
	store_param_text(&p, vault);
	if ((er = store_exec(st, STMT_ISSUE_LIST, &p, &res)) != CV_OK)
		return er;
	*rows = cv_calloc((size_t)PQntuples(res) + 1, sizeof(**rows));
	for (i = 0; i < PQntuples(res); i++) {
		r = &(*rows)[i];
		r->vault = store_get(res, i, "vault_name");
		r->cert = store_get(res, i, "certificate_name");
		r->status = store_get(res, i, "status");
		r->issuer = store_get(res, i, "issuer_name");
		r->provider = store_get(res, i, "issuer_provider");
		r->request_id = store_get(res, i, "request_id");
		r->age = store_get(res, i, "age");
		r->next_attempt = store_get(res, i, "next_attempt");
		r->claimed_by = store_get(res, i, "claimed_by");
		r->error_code = store_get(res, i, "error_code");
		r->error_message = store_get(res, i, "error_message");
		r->worker_last_error = store_get(res, i, "worker_last_error");
		r->approved_by = store_get(res, i, "approved_by");
		r->cancellation_requested = store_get_bool(res, i,
		    "cancellation_requested");
		r->attempts = (int)store_get_int(res, i, "attempts");
	}
	*n = (size_t)PQntuples(res);
	PQclear(res);
	return CV_OK;
}

/* The id of the vault called name; CV_ERR_NOT_FOUND if none. */
enum cv_err
store_vault_id(struct store *st, const char *name, int64_t *id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*id = 0;
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_ISSUE_VAULT_ID, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0)
		er = CV_ERR_NOT_FOUND;
	else
		*id = store_get_int(res, 0, "id");
	PQclear(res);
	return er;
}
