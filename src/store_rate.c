/*
 * certvault — rate limits: token buckets per access token and per vault
 * in PostgreSQL, so that every process of every node counts against the
 * same limit.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/*
 * Take one request from token token_id's bucket (token_rps requests a
 * second; 0: no limit) and vault vault_id's (vault_rps), each holding
 * ten seconds' worth.  *retry_after is 0 if the request may go on, else
 * the seconds until the emptier bucket has a request again.
 */
enum cv_err
store_rate_take(struct store *st, int64_t token_id, unsigned token_rps,
    int64_t vault_id, unsigned vault_rps, unsigned *retry_after)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	char			 tb[32] = "", vb[32] = "";
	double			 left, rate;
	unsigned		 wait;
	char			*b;
	int			 i;
	enum cv_err		 er;

	*retry_after = 0;
	if (token_rps > 0)
		snprintf(tb, sizeof(tb), "token:%lld", (long long)token_id);
	if (vault_rps > 0)
		snprintf(vb, sizeof(vb), "vault:%lld", (long long)vault_id);
	if (tb[0] == '\0' && vb[0] == '\0')
		return CV_OK;
	store_param_text(&p, tb);
	store_param_int(&p, (int64_t)token_rps * 10);
	store_param_text(&p, vb);
	store_param_int(&p, (int64_t)vault_rps * 10);
	if ((er = store_exec(st, STMT_RATE_TAKE, &p, &res)) != CV_OK)
		return er;
	for (i = 0; i < PQntuples(res); i++) {
		b = store_get(res, i, "bucket");
		left = store_get_double(res, i, "tokens");
		rate = b != NULL && strncmp(b, "token:", 6) == 0 ?
		    token_rps : vault_rps;
		if (left < 0 && rate > 0) {
			/*
			 * Whole seconds until the bucket holds one request
			 * again (this refused one was taken too).
			 */
			wait = (unsigned)((1 - left) / rate);
			if ((double)wait * rate < 1 - left)
				wait++;
			if (wait < 1)
				wait = 1;
			if (wait > *retry_after)
				*retry_after = wait;
		}
		free(b);
	}
	PQclear(res);
	return CV_OK;
}
