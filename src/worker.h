/*
 * certvault — certvault-worker's jobs beyond the storage layer.
 * SPDX-License-Identifier: ISC
 */
#ifndef WORKER_H
#define WORKER_H

#include "certvault.h"
#include "crypto.h"

struct store;
struct store_claim;
struct store_issue;

/* The outcomes of an issuer-backed operation. */
enum worker_outcome {
	WORKER_COMPLETED,
	WORKER_FAILED,
	WORKER_CANCELLED
};

/* worker_issue.c: issuer-backed operations and the LocalCA */
void	 worker_issue_setup(const char *);
enum cv_err worker_issue_run(struct store *, int *);
const struct cv_master *worker_issue_master(void);
enum cv_err worker_issue_finish(struct store *, const struct store_claim *,
	    enum worker_outcome, const char *, const char *,
	    const struct store_issue *);

/* worker_pool.c: the key pool */
enum cv_err worker_pool_setup(const char *, unsigned, char **);
enum cv_err worker_pool_run(struct store *, int *);

/* worker_acme.c: issuers with provider ACME */
void	 worker_acme_setup(const char *, const char *);
enum cv_err worker_acme_issue(struct store *, const struct store_claim *,
	    const struct cv_issuer *);
enum cv_err worker_issue_ca(struct store *, const struct cv_master *,
	    const char *, const struct cv_issuer *, bool, struct cv_bytes *,
	    struct cv_bytes *);

#endif /* WORKER_H */
