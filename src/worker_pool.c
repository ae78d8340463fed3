/*
 * certvault — certvault-worker's key pool job: keep key_pool topped up
 * to key_pool_size keys of each type in key_pool_types, generated and
 * sealed ahead, so that a create takes one instead of waiting for an RSA
 * key (cert_make).  SPDX-License-Identifier: ISC
 *
 * Several workers may top up at once, on any number of hosts: a key goes
 * in only while its type is short (store_pool_put), so the pool never
 * grows past key_pool_size; a worker that lost the race has generated
 * one key for nothing and stops topping up that type for this pass.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "crypto.h"
#include "log.h"
#include "store.h"
#include "worker.h"

/* Keys made per pass, so that the other jobs are not kept waiting. */
#define POOL_PER_PASS	16
#define POOL_TYPES_MAX	6

static struct cv_keyspec pool_types[POOL_TYPES_MAX];
static size_t		 pool_ntypes;
static unsigned		 pool_size;

/*
 * Configure the pool: types is a comma-separated list of key types
 * ("RSA-2048,EC-P-256"; NULL or empty: none), size the depth of each.
 * Returns CV_ERR_BAD_PARAMETER with *err (caller frees) for an unknown
 * type.
 */
enum cv_err
worker_pool_setup(const char *types, unsigned size, char **err)
{
	char	*list, *t, *save = NULL;

	*err = NULL;
	pool_ntypes = 0;
	pool_size = size;
	if (types == NULL || *types == '\0' || size == 0)
		return CV_OK;
	list = cv_strdup(types);
	for (t = strtok_r(list, ", ", &save); t != NULL;
	    t = strtok_r(NULL, ", ", &save)) {
		if (pool_ntypes == POOL_TYPES_MAX ||
		    !crypto_keyspec_parse(t, &pool_types[pool_ntypes])) {
			*err = cv_asprintf("key_pool_types: unknown or repeated "
			    "key type \"%s\" (RSA-2048, RSA-3072, RSA-4096, "
			    "EC-P-256, EC-P-384, EC-P-521)", t);
			free(list);
			pool_ntypes = 0;
			return CV_ERR_BAD_PARAMETER;
		}
		pool_ntypes++;
	}
	free(list);
	return CV_OK;
}

/* Generate, seal and store one key of type spec, unless it is full. */
static enum cv_err
pool_add(struct store *st, const struct cv_master *m,
    const struct cv_keyspec *spec, bool *added)
{
	struct store_pooled	 k;
	struct cv_bytes		 priv = { NULL, 0 };
	enum cv_err		 er;

	*added = false;
	memset(&k, 0, sizeof(k));
	if ((er = crypto_key_generate(spec, &priv, &k.pub)) == CV_OK &&
	    (er = crypto_random_uuid(k.key_uid)) == CV_OK &&
	    (er = crypto_seal(m, &priv, k.key_uid, &k.sealed, k.nonce)) ==
	    CV_OK) {
		k.master_key_id = cv_strdup(m->id);
		er = store_pool_put(st, spec, &k, pool_size, added);
	}
	cv_bytes_free(&priv);
	store_pooled_free(&k);
	return er;
}

/*
 * The job: top up each type, at most POOL_PER_PASS keys in all; *done
 * counts the keys that went in.  The count is read again before each
 * key, so that little is generated for a pool another worker has filled
 * meanwhile.
 */
enum cv_err
worker_pool_run(struct store *st, int *done)
{
	const struct cv_master	*m;
	int64_t			 n;
	size_t			 i;
	enum cv_err		 er;
	bool			 added;

	*done = 0;
	if (pool_ntypes == 0 || (m = worker_issue_master()) == NULL)
		return CV_OK;
	for (i = 0; i < pool_ntypes; i++)
		while (*done < POOL_PER_PASS) {
			if ((er = store_pool_count(st, crypto_keyspec_name(
			    &pool_types[i]), &n)) != CV_OK)
				return er;
			if (n >= (int64_t)pool_size)
				break;
			if ((er = pool_add(st, m, &pool_types[i], &added)) !=
			    CV_OK)
				return er;
			if (!added)
				break;
			(*done)++;
		}
	return CV_OK;
}
