/*
 * certvault — work claimed by certvault-worker.  SPDX-License-Identifier: ISC
 *
 * Every job claims its rows with FOR UPDATE SKIP LOCKED inside one
 * transaction, so any number of workers on any number of hosts can run
 * without doing the same work twice.
 */
#include "config.h"

#include <stdlib.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/*
 * Purge soft-deleted certificates whose retention has run out (their
 * versions, keys and pending operation go with them by cascade).  *done is
 * the number purged.
 */
enum cv_err
store_job_purge_expired(struct store *st, int *done)
{
	PGresult		*claim = NULL, *res;
	struct store_params	 p;
	enum cv_err		 er;
	int			 i;

	*done = 0;
	if ((er = store_begin(st)) != CV_OK)
		return er;
	if ((er = store_exec(st, STMT_JOB_PURGE_CLAIM, NULL, &claim)) != CV_OK)
		goto out;
	for (i = 0; i < PQntuples(claim); i++) {
		p.n = 0;
		store_param_text(&p, PQgetvalue(claim, i, 0));
		if ((er = store_exec(st, STMT_JOB_PURGE_DELETE, &p, &res)) !=
		    CV_OK)
			goto out;
		PQclear(res);
	}
	if ((er = store_commit(st)) == CV_OK)
		*done = PQntuples(claim);
out:
	PQclear(claim);
	store_rollback(st);
	return er;
}
