/*
 * certvault — certvault-worker's jobs beyond the storage layer.
 * SPDX-License-Identifier: ISC
 */
#ifndef WORKER_H
#define WORKER_H

#include "certvault.h"
#include "crypto.h"

struct store;

/* worker_issue.c: issuer-backed operations and the LocalCA */
void	 worker_issue_setup(const char *);
enum cv_err worker_issue_run(struct store *, int *);
enum cv_err worker_issue_ca(struct store *, const struct cv_master *,
	    const char *, const struct cv_issuer *, bool, struct cv_bytes *,
	    struct cv_bytes *);

#endif /* WORKER_H */
