/*
 * certvault — master key rotation: every sealed value sealed again under
 * the new master key (certvault-admin rotate-master-key).
 * SPDX-License-Identifier: ISC
 */
#ifndef RESEAL_H
#define RESEAL_H

#include "certvault.h"
#include "crypto.h"
#include "store.h"

struct reseal_opts {
	/* The new (current) key; its previous keys are the ones to leave. */
	const struct cv_master	*ring;
	int			 batch;		/* rows per transaction */
	unsigned		 rounds;	/* passes at most (0: 10) */
	void			(*say)(void *, const char *); /* progress */
	void			*arg;
};

/* A row that could not be re-sealed though its key is in the ring. */
struct reseal_fail {
	enum store_reseal_table	 table;
	int64_t			 id;
	char			*master_key_id;
};

struct reseal_result {
	int64_t			 done[STORE_RESEAL__MAX];
	struct reseal_fail	*fails;
	size_t			 nfails;
	/* Afterwards: what is not under the new key, per table and key. */
	struct store_reseal_left *left;
	size_t			 nleft;
};

enum cv_err reseal_run(struct store *, const struct reseal_opts *,
	    struct reseal_result *);
void	 reseal_result_free(struct reseal_result *);

#endif /* RESEAL_H */
