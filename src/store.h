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

#endif /* STORE_H */
