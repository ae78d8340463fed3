/*
 * certvault — storage of what operators watch: worker heartbeats, and the
 * snapshot of shared state behind GET /metrics and /status.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

enum cv_err
store_heartbeat(struct store *st, const struct store_heartbeat *hb)
{
	struct store_params	 p = { 0 };
	PGresult		*res;
	enum cv_err		 er;

	store_param_text(&p, hb->worker_id);
	store_param_text(&p, hb->hostname);
	store_param_int(&p, hb->pid);
	store_param_int(&p, hb->started);
	store_param_int(&p, hb->passes);
	store_param_int(&p, hb->claims);
	store_param_int(&p, hb->failures);
	store_param_text(&p, hb->error);
	if ((er = store_exec(st, STMT_HEARTBEAT, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	return CV_OK;
}

enum cv_err
store_heartbeat_gone(struct store *st, const char *worker_id)
{
	struct store_params	 p = { 0 };
	PGresult		*res;
	enum cv_err		 er;

	store_param_text(&p, worker_id);
	if ((er = store_exec(st, STMT_HEARTBEAT_GONE, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	return CV_OK;
}

/*
 * Read the snapshot into o (store_ops_free releases it, also on failure).
 * Three statements outside any transaction: each is consistent in itself,
 * which is all a gauge needs.
 */
enum cv_err
store_ops_read(struct store *st, struct store_ops *o)
{
	PGresult	*res;
	enum cv_err	 er;
	int		 i, n;

	memset(o, 0, sizeof(*o));
	if ((er = store_exec(st, STMT_OPS_PENDING, NULL, &res)) != CV_OK)
		return er;
	n = PQntuples(res);
	o->pending = cv_calloc((size_t)n, sizeof(*o->pending));
	for (i = 0; i < n; i++, o->pendingsz++) {
		o->pending[i].status = store_get(res, i, "status");
		o->pending[i].provider = store_get(res, i, "provider");
		o->pending[i].count = store_get_int(res, i, "n");
		o->pending[i].oldest = store_get_int(res, i, "oldest");
	}
	PQclear(res);

	if ((er = store_exec(st, STMT_OPS_POOL, NULL, &res)) != CV_OK)
		return er;
	n = PQntuples(res);
	o->pool = cv_calloc((size_t)n, sizeof(*o->pool));
	for (i = 0; i < n; i++, o->poolsz++) {
		o->pool[i].key_spec = store_get(res, i, "key_spec");
		o->pool[i].keys = store_get_int(res, i, "keys");
	}
	PQclear(res);

	if ((er = store_exec(st, STMT_OPS_WORKERS, NULL, &res)) != CV_OK)
		return er;
	n = PQntuples(res);
	o->workers = cv_calloc((size_t)n, sizeof(*o->workers));
	for (i = 0; i < n; i++, o->workersz++) {
		o->workers[i].worker_id = store_get(res, i, "worker_id");
		o->workers[i].hostname = store_get(res, i, "hostname");
		o->workers[i].pid = (int)store_get_int(res, i, "pid");
		o->workers[i].started = store_get_int(res, i, "started");
		o->workers[i].age = store_get_double(res, i, "age");
		o->workers[i].passes = store_get_int(res, i, "passes");
		o->workers[i].claims = store_get_int(res, i, "claims");
		o->workers[i].failures = store_get_int(res, i, "failures");
		o->workers[i].last_error = store_get(res, i, "last_error");
		o->workers[i].last_error_at = store_get_int(res, i,
		    "last_error_at");
	}
	PQclear(res);
	return CV_OK;
}

void
store_ops_free(struct store_ops *o)
{
	size_t	 i;

	if (o == NULL)
		return;
	for (i = 0; i < o->pendingsz; i++) {
		free(o->pending[i].status);
		free(o->pending[i].provider);
	}
	free(o->pending);
	for (i = 0; i < o->poolsz; i++)
		free(o->pool[i].key_spec);
	free(o->pool);
	for (i = 0; i < o->workersz; i++) {
		free(o->workers[i].worker_id);
		free(o->workers[i].hostname);
		free(o->workers[i].last_error);
	}
	free(o->workers);
	memset(o, 0, sizeof(*o));
}

/*
 * Read GET /status' snapshot into s (store_status_free releases it, also
 * on failure): /metrics' one, at most maxgroups groups of pending
 * operations by vault and status (groups_more says if there were more),
 * and the maxoldest oldest operations still inProgress.  Like
 * store_ops_read, statements outside any transaction.
 */
enum cv_err
store_status_read(struct store *st, struct store_status *s, size_t maxgroups,
    size_t maxoldest)
{
	struct store_params	 p;
	struct store_status_group *g;
	struct store_status_op	*op;
	PGresult		*res;
	enum cv_err		 er;
	char			*next;
	int			 i, n;

	memset(s, 0, sizeof(*s));
	if ((er = store_ops_read(st, &s->ops)) != CV_OK)
		return er;

	/* One more than asked for tells whether any were left out. */
	memset(&p, 0, sizeof(p));
	store_param_int(&p, (int64_t)maxgroups + 1);
	if ((er = store_exec(st, STMT_STATUS_GROUPS, &p, &res)) != CV_OK)
		return er;
	n = PQntuples(res);
	if ((size_t)n > maxgroups) {
		s->groups_more = true;
		n = (int)maxgroups;
	}
	s->groups = cv_calloc((size_t)n + 1, sizeof(*s->groups));
	for (i = 0; i < n; i++, s->groupsz++) {
		g = &s->groups[i];
		g->vault = store_get(res, i, "vault");
		g->status = store_get(res, i, "status");
		g->count = store_get_int(res, i, "n");
		g->oldest = store_get_int(res, i, "oldest");
		g->last_error = store_get(res, i, "last_error");
	}
	PQclear(res);

	memset(&p, 0, sizeof(p));
	store_param_int(&p, (int64_t)maxoldest);
	if ((er = store_exec(st, STMT_STATUS_OLDEST, &p, &res)) != CV_OK)
		return er;
	n = PQntuples(res);
	s->oldest = cv_calloc((size_t)n + 1, sizeof(*s->oldest));
	for (i = 0; i < n; i++, s->oldestsz++) {
		op = &s->oldest[i];
		op->vault = store_get(res, i, "vault");
		op->certificate = store_get(res, i, "certificate");
		op->issuer = store_get(res, i, "issuer_name");
		op->provider = store_get(res, i, "provider");
		op->age = store_get_int(res, i, "age");
		op->status_details = store_get(res, i, "status_details");
		op->worker_last_error = store_get(res, i, "worker_last_error");
		op->attempts = store_get_int(res, i, "attempts");
		if ((next = store_get(res, i, "next_in")) != NULL) {
			op->has_next = true;
			op->next_in = strtoll(next, NULL, 10);
			free(next);
		}
		op->claimed_by = store_get(res, i, "claimed_by");
		op->cancel = store_get_bool(res, i, "cancel");
	}
	PQclear(res);
	return CV_OK;
}

void
store_status_free(struct store_status *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	store_ops_free(&s->ops);
	for (i = 0; i < s->groupsz; i++) {
		free(s->groups[i].vault);
		free(s->groups[i].status);
		free(s->groups[i].last_error);
	}
	free(s->groups);
	for (i = 0; i < s->oldestsz; i++) {
		free(s->oldest[i].vault);
		free(s->oldest[i].certificate);
		free(s->oldest[i].issuer);
		free(s->oldest[i].provider);
		free(s->oldest[i].status_details);
		free(s->oldest[i].worker_last_error);
		free(s->oldest[i].claimed_by);
	}
	free(s->oldest);
	memset(s, 0, sizeof(*s));
}
