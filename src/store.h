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
void	 store_set_timeout(struct store *, unsigned);
void	 store_deadline(struct store *, bool);
void	 store_free(struct store *);
enum cv_err store_connect(struct store *);
bool	 store_ping(struct store *);
enum cv_err store_begin(struct store *);
enum cv_err store_commit(struct store *);
void	 store_rollback(struct store *);
enum cv_err store_migration_applied(struct store *, const char *, bool *);
enum cv_err store_migration_apply(struct store *, const char *, const char *);
enum cv_err store_migration_list(struct store *, struct cv_strlist *);
const char *store_last_error(const struct store *);
int	 store_server_version(struct store *);
char	*store_conninfo_describe(const char *);
/* The SQL of statement i (an enum stmt, store_int.h), or NULL. */
int	 store_stmt_count(void);
const char *store_stmt_sql(int);

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
struct store_policy {
	char		*name;		/* the certificate's name as stored */
	int64_t		 created, updated;
};

enum cv_err store_cert_list(struct store *, int64_t, const char *, int, bool,
	    struct cv_cert_item **, size_t *);
enum cv_err store_cert_versions(struct store *, int64_t, const char *,
	    const char *, int, struct cv_cert_item **, size_t *);
enum cv_err store_version_update(struct store *, int64_t, const char *,
	    const char *, int, const char *, char [33]);
enum cv_err store_cert_policy_update(struct store *, int64_t, const char *,
	    const char *);

/*
 * The certificate's row, locked FOR UPDATE inside the caller's
 * transaction, with its pending operation and that operation's key.
 */
struct store_lock {
	bool			 exists;
	bool			 deleted;
	int64_t			 cert_id;
	bool			 has_op;
	int64_t			 op_id;
	int64_t			 target_version_id;
	struct cv_operation	 op;
	struct cv_bytes		 pub;	/* SPKI DER of the pending key */
};

/* A new key, version and operation, made before the lock is taken. */
struct store_new_version {
	const char		*policy_json;
	/* key */
	const char		*key_uid;	/* the sealing's associated data */
	const char		*kty;		/* "RSA" or "EC" */
	unsigned		 key_size;
	const char		*curve;		/* NULL for RSA */
	bool			 exportable;
	const struct cv_bytes	*pub;
	const struct cv_bytes	*sealed;
	const unsigned char	*nonce;
	const char		*master_key_id;
	/* version; cert NULL while pending */
	const char		*version;
	const struct cv_bytes	*cert;
	const unsigned char	*x5t;
	const struct cv_bytes	*serial;
	const char		*subject;
	int64_t			 nbf, exp;
	bool			 enabled;
	const char		*tags_json;
	const char		*content_type;
	bool			 preserve_cert_order;
	const struct cv_bytes	*chain;		/* issuers of cert, in order */
	size_t			 chainsz;
	/* operation; NULL for an import (a finished one is overwritten) */
	const struct cv_operation *op;
};

/* A certificate for a pending version (merge). */
struct store_issue {
	const struct cv_bytes	*cert;
	const struct cv_bytes	*chain;		/* issuers, leaf excluded */
	size_t			 chainsz;
	const unsigned char	*x5t;
	const struct cv_bytes	*serial;
	const char		*subject;
	int64_t			 nbf, exp;
	bool			 enabled;
	const char		*tags_json;	/* NULL: keep */
};

void	 store_lock_free(struct store_lock *);
enum cv_err store_cert_lock(struct store *, int64_t, const char *,
	    const char *, struct store_lock *);
enum cv_err store_cert_policy(struct store *, int64_t, const char *, char **,
	    struct store_policy *);
enum cv_err store_cert_new_version(struct store *, const struct store_lock *,
	    const struct store_new_version *);
enum cv_err store_version_get(struct store *, int64_t, const char *,
	    const char *, struct cv_version *);
enum cv_err store_version_issue(struct store *, int64_t,
	    const struct store_issue *);

/* A version with its certificate chain and its key (secrets, keys). */
struct store_keyed {
	struct cv_version	 v;
	char			*key_uid;	/* the sealing's associated data */
	bool			 exportable;
	struct cv_bytes		 pub;		/* SPKI DER */
	struct cv_bytes		 sealed;
	unsigned char		 nonce[12];
	char			*master_key_id;	/* the key that sealed it */
	struct cv_bytes		*certs;		/* leaf first, then the chain */
	size_t			 ncerts;
};

enum cv_err store_version_key(struct store *, int64_t, const char *,
	    const char *, struct store_keyed *);
void	 store_keyed_free(struct store_keyed *);

/* store_issuer.c */
enum cv_err store_issuer_get(struct store *, int64_t, const char *,
	    struct cv_issuer *);

/* store_pending.c */
enum cv_err store_pending_get(struct store *, int64_t, const char *,
	    struct cv_operation *);
enum cv_err store_pending_complete(struct store *, int64_t);
enum cv_err store_pending_cancel(struct store *, int64_t, const char *);
enum cv_err store_pending_delete(struct store *, int64_t);

/* store_job.c: certvault-worker's work */
enum cv_err store_job_purge_expired(struct store *, int *);

/* store_deleted.c: soft-delete, and the rows of a backup */

/* A certificate's row, locked FOR UPDATE for delete, recover and purge. */
struct store_del_lock {
	bool		 exists;
	bool		 deleted;
	bool		 purge_protection;	/* the vault's */
	int64_t		 cert_id;
};

/* When a certificate was soft-deleted and will be purged (Unix seconds). */
struct store_deleted {
	int64_t		 deleted, scheduled_purge;
};

enum cv_err store_deleted_lock(struct store *, int64_t, const char *,
	    struct store_del_lock *);
enum cv_err store_deleted_mark(struct store *, int64_t, const char *);
enum cv_err store_deleted_recover(struct store *, int64_t);
enum cv_err store_deleted_purge(struct store *, int64_t);
enum cv_err store_deleted_get(struct store *, int64_t, const char *,
	    struct cv_version *, struct store_deleted *);
enum cv_err store_deleted_list(struct store *, int64_t, const char *, int,
	    bool, struct cv_deleted_item **, size_t *);
enum cv_err store_backup_read(struct store *, int64_t, const char *,
	    struct cv_backup *);
enum cv_err store_backup_write(struct store *, int64_t,
	    const struct cv_backup *, const char *);

/*
 * store_issue.c: issuer-backed operations, carried out by
 * certvault-worker and approved or rejected with certvault-admin.
 */

/* An operation claimed by a worker (strings owned; store_claim_free). */
struct store_claim {
	int64_t		 op_id;
	char		 request_id[33];
	int64_t		 vault_id;
	char		*vault_name;
	char		*cert_name;
	char		*issuer_name;
	char		*issuer_provider;
	struct cv_bytes	 csr;		/* DER */
	bool		 cancellation_requested;
	bool		 approved;
	int		 attempts;	/* this claim included */
	char		*provider_state; /* JSON object, the provider's */
};

/*
 * A LocalCA's CA as stored: its certificate and its key, still sealed
 * (both empty until the CA is made); store_ca_free.
 */
struct store_ca {
	struct cv_bytes	 cert;		/* DER */
	char		 credential_uid[37]; /* the sealing's associated data */
	struct cv_bytes	 sealed;
	unsigned char	 nonce[12];
	char		*master_key_id;
};

/* certvault-admin's view of one certificate's operation. */
struct store_op_admin {
	int64_t		 cert_id;
	int64_t		 vault_id;
	int64_t		 op_id;		/* 0: no operation */
	char		 request_id[33];
	char		*status;
	char		*issuer_name;
	char		*issuer_provider; /* NULL: Self or Unknown */
	char		*approved_by;	/* NULL: not approved */
	bool		 cancellation_requested;
};

/* One row of pending_operations_overview (certvault-admin operation list). */
struct store_op_row {
	char		*vault, *cert, *status, *issuer, *provider;
	char		*request_id, *age, *next_attempt, *claimed_by;
	char		*error_code, *error_message, *worker_last_error;
	char		*approved_by;
	bool		 cancellation_requested;
	int		 attempts;
};

void	 store_claim_free(struct store_claim *);
void	 store_ca_free(struct store_ca *);
void	 store_op_admin_free(struct store_op_admin *);
void	 store_op_rows_free(struct store_op_row *, size_t);
enum cv_err store_issue_claim(struct store *, const char *, int,
	    struct store_claim *, bool *);
enum cv_err store_issue_retry(struct store *, int64_t, const char *);
enum cv_err store_issue_wait(struct store *, int64_t, const char *, bool *);
enum cv_err store_issue_finish(struct store *, int64_t, const char *,
	    const char *, const char *, const char *);
enum cv_err store_issue_ca_get(struct store *, int64_t, bool,
	    struct store_ca *);
enum cv_err store_issue_ca_put(struct store *, int64_t,
	    const struct store_ca *);
enum cv_err store_issue_admin_lock(struct store *, const char *,
	    const char *, struct store_op_admin *);
enum cv_err store_issue_approve(struct store *, int64_t, const char *,
	    const char *);
enum cv_err store_issue_list(struct store *, const char *,
	    struct store_op_row **, size_t *);
enum cv_err store_vault_id(struct store *, const char *, int64_t *);

enum cv_err store_issue_later(struct store *, int64_t, int, const char *,
	    const char *, const char *);

/*
 * store_acme.c: ACME accounts and the http-01 answers.
 */

struct store_issuer_secret;

/* A sealed issuer secret as read back; uid is the associated data. */
struct store_sealed {
	char		 uid[37];
	struct cv_bytes	 sealed;	/* empty: none stored */
	unsigned char	 nonce[12];
	char		*master_key_id;
};

/* An ACME issuer's account as stored (store_acme_account_free). */
struct store_acme_account {
	char			*directory_url;	/* NULL: never registered */
	char			*account_url;
	struct store_sealed	 key;		/* acme_account_key */
	struct store_sealed	 eab_mac;	/* password: the EAB MAC key */
};

void	 store_acme_account_free(struct store_acme_account *);
enum cv_err store_acme_account_get(struct store *, int64_t,
	    struct store_acme_account *);
enum cv_err store_acme_key_put(struct store *, int64_t,
	    const struct store_issuer_secret *);
enum cv_err store_acme_account_put(struct store *, int64_t, const char *,
	    const char *);
enum cv_err store_acme_challenge_put(struct store *, int64_t, const char *,
	    const char *, const char *);
enum cv_err store_acme_challenge_get(struct store *, const char *, char **);
enum cv_err store_acme_challenges_clear(struct store *, int64_t);

/*
 * store_pool.c: the key pool, pre-generated sealed keys per key type.
 */

struct cv_keyspec;

/* A pooled key (store_pooled_free); key_uid is the sealing's AAD. */
struct store_pooled {
	char		 key_uid[37];
	struct cv_bytes	 pub;		/* SubjectPublicKeyInfo DER */
	struct cv_bytes	 sealed;
	unsigned char	 nonce[12];
	char		*master_key_id;
};

void	 store_pooled_free(struct store_pooled *);
enum cv_err store_pool_take(struct store *, const char *,
	    struct store_pooled *, bool *);
enum cv_err store_pool_count(struct store *, const char *, int64_t *);
enum cv_err store_pool_put(struct store *, const struct cv_keyspec *,
	    const struct store_pooled *, int64_t, bool *);

/*
 * store_audit.c: the audit log.
 */

/* One audit record; strings may be NULL but actor and operation. */
struct store_audit {
	int64_t		 vault_id;	/* 0: none */
	const char	*vault_name;
	const char	*actor;		/* token, worker, admin */
	int64_t		 token_id;	/* 0: none */
	const char	*actor_detail;
	const char	*remote_addr;	/* a valid IPv4/IPv6 address */
	const char	*client_request_id;
	const char	*operation;
	const char	*object_type;
	const char	*object_name;
	const char	*object_version;
	const char	*outcome;	/* started, success, denied, error */
	int		 http_status;	/* 0: none */
	const char	*error_code;
};

enum cv_err store_audit(struct store *, const struct store_audit *,
	    int64_t *);
enum cv_err store_audit_finish(struct store *, int64_t,
	    const struct store_audit *);

/* store_rate.c: rate limits */
enum cv_err store_rate_take(struct store *, int64_t, unsigned, int64_t,
	    unsigned, unsigned *);

/* store_ops.c: what operators watch (worker heartbeats, metrics, status) */

/* One certvault-worker's heartbeat after a pass. */
struct store_heartbeat {
	const char	*worker_id;	/* hostname:pid */
	const char	*hostname;
	int		 pid;
	int64_t		 started;	/* Unix seconds */
	int64_t		 passes, claims, failures;
	const char	*error;		/* this pass's failure, or NULL */
};

enum cv_err store_heartbeat(struct store *, const struct store_heartbeat *);
enum cv_err store_heartbeat_gone(struct store *, const char *);

/* Pending operations of one status and provider. */
struct store_ops_pending {
	char		*status;
	char		*provider;	/* Self, Unknown, LocalCA, ACME, … */
	int64_t		 count;
	int64_t		 oldest;	/* age in s of the oldest inProgress */
};

struct store_ops_pool {
	char		*key_spec;
	int64_t		 keys;
};

struct store_ops_worker {
	char		*worker_id;
	char		*hostname;
	int		 pid;
	int64_t		 started;
	double		 age;		/* seconds since its last pass */
	int64_t		 passes, claims, failures;
	char		*last_error;	/* or NULL */
	int64_t		 last_error_at;	/* Unix seconds; 0: none */
};

/* A snapshot of the shared state, from three short statements. */
struct store_ops {
	struct store_ops_pending	*pending;
	size_t				 pendingsz;
	struct store_ops_pool		*pool;
	size_t				 poolsz;
	struct store_ops_worker		*workers;
	size_t				 workersz;
};

enum cv_err store_ops_read(struct store *, struct store_ops *);
void	 store_ops_free(struct store_ops *);

/* Pending operations of one vault and status (GET /status). */
struct store_status_group {
	char		*vault;
	char		*status;
	int64_t		 count;
	int64_t		 oldest;	/* age in s of the oldest */
	char		*last_error;	/* newest error text, or NULL */
};

/* One of the oldest operations still inProgress (GET /status). */
struct store_status_op {
	char		*vault;
	char		*certificate;
	char		*issuer;	/* issuer name of the policy */
	char		*provider;	/* "" for Self and Unknown */
	int64_t		 age;		/* s since it started */
	char		*status_details;	/* or NULL */
	char		*worker_last_error;	/* or NULL */
	int64_t		 attempts;
	bool		 has_next;	/* a worker will take it again */
	int64_t		 next_in;	/* s until then; < 0: overdue */
	char		*claimed_by;	/* or NULL */
	bool		 cancel;	/* cancellation requested */
};

/* The snapshot behind GET /status: /metrics' one and two more reads. */
struct store_status {
	struct store_ops		 ops;
	struct store_status_group	*groups;
	size_t				 groupsz;
	bool				 groups_more;	/* some left out */
	struct store_status_op		*oldest;
	size_t				 oldestsz;
};

enum cv_err store_status_read(struct store *, struct store_status *, size_t,
	    size_t);
void	 store_status_free(struct store_status *);

/* store_issuer.c: the issuer routes and the vault's contacts */

/* An issuer's secret, sealed; uid (a uuid) is the associated data. */
struct store_issuer_secret {
	const char		*uid;
	const struct cv_bytes	*sealed;
	const unsigned char	*nonce;
	const char		*master_key_id;
};

enum cv_err store_issuer_lock(struct store *, int64_t, const char *,
	    struct cv_issuer *);
enum cv_err store_issuer_upsert(struct store *, int64_t,
	    const struct cv_issuer *, int64_t *);
enum cv_err store_issuer_update(struct store *, const struct cv_issuer *);
enum cv_err store_issuer_password(struct store *, int64_t,
	    const struct store_issuer_secret *);
enum cv_err store_issuer_users(struct store *, int64_t, const char *, int,
	    struct cv_strlist *, int64_t *);
enum cv_err store_issuer_delete(struct store *, int64_t);
enum cv_err store_issuer_list(struct store *, int64_t, const char *, int,
	    struct cv_issuer **, size_t *);
enum cv_err store_contacts_get(struct store *, int64_t, struct cv_contact **,
	    size_t *);
enum cv_err store_contacts_set(struct store *, int64_t,
	    const struct cv_contact *, size_t, struct cv_contact **, size_t *);
enum cv_err store_contacts_delete(struct store *, int64_t,
	    struct cv_contact **, size_t *);

/* store_lifetime.c: lifetime actions (lifetime.c) */

/*
 * A live certificate whose latest issued version may have a lifetime
 * action due (strings owned; store_lifetime_cands_free).
 */
struct store_lifetime_cand {
	int64_t		 cert_id, vault_id, version_id;
	char		*vault;		/* the vault's name */
	char		*host;		/* the vault's host, or NULL */
	char		*name;
	char		*policy_json;
	char		*version;	/* the latest issued version */
	int64_t		 nbf, exp;	/* its validity, Unix seconds */
	char		*tags_json;	/* its tags */
	bool		 in_progress;	/* an operation is in progress */
	char		*done;		/* "AutoRenew lifetime_percentage=80,…":
					   runs recorded, final or backing off */
};

/* What store_lifetime_claim() found under the lock. */
enum store_lt_state {
	STORE_LT_BUSY = 0,	/* locked elsewhere, changed, or done */
	STORE_LT_IN_PROGRESS,	/* to do, but an operation is in progress */
	STORE_LT_CLAIMED	/* to do, and ours */
};

/* One run of a lifetime action, as lifetime_action_runs records it. */
struct store_lifetime_run {
	int64_t		 cert_id, version_id;
	const char	*action;	/* AutoRenew, EmailContacts */
	const char	*trigger;	/* lifetime_percentage=N, … */
	int64_t		 due, as_of;	/* Unix seconds */
	const char	*outcome;	/* renewed, sent, …, error */
	const char	*details;	/* or NULL */
	const char	*recipients;	/* comma-separated, or NULL */
	const char	*new_version;	/* or NULL */
	const char	*error;		/* outcome error only */
};

enum cv_err store_lifetime_scan(struct store *, const char *, const char *,
	    int64_t, int64_t, int, struct store_lifetime_cand **, size_t *);
void	 store_lifetime_cands_free(struct store_lifetime_cand *, size_t);
enum cv_err store_lifetime_claim(struct store *, int64_t, int64_t,
	    const char *, const char *, enum store_lt_state *);
enum cv_err store_lifetime_record(struct store *,
	    const struct store_lifetime_run *, int *, int64_t *);
enum cv_err store_lifetime_autorenew(struct store *, int64_t);

/*
 * store_reseal.c: certvault-admin rotate-master-key, which seals every
 * sealed value again under a new master key, a batch at a time.
 */

/* The tables that hold values sealed under the master key. */
enum store_reseal_table {
	STORE_RESEAL_KEYS = 0,		/* keys: private keys of versions */
	STORE_RESEAL_POOL,		/* key_pool */
	STORE_RESEAL_CREDENTIALS,	/* issuer_credentials */
	STORE_RESEAL__MAX
};

/* A sealed row (store_reseal_rows_free); uid is the associated data. */
struct store_reseal_row {
	int64_t		 id;
	char		 uid[37];
	struct cv_bytes	 sealed;
	unsigned char	 nonce[12];
	char		*master_key_id;
};

/* What is not under the current key, per table and key. */
struct store_reseal_left {
	char		*table;
	char		*master_key_id;
	int64_t		 n;
	char		*ids;		/* the first row ids, "3, 9, 12" */
};

const char *store_reseal_table_name(enum store_reseal_table);
enum cv_err store_reseal_pick(struct store *, enum store_reseal_table,
	    const char *const *, size_t, const int64_t *, size_t, int64_t, int,
	    struct store_reseal_row **, size_t *);
void	 store_reseal_rows_free(struct store_reseal_row *, size_t);
enum cv_err store_reseal_put(struct store *, enum store_reseal_table,
	    const struct store_reseal_row *, const struct cv_bytes *,
	    const unsigned char *, const char *);
enum cv_err store_reseal_left(struct store *, const char *,
	    struct store_reseal_left **, size_t *);
void	 store_reseal_left_free(struct store_reseal_left *, size_t);

#endif /* STORE_H */
