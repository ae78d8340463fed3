/*
 * certvault — storage in PostgreSQL: typed calls, no SQL outside store_*.c.
 * SPDX-License-Identifier: ISC
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>

#include "certvault.h"

struct store;

/* store_db.c: connection, transactions, migrations */
struct store *store_new(const char *);
void	 store_free(struct store *);
enum cv_err store_connect(struct store *);
bool	 store_ping(struct store *);
enum cv_err store_begin(struct store *);
enum cv_err store_commit(struct store *);
void	 store_rollback(struct store *);
enum cv_err store_migration_applied(struct store *, const char *, bool *);
enum cv_err store_migration_apply(struct store *, const char *, const char *);

/* store_vault.c */
struct store_vault_row {
	int64_t		 id;
	char		*name;
	char		*host;		/* or NULL */
	bool		 is_default;
	int		 retention_days;
	char		*created;	/* ISO 8601 text */
};

enum cv_err store_vault_resolve(struct store *, const char *,
	    const unsigned char *, struct cv_vault *, int64_t *, unsigned *);
enum cv_err store_vault_create(struct store *, const char *, const char *,
	    bool, int, int64_t *);
enum cv_err store_vault_list(struct store *, struct store_vault_row **,
	    size_t *);
void	 store_vault_rows_free(struct store_vault_row *, size_t);

/* store_token.c */
struct store_token_row {
	int64_t		 id;
	char		*vault;
	char		*name;
	char		*permissions;	/* "get,list,…" */
	char		*created;
	char		*expires;	/* or NULL */
	char		*revoked;	/* or NULL */
};

enum cv_err store_token_create(struct store *, const char *, const char *,
	    const unsigned char *, unsigned, int, int64_t *);
enum cv_err store_token_list(struct store *, const char *,
	    struct store_token_row **, size_t *);
void	 store_token_rows_free(struct store_token_row *, size_t);
enum cv_err store_token_revoke(struct store *, int64_t);

/* store_cert.c */
enum cv_err store_cert_list(struct store *, int64_t, const char *, int,
	    struct cv_cert_item **, size_t *);

/* store_job.c: certvault-worker's work */
enum cv_err store_job_purge_expired(struct store *, int *);

#endif /* STORE_H */
