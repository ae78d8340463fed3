/*
 * certvault — access tokens: only their SHA-256 is stored.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "http.h"
#include "store.h"
#include "store_int.h"

/*
 * Store a token for vault by its hash with the permission bits perms,
 * expiring after expires_days (0: never).  CV_ERR_NOT_FOUND: no such vault.
 */
enum cv_err
store_token_create(struct store *st, const char *vault, const char *label,
    const unsigned char *hash, unsigned perms, int expires_days, int64_t *id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			 list[256] = "", days[16];
	const char		*name;
	unsigned		 bit;
	size_t			 len = 0;
	enum cv_err		 er;

	/* 16 names of at most 13 characters fit in list. */
	for (bit = 1; bit != 0 && bit <= CV_PERM_ALL; bit <<= 1) {
		if (!(perms & bit) || (name = http_auth_perm_name(bit)) == NULL)
			continue;
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    len == 0 ? "" : ",", name);
	}
	snprintf(days, sizeof(days), "%d", expires_days);
	store_param_text(&p, vault);
	store_param_text(&p, label);
	store_param_bytes(&p, hash, CV_TOKEN_HASH_LEN);
	store_param_text(&p, list);
	store_param_text(&p, days);
	if ((er = store_exec(st, STMT_TOKEN_CREATE, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_NOT_FOUND;
	}
	*id = store_get_int(res, 0, "id");
	PQclear(res);
	return CV_OK;
}

/* All tokens, or those of one vault; never the tokens themselves. */
enum cv_err
store_token_list(struct store *st, const char *vault,
    struct store_token_row **rows, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	int			 i;

	*rows = NULL;
	*n = 0;
	store_param_text(&p, vault);
	if ((er = store_exec(st, STMT_TOKEN_LIST, &p, &res)) != CV_OK)
		return er;
	*rows = cv_calloc((size_t)PQntuples(res), sizeof(**rows));
	for (i = 0; i < PQntuples(res); i++) {
		(*rows)[i].id = store_get_int(res, i, "id");
		(*rows)[i].vault = store_get(res, i, "vault");
		(*rows)[i].name = store_get(res, i, "name");
		(*rows)[i].permissions = store_get(res, i, "permissions");
		(*rows)[i].created = store_get(res, i, "created");
		(*rows)[i].expires = store_get(res, i, "expires");
		(*rows)[i].revoked = store_get(res, i, "revoked");
	}
	*n = (size_t)PQntuples(res);
	PQclear(res);
	return CV_OK;
}

void
store_token_rows_free(struct store_token_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(rows[i].vault);
		free(rows[i].name);
		free(rows[i].permissions);
		free(rows[i].created);
		free(rows[i].expires);
		free(rows[i].revoked);
	}
	free(rows);
}

/* Revoke token id; CV_ERR_NOT_FOUND if none or already revoked. */
enum cv_err
store_token_revoke(struct store *st, int64_t id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			 idtext[32];
	enum cv_err		 er;
	bool			 found;

	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	store_param_text(&p, idtext);
	if ((er = store_exec(st, STMT_TOKEN_REVOKE, &p, &res)) != CV_OK)
		return er;
	found = PQntuples(res) > 0;
	PQclear(res);
	return found ? CV_OK : CV_ERR_NOT_FOUND;
}
