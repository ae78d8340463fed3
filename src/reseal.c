/*
 * certvault — master key rotation: every value sealed under a previous
 * master key is sealed again under the new one, while the services run.
 * SPDX-License-Identifier: ISC
 *
 * The services read rows under either key meanwhile (their keyring:
 * master_key_file plus master_key_previous_files, crypto_master_for), so
 * a row may change key at any moment.  Each batch is one short
 * transaction over at most `batch` rows, locked FOR UPDATE SKIP LOCKED:
 * a row a service holds (a pooled key being taken) is left for a later
 * pass.  A row keeps its uid, the associated data, and gets a fresh
 * nonce.  Passes are repeated until one finds nothing left under a
 * previous key, or `rounds` passes were made.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvault.h"
#include "crypto.h"
#include "log.h"
#include "reseal.h"
#include "store.h"

static void
say(const struct reseal_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const struct reseal_opts *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	if (o->say == NULL)
		return;
	va_start(ap, fmt);
	line = cv_vasprintf(fmt, ap);
	va_end(ap);
	o->say(o->arg, line);
	free(line);
}

void
reseal_result_free(struct reseal_result *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfails; i++)
		free(r->fails[i].master_key_id);
	free(r->fails);
	store_reseal_left_free(r->left, r->nleft);
	memset(r, 0, sizeof(*r));
}

/* Remember that row (t, id) failed: it is left out from now on. */
static void
fail_add(struct reseal_result *r, enum store_reseal_table t,
    const struct store_reseal_row *row)
{
	struct reseal_fail	*f;

	r->fails = cv_realloc(r->fails, (r->nfails + 1) * sizeof(*r->fails));
	f = &r->fails[r->nfails++];
	f->table = t;
	f->id = row->id;
	f->master_key_id = cv_strdup(row->master_key_id != NULL ?
	    row->master_key_id : "?");
}

/* The ids of the failed rows of table t, for the next picks. */
static int64_t *
fail_ids(const struct reseal_result *r, enum store_reseal_table t,
    size_t *n)
{
	int64_t	*ids;
	size_t	 i;

	*n = 0;
	ids = cv_calloc(r->nfails + 1, sizeof(*ids));
	for (i = 0; i < r->nfails; i++)
		if (r->fails[i].table == t)
			ids[(*n)++] = r->fails[i].id;
	return ids;
}

/*
 * One batch of table t after row id *after: lock, unseal with the key
 * the row names, seal under the new key, store, commit.  *moved is the
 * number re-sealed, *picked the number looked at (0: the pass over t is
 * done); *after moves to the last row looked at.
 */
static enum cv_err
batch(struct store *st, const struct reseal_opts *o,
    enum store_reseal_table t, const char *const *old, size_t nold,
    struct reseal_result *r, int64_t *after, size_t *picked, size_t *moved)
{
	struct store_reseal_row	*rows = NULL;
	struct cv_bytes		 plain = { NULL, 0 }, sealed = { NULL, 0 };
	unsigned char		 nonce[CV_SEAL_NONCE_LEN];
	const struct cv_master	*km;
	int64_t			*skip;
	size_t			 nskip, n = 0, i, failed = r->nfails;
	enum cv_err		 er;

	*picked = *moved = 0;
	skip = fail_ids(r, t, &nskip);
	if ((er = store_begin(st)) != CV_OK)
		goto out;
	if ((er = store_reseal_pick(st, t, old, nold, skip, nskip, *after,
	    o->batch, &rows, &n)) != CV_OK || n == 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((km = crypto_master_for(o->ring, rows[i].master_key_id)) ==
		    NULL || crypto_unseal(km, &rows[i].sealed, rows[i].uid,
		    rows[i].nonce, &plain) != CV_OK) {
			log_error("%s row %lld: the value sealed under master "
			    "key %s cannot be unsealed; it is left as it is",
			    store_reseal_table_name(t), (long long)rows[i].id,
			    rows[i].master_key_id);
			fail_add(r, t, &rows[i]);
			continue;
		}
		er = crypto_seal(o->ring, &plain, rows[i].uid, &sealed, nonce);
		cv_bytes_free(&plain);
		if (er != CV_OK)
			goto out;
		er = store_reseal_put(st, t, &rows[i], &sealed, nonce,
		    o->ring->id);
		cv_bytes_free(&sealed);
		if (er != CV_OK)
			goto out;
		(*moved)++;
	}
	if ((er = store_commit(st)) != CV_OK)
		goto out;
	*picked = n;
	*after = rows[n - 1].id;
out:
	store_rollback(st);
	if (er != CV_OK) {
		/* Nothing of this batch was stored: forget its failures. */
		for (i = failed; i < r->nfails; i++)
			free(r->fails[i].master_key_id);
		r->nfails = failed;
		*moved = 0;
	}
	store_reseal_rows_free(rows, n);
	free(skip);
	return er;
}

/* Rows under a previous key of the ring that did not fail. */
static int64_t
left_to_do(const struct reseal_opts *o, const struct reseal_result *r)
{
	int64_t	 n = 0, nf;
	size_t	 i, j;

	for (i = 0; i < r->nleft; i++) {
		if (r->left[i].master_key_id == NULL ||
		    strcmp(r->left[i].master_key_id, o->ring->id) == 0)
			continue;
		for (j = 0; j < o->ring->nprev; j++)
			if (strcmp(r->left[i].master_key_id,
			    o->ring->prev[j].id) == 0)
				break;
		if (j == o->ring->nprev)
			continue;	/* a key nobody gave us */
		nf = 0;
		for (j = 0; j < r->nfails; j++)
			if (strcmp(store_reseal_table_name(r->fails[j].table),
			    r->left[i].table) == 0 &&
			    strcmp(r->fails[j].master_key_id,
			    r->left[i].master_key_id) == 0)
				nf++;
		n += r->left[i].n - nf;
	}
	return n;
}

/*
 * Seal again under o->ring (the new key) every row of keys, key_pool and
 * issuer_credentials sealed under one of o->ring's previous keys, in
 * batches of o->batch rows, one transaction each, saying how it goes
 * through o->say.  Afterwards r says how many rows of each table were
 * re-sealed, which failed to unseal (left as they were), and what is
 * still not under the new key (rows under keys not in the ring, failed
 * rows, rows written meanwhile by a service still sealing with an old
 * key).  Returns CV_OK, or the database error that stopped it (every
 * committed batch stays).  The caller frees r with reseal_result_free.
 */
enum cv_err
reseal_run(struct store *st, const struct reseal_opts *o,
    struct reseal_result *r)
{
	const char		**old;
	struct timespec		 ts;
	enum store_reseal_table	 t;
	size_t			 i, picked, moved;
	unsigned		 round, rounds;
	int64_t			 after, todo;
	enum cv_err		 er = CV_OK;

	memset(r, 0, sizeof(*r));
	rounds = o->rounds == 0 ? 10 : o->rounds;
	old = cv_calloc(o->ring->nprev + 1, sizeof(*old));
	for (i = 0; i < o->ring->nprev; i++)
		old[i] = o->ring->prev[i].id;
	for (round = 1; ; round++) {
		for (t = 0; t < STORE_RESEAL__MAX && o->ring->nprev > 0; t++) {
			after = 0;
			do {
				if ((er = batch(st, o, t, old, o->ring->nprev,
				    r, &after, &picked, &moved)) != CV_OK)
					goto out;
				r->done[t] += (int64_t)moved;
				if (moved > 0)
					say(o, "%s: %lld re-sealed so far",
					    store_reseal_table_name(t),
					    (long long)r->done[t]);
			} while (picked > 0);
		}
		store_reseal_left_free(r->left, r->nleft);
		r->left = NULL;
		r->nleft = 0;
		if ((er = store_reseal_left(st, o->ring->id, &r->left,
		    &r->nleft)) != CV_OK)
			goto out;
		if ((todo = left_to_do(o, r)) == 0 || round >= rounds)
			break;
		/*
		 * Rows a service held, or sealed meanwhile by one that still
		 * seals with an old key: look again in a moment.
		 */
		say(o, "%lld row%s still under a previous key: another pass",
		    (long long)todo, todo == 1 ? "" : "s");
		ts.tv_sec = 1;
		ts.tv_nsec = 0;
		nanosleep(&ts, NULL);
	}
out:
	free(old);
	return er;
}
