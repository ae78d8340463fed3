/*
 * certvault — pending certificate operations.  SPDX-License-Identifier: ISC
 *
 * Reading an operation needs no lock; changing one happens under the
 * certificate's row lock (store_cert_lock) in the caller's transaction.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/*
 * Fill op from row of a result with the PENDING_COLUMNS.  Return
 * CV_ERR_INTERNAL if the stored CSR cannot be read.
 */
enum cv_err
store_pending_row(const PGresult *res, int row, struct cv_operation *op)
{
	char	*s;

	memset(op, 0, sizeof(*op));
	op->name = store_get(res, row, "name");
	if ((s = store_get(res, row, "request_id")) != NULL) {
		strncpy(op->request_id, s, sizeof(op->request_id) - 1);
		free(s);
	}
	op->issuer_name = store_get(res, row, "issuer_name");
	op->issuer_provider = store_get(res, row, "issuer_provider");
	op->cty = store_get(res, row, "certificate_type");
	if ((s = store_get(res, row, "certificate_transparency")) == NULL)
		op->cert_transparency = -1;
	else {
		op->cert_transparency = s[0] == 't';
		free(s);
	}
	op->cancellation_requested = store_get_bool(res, row,
	    "cancellation_requested");
	op->status = store_get(res, row, "status");
	op->status_details = store_get(res, row, "status_details");
	op->error_code = store_get(res, row, "error_code");
	op->error_message = store_get(res, row, "error_message");
	op->preserve_cert_order = store_get_bool(res, row,
	    "preserve_cert_order");
	return store_get_bytes(res, row, "csr", &op->csr);
}

/*
 * The operation of a live certificate, without locking.
 * CV_ERR_PENDING_NOT_FOUND when there is none.
 */
enum cv_err
store_pending_get(struct store *st, int64_t vault_id, const char *name,
    struct cv_operation *op)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	memset(op, 0, sizeof(*op));
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_PENDING_GET, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0)
		er = CV_ERR_PENDING_NOT_FOUND;
	else
		er = store_pending_row(res, 0, op);
	PQclear(res);
	return er;
}

/* Mark operation op_id completed (its version has its certificate). */
enum cv_err
store_pending_complete(struct store *st, int64_t op_id)
{

	return store_exec_id(st, STMT_PENDING_COMPLETE, op_id, NULL);
}

/* Record a cancellation request with the status_details to show. */
enum cv_err
store_pending_cancel(struct store *st, int64_t op_id, const char *details)
{

	return store_exec_id(st, STMT_PENDING_CANCEL, op_id, details);
}

/* Remove the operation of certificate cert_id; its version stays. */
enum cv_err
store_pending_delete(struct store *st, int64_t cert_id)
{

	return store_exec_id(st, STMT_PENDING_DELETE, cert_id, NULL);
}
