/*
 * certvault — vaults: resolving a request's vault and token, and the
 * operator's vault list.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

/*
 * Resolve the vault for host (port stripped here) and, if token_hash is
 * not NULL, the permissions of that token on it.  Return
 * CV_ERR_NOT_FOUND when neither a vault of that host nor a default vault
 * exists.  *token_id is 0 when the token is unknown, revoked, expired or
 * for another vault.
 */
enum cv_err
store_vault_resolve(struct store *st, const char *host,
    const unsigned char *token_hash, struct cv_vault *vault,
    int64_t *token_id, unsigned *perms)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			*bare, *perm_text;
	const char		*end;
	enum cv_err		 er;

	*token_id = 0;
	*perms = CV_PERM_NONE;
	if (host[0] == '[')
		end = strchr(host, ']') == NULL ? host + strlen(host) :
		    strchr(host, ']') + 1;
	else if ((end = strchr(host, ':')) == NULL)
		end = host + strlen(host);
	bare = cv_strndup(host, (size_t)(end - host));
	store_param_text(&p, bare);
	if (token_hash != NULL)
		store_param_bytes(&p, token_hash, CV_TOKEN_HASH_LEN);
	else
		store_param_text(&p, NULL);
	er = store_exec(st, STMT_VAULT_RESOLVE, &p, &res);
	free(bare);
	if (er != CV_OK)
		return er;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CV_ERR_NOT_FOUND;
	}
	vault->id = store_get_int(res, 0, "id");
	vault->name = store_get(res, 0, "name");
	*token_id = store_get_int(res, 0, "token_id");
	if (*token_id != 0 && (perm_text = store_get(res, 0,
	    "permissions")) != NULL) {
		if (!http_auth_perms_parse(perm_text, perms))
			log_warnx("token %lld has unknown permissions",
			    (long long)*token_id);
		free(perm_text);
	}
	PQclear(res);
	return CV_OK;
}

/*
 * Create a vault.  The first vault becomes the default one whatever
 * is_default says.  A duplicate name or host is CV_ERR_CONFLICT.
 */
enum cv_err
store_vault_create(struct store *st, const char *name, const char *host,
    bool is_default, int retention_days, int64_t *id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			 days[16];
	enum cv_err		 er;

	snprintf(days, sizeof(days), "%d", retention_days);
	store_param_text(&p, name);
	store_param_text(&p, host);
	store_param_text(&p, is_default ? "true" : "false");
	store_param_text(&p, days);
	if ((er = store_exec(st, STMT_VAULT_CREATE, &p, &res)) != CV_OK)
		return er;
	*id = store_get_int(res, 0, "id");
	PQclear(res);
	return CV_OK;
}

enum cv_err
store_vault_list(struct store *st, struct store_vault_row **rows, size_t *n)
{
	PGresult	*res;
	enum cv_err	 er;
	int		 i;

	*rows = NULL;
	*n = 0;
	if ((er = store_exec(st, STMT_VAULT_LIST, NULL, &res)) != CV_OK)
		return er;
	*rows = cv_calloc((size_t)PQntuples(res), sizeof(**rows));
	for (i = 0; i < PQntuples(res); i++) {
		(*rows)[i].id = store_get_int(res, i, "id");
		(*rows)[i].name = store_get(res, i, "name");
		(*rows)[i].host = store_get(res, i, "host");
		(*rows)[i].is_default = store_get_bool(res, i, "is_default");
		(*rows)[i].retention_days =
		    (int)store_get_int(res, i, "retention_days");
		(*rows)[i].created = store_get(res, i, "created");
	}
	*n = (size_t)PQntuples(res);
	PQclear(res);
	return CV_OK;
}

void
store_vault_rows_free(struct store_vault_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].host);
		free(rows[i].created);
	}
	free(rows);
}
