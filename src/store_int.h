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

/*
 * Every statement certvault runs; the SQL is in stmts[] in store_db.c,
 * each under its designated initialiser [STMT_NAME].
 */
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
	STMT_MIGRATE_LIST,
	STMT_CERT_LIST,
	STMT_JOB_PURGE_CLAIM,
	STMT_JOB_PURGE_DELETE,
	STMT_CERT_ENSURE,
	STMT_CERT_LOCK,
	STMT_PENDING_GET,
	STMT_CERT_POLICY,
	STMT_CERT_SET_POLICY,
	STMT_PENDING_DELETE,
	STMT_KEY_INSERT,
	STMT_VERSION_INSERT,
	STMT_PENDING_INSERT,
	STMT_VERSION_ISSUE,
	STMT_VERSION_CHAIN_APPEND,
	STMT_PENDING_COMPLETE,
	STMT_PENDING_CANCEL,
	STMT_VERSION_GET,
	STMT_CERT_VERSIONS,
	STMT_VERSION_UPDATE,
	STMT_CERT_POLICY_UPDATE,
	STMT_VERSION_KEY,
	STMT_VERSION_CHAIN,
	STMT_ISSUER_GET,
	STMT_DELETED_LOCK,
	STMT_DELETED_MARK,
	STMT_DELETED_RECOVER,
	STMT_DELETED_PURGE,
	STMT_DELETED_GET,
	STMT_DELETED_LIST,
	STMT_BACKUP_CERT,
	STMT_BACKUP_KEYS,
	STMT_BACKUP_VERSIONS,
	STMT_BACKUP_CHAINS,
	STMT_RESTORE_CERT,
	STMT_RESTORE_KEY,
	STMT_RESTORE_VERSION,
	STMT_LIFETIME_SCAN,
	STMT_LIFETIME_CLAIM,
	STMT_LIFETIME_CHECK,
	STMT_LIFETIME_RECORD,
	STMT_LIFETIME_ORIGIN,
	STMT_ISSUE_CLAIM,
	STMT_ISSUE_RETRY,
	STMT_ISSUE_WAIT,
	STMT_ISSUE_FINISH,
	STMT_ISSUE_CA_GET,
	STMT_ISSUE_CA_LOCK,
	STMT_ISSUE_CA_KEY_PUT,
	STMT_ISSUE_CA_CERT_PUT,
	STMT_ISSUE_ADMIN_LOCK,
	STMT_ISSUE_APPROVE,
	STMT_ISSUE_LIST,
	STMT_ISSUE_VAULT_ID,
	STMT_ISSUE_ADMIN_OP,
	STMT_ISSUER_LOCK,
	STMT_ISSUER_UPSERT,
	STMT_ISSUER_UPDATE,
	STMT_ISSUER_PWD_SET,
	STMT_ISSUER_PWD_DELETE,
	STMT_ISSUER_USERS,
	STMT_ISSUER_DELETE,
	STMT_ISSUER_LIST,
	STMT_VAULT_LOCK,
	STMT_CONTACTS_GET,
	STMT_CONTACTS_DELETE,
	STMT_CONTACT_INSERT,
	STMT_CERT_LOCKED,
	STMT_ISSUE_LATER,
	STMT_ACME_ACCOUNT_GET,
	STMT_ACME_KEY_PUT,
	STMT_ACME_ACCOUNT_PUT,
	STMT_ACME_CHALLENGE_PUT,
	STMT_ACME_CHALLENGE_GET,
	STMT_ACME_CHALLENGES_CLEAR,
	STMT_POOL_TAKE,
	STMT_POOL_COUNT,
	STMT_POOL_LOCK,
	STMT_POOL_PUT,
	STMT_AUDIT_INSERT,
	STMT_AUDIT_FINISH,
	STMT_RESEAL_KEYS_PICK,
	STMT_RESEAL_KEYS_PUT,
	STMT_RESEAL_POOL_PICK,
	STMT_RESEAL_POOL_PUT,
	STMT_RESEAL_CRED_PICK,
	STMT_RESEAL_CRED_PUT,
	STMT_RESEAL_LEFT,
	STMT_RATE_TAKE,
	STMT_HEARTBEAT,
	STMT_HEARTBEAT_GONE,
	STMT_OPS_PENDING,
	STMT_OPS_POOL,
	STMT_OPS_WORKERS,
	STMT_STATUS_GROUPS,
	STMT_STATUS_OLDEST,
	STMT__MAX
};

/* Out-of-line parameters of one statement (text unless a length is set). */
struct store_params {
	int		 n;
	const char	*values[24];
	int		 lengths[24];
	int		 formats[24];
	char		 nums[24][24];	/* text of integer parameters */
};

void	 store_param_text(struct store_params *, const char *);
void	 store_param_bytes(struct store_params *, const void *, int);
void	 store_param_bytes_or_null(struct store_params *,
	    const struct cv_bytes *);
void	 store_param_int(struct store_params *, int64_t);
void	 store_param_bool(struct store_params *, bool);
enum cv_err store_get_bytes(const PGresult *, int, const char *,
	    struct cv_bytes *);
enum cv_err store_exec(struct store *, enum stmt, const struct store_params *,
	    PGresult **);
enum cv_err store_exec_id(struct store *, enum stmt, int64_t, const char *);
char	*store_get(const PGresult *, int, const char *);
int64_t	 store_get_int(const PGresult *, int, const char *);
double	 store_get_double(const PGresult *, int, const char *);
bool	 store_get_bool(const PGresult *, int, const char *);
enum cv_err store_pending_row(const PGresult *, int, struct cv_operation *);
enum cv_err store_chain_append(struct store *, int64_t, const struct cv_bytes *,
	    size_t);
void	 store_issuer_row(const PGresult *, int, struct cv_issuer *);
enum cv_err store_version_row(const PGresult *, int, struct cv_version *);

#endif /* STORE_INT_H */
