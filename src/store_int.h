/*
 * certvault — what store_*.c share: the statement table and execution.
 * SPDX-License-Identifier: ISC
 *
 * Private to the storage concern; only store_*.c include it (and libpq).
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <libpq-fe.h>

#include "certvault.h"

/* Every statement certvault runs; the SQL is in stmts[] in store_db.c. */
enum stmt {
	STMT_PING,
	STMT_VAULT_RESOLVE,
	STMT_VAULT_CREATE,
	STMT_VAULT_LIST,
	STMT_TOKEN_CREATE,
	STMT_TOKEN_LIST,
	STMT_TOKEN_REVOKE,
	STMT_MIGRATE_LOCK,
	STMT_MIGRATE_HAS_TABLE,
	STMT_MIGRATE_DONE,
	STMT_MIGRATE_RECORD,
	STMT_CERT_LIST,
	STMT_JOB_PURGE_CLAIM,
	STMT_JOB_PURGE_DELETE,
	STMT__MAX
};

/* Out-of-line parameters of one statement (text unless a length is set). */
struct store_params {
	int		 n;
	const char	*values[8];
	int		 lengths[8];
	int		 formats[8];
};

void	 store_param_text(struct store_params *, const char *);
void	 store_param_bytes(struct store_params *, const void *, int);
enum cv_err store_exec(struct store *, enum stmt, const struct store_params *,
	    PGresult **);
char	*store_get(const PGresult *, int, const char *);
int64_t	 store_get_int(const PGresult *, int, const char *);
bool	 store_get_bool(const PGresult *, int, const char *);

#endif /* STORE_INT_H */
