/*
 * certvault — issuer objects and the vault's contacts.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/* Fill is from row of a result with the ISSUER_COLUMNS. */
void
store_issuer_row(const PGresult *res, int row, struct cv_issuer *is)
{

	memset(is, 0, sizeof(*is));
	is->id = store_get_int(res, row, "id");
	is->name = store_get(res, row, "name");
	is->provider = store_get(res, row, "provider");
	is->enabled = store_get_bool(res, row, "enabled");
	is->account_id = store_get(res, row, "account_id");
	is->organization_id = store_get(res, row, "organization_id");
	is->admin_details_json = store_get(res, row, "admin_details");
	is->requires_approval = store_get_bool(res, row, "requires_approval");
	is->has_password = store_get_bool(res, row, "has_password");
	is->created = store_get_int(res, row, "created");
	is->updated = store_get_int(res, row, "updated");
}

/* The issuer object called name; CV_ERR_NOT_FOUND if there is none. */
enum cv_err
store_issuer_get(struct store *st, int64_t vault_id, const char *name,
    struct cv_issuer *is)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	memset(is, 0, sizeof(*is));
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_ISSUER_GET, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0)
		er = CV_ERR_NOT_FOUND;
	else
		store_issuer_row(res, 0, is);
	PQclear(res);
	return er;
}
