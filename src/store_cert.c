/*
 * certvault — certificates.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/*
 * List up to limit live certificates of a vault whose names sort after
 * after (NULL: from the start), in name order: keyset pagination, so a
 * page boundary stays put while others insert.
 */
enum cv_err
store_cert_list(struct store *st, int64_t vault_id, const char *after,
    int limit, struct cv_cert_item **items, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			 vid[32], lim[16];
	enum cv_err		 er;
	int			 i;

	*items = NULL;
	*n = 0;
	snprintf(vid, sizeof(vid), "%lld", (long long)vault_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	store_param_text(&p, vid);
	store_param_text(&p, after);
	store_param_text(&p, lim);
	if ((er = store_exec(st, STMT_CERT_LIST, &p, &res)) != CV_OK)
		return er;
	*items = cv_calloc((size_t)PQntuples(res), sizeof(**items));
	for (i = 0; i < PQntuples(res); i++) {
		(*items)[i].name = store_get(res, i, "name");
		(*items)[i].x5t = store_get(res, i, "x5t");
		(*items)[i].enabled = store_get_bool(res, i, "enabled");
		(*items)[i].nbf = store_get_int(res, i, "nbf");
		(*items)[i].exp = store_get_int(res, i, "exp");
		(*items)[i].created = store_get_int(res, i, "created");
		(*items)[i].updated = store_get_int(res, i, "updated");
		(*items)[i].tags_json = store_get(res, i, "tags");
	}
	*n = (size_t)PQntuples(res);
	PQclear(res);
	return CV_OK;
}
