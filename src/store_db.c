/*
 * certvault — the PostgreSQL connection, the statement table, and
 * transactions.  SPDX-License-Identifier: ISC
 *
 * One connection per process, opened after fork().  Every statement is
 * prepared once per connection, on first use, and again after a reconnect
 * (openradtool's stmts[STMT__MAX]); parameters always go out of line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "certvault.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

/* What a list item (CertificateItem) shows of version v. */
#define ITEM_COLUMNS \
	"rtrim(translate(encode(v.x5t, 'base64'), '+/', '-_'), '=') AS x5t, " \
	"v.enabled AND v.certificate_der IS NOT NULL AS enabled, " \
	"COALESCE(extract(epoch FROM v.not_before)::bigint, 0) AS nbf, " \
	"COALESCE(extract(epoch FROM v.not_after)::bigint, 0) AS exp, " \
	"extract(epoch FROM v.created_at)::bigint AS created, " \
	"extract(epoch FROM v.updated_at)::bigint AS updated, " \
	"v.tags::text AS tags "

/* The latest version of certificate c: newest issued, else newest. */
#define LATEST_VERSION \
	"(SELECT lv.id FROM certificate_versions lv " \
	"WHERE lv.certificate_id = c.id ORDER BY " \
	"(lv.certificate_der IS NOT NULL) DESC, lv.created_at DESC, " \
	"lv.id DESC LIMIT 1)"

/* What a read of an issuer object returns (struct cv_issuer). */
#define ISSUER_COLUMNS \
	"i.id, i.name, i.provider, i.enabled, i.account_id, " \
	"i.organization_id, i.admin_details::text AS admin_details, " \
	"i.requires_approval, extract(epoch FROM i.created_at)::bigint " \
	"AS created, extract(epoch FROM i.updated_at)::bigint AS updated, " \
	"EXISTS (SELECT 1 FROM issuer_credentials ic WHERE ic.issuer_id = " \
	"i.id AND ic.credential_type = 'password') AS has_password "

/* What every read of a pending operation returns. */
#define PENDING_COLUMNS \
	"p.id AS op_id, p.target_version_id, p.request_id, p.issuer_name, " \
	"p.issuer_provider, p.certificate_type, p.certificate_transparency, " \
	"p.csr, p.status, p.status_details, p.cancellation_requested, " \
	"p.error_code, p.error_message, p.preserve_cert_order, " \
	"k.public_key "

/*
 * Designated initialisers: a statement added to enum stmt lands in its
 * own slot wherever it is written, and store_new() refuses a gap.
 */
static const char *const stmts[STMT__MAX] = {
	[STMT_PING] =
	"SELECT 1",
	/*
	 * STMT_VAULT_RESOLVE: the vault for a Host (else the default vault)
	 * and, in the same round trip, the token's permissions on it.
	 */
	[STMT_VAULT_RESOLVE] =
	"SELECT v.id, v.name, t.id AS token_id, "
	"array_to_string(t.permissions, ',') AS permissions "
	"FROM vaults v LEFT JOIN access_tokens t ON t.vault_id = v.id "
	"AND t.token_hash = $2 AND t.revoked_at IS NULL "
	"AND (t.expires_at IS NULL OR t.expires_at > now()) "
	"WHERE lower(v.host) = lower($1) OR v.is_default "
	"ORDER BY (lower(v.host) = lower($1)) IS TRUE DESC LIMIT 1",
	[STMT_VAULT_CREATE] =
	"INSERT INTO vaults (name, host, is_default, retention_days) "
	"VALUES ($1, $2, $3::boolean OR NOT EXISTS "
	"(SELECT 1 FROM vaults WHERE is_default), $4) RETURNING id",
	[STMT_VAULT_LIST] =
	"SELECT id, name, host, is_default, retention_days, "
	"to_char(created_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created "
	"FROM vaults ORDER BY name",
	[STMT_TOKEN_CREATE] =
	"INSERT INTO access_tokens (vault_id, name, token_hash, permissions, "
	"expires_at) SELECT id, $2, $3, string_to_array($4, ','), "
	"CASE WHEN $5::integer > 0 THEN now() + make_interval(days => "
	"$5::integer) END FROM vaults WHERE name = $1 RETURNING id",
	[STMT_TOKEN_LIST] =
	"SELECT t.id, v.name AS vault, t.name, "
	"array_to_string(t.permissions, ',') AS permissions, "
	"to_char(t.created_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created, "
	"to_char(t.expires_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires, "
	"to_char(t.revoked_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked "
	"FROM access_tokens t JOIN vaults v ON v.id = t.vault_id "
	"WHERE $1::text IS NULL OR v.name = $1 ORDER BY t.id",
	[STMT_TOKEN_REVOKE] =
	"UPDATE access_tokens SET revoked_at = now() "
	"WHERE id = $1 AND revoked_at IS NULL RETURNING id",
	/* STMT_MIGRATE_LOCK: one migrator at a time, on any host. */
	[STMT_MIGRATE_LOCK] =
	"SELECT pg_advisory_xact_lock(hashtext('certvault migrate'))",
	[STMT_MIGRATE_HAS_TABLE] =
	"SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
	[STMT_MIGRATE_DONE] =
	"SELECT 1 FROM schema_migrations WHERE filename = $1",
	[STMT_MIGRATE_RECORD] =
	"INSERT INTO schema_migrations (filename) VALUES ($1)",
	/*
	 * STMT_CERT_LIST: keyset pagination by name; each certificate shows
	 * its latest version (as STMT_VERSION_GET picks it).  Certificates
	 * with only a pending version appear with includePending ($4).
	 */
	[STMT_CERT_LIST] =
	"SELECT c.name, NULL AS version, " ITEM_COLUMNS
	"FROM certificates c JOIN LATERAL (SELECT * FROM "
	"certificate_versions cv WHERE cv.certificate_id = c.id "
	"ORDER BY (cv.certificate_der IS NOT NULL) DESC, cv.created_at DESC, "
	"cv.id DESC LIMIT 1) v ON true "
	"WHERE c.vault_id = $1 AND c.deleted_at IS NULL "
	"AND ($2::text IS NULL OR lower(c.name) > lower($2)) "
	"AND ($4::boolean OR v.certificate_der IS NOT NULL) "
	"ORDER BY lower(c.name) LIMIT $3",
	/* STMT_JOB_PURGE_CLAIM: any number of workers, no double work. */
	[STMT_JOB_PURGE_CLAIM] =
	"SELECT id FROM certificates WHERE deleted_at IS NOT NULL "
	"AND scheduled_purge_at <= now() ORDER BY scheduled_purge_at "
	"LIMIT 100 FOR UPDATE SKIP LOCKED",
	[STMT_JOB_PURGE_DELETE] =
	"DELETE FROM certificates WHERE id = $1",
	/* STMT_CERT_ENSURE: the lock row must exist before it can be locked. */
	[STMT_CERT_ENSURE] =
	"INSERT INTO certificates (vault_id, name, policy) "
	"VALUES ($1, $2, $3::jsonb) "
	"ON CONFLICT (vault_id, lower(name)) DO NOTHING",
	/*
	 * STMT_CERT_LOCK: the certificate's row is the lock every create,
	 * import and merge takes; with it, its operation and pending key.
	 */
	[STMT_CERT_LOCK] =
	"SELECT c.id AS cert_id, c.name, c.deleted_at IS NOT NULL AS deleted, "
	PENDING_COLUMNS
	"FROM certificates c "
	"LEFT JOIN pending_operations p ON p.certificate_id = c.id "
	"LEFT JOIN certificate_versions v ON v.id = p.target_version_id "
	"LEFT JOIN keys k ON k.id = v.key_id "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"FOR UPDATE OF c",
	[STMT_PENDING_GET] =
	"SELECT c.id AS cert_id, c.name, false AS deleted, "
	PENDING_COLUMNS
	"FROM certificates c "
	"JOIN pending_operations p ON p.certificate_id = c.id "
	"LEFT JOIN certificate_versions v ON v.id = p.target_version_id "
	"LEFT JOIN keys k ON k.id = v.key_id "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL",
	[STMT_CERT_POLICY] =
	"SELECT name, policy::text AS policy, "
	"extract(epoch FROM created_at)::bigint AS created, "
	"extract(epoch FROM policy_updated_at)::bigint AS updated "
	"FROM certificates WHERE vault_id = $1 AND lower(name) = lower($2) "
	"AND deleted_at IS NULL",
	[STMT_CERT_SET_POLICY] =
	"UPDATE certificates SET policy = $2::jsonb, policy_updated_at = now(), "
	"updated_at = now() WHERE id = $1",
	[STMT_PENDING_DELETE] =
	"DELETE FROM pending_operations WHERE certificate_id = $1",
	[STMT_KEY_INSERT] =
	"INSERT INTO keys (key_uid, certificate_id, kty, key_size, curve, "
	"exportable, public_key, sealed_private_key, seal_nonce, master_key_id) "
	"VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
	[STMT_VERSION_INSERT] =
	"INSERT INTO certificate_versions (certificate_id, version, key_id, "
	"certificate_der, x5t, serial_number, subject, not_before, not_after, "
	"enabled, tags, content_type, preserve_cert_order) "
	"VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8), to_timestamp($9), "
	"$10, COALESCE($11::jsonb, '{}'), $12, $13) RETURNING id",
	[STMT_PENDING_INSERT] =
	"INSERT INTO pending_operations (certificate_id, target_version_id, "
	"request_id, issuer_name, issuer_provider, certificate_type, "
	"certificate_transparency, csr, status, status_details, "
	"preserve_cert_order, finished_at, next_attempt_at) "
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
	"CASE WHEN $9 = 'inProgress' THEN NULL ELSE now() END, "
	"CASE WHEN $9 = 'inProgress' AND $5::text IS NOT NULL THEN now() END)",
	/* STMT_VERSION_ISSUE: the pending version gets its certificate. */
	[STMT_VERSION_ISSUE] =
	"UPDATE certificate_versions SET certificate_der = $2, x5t = $3, "
	"serial_number = $4, subject = $5, not_before = to_timestamp($6), "
	"not_after = to_timestamp($7), enabled = $8, "
	"tags = COALESCE($9::jsonb, tags), updated_at = now() WHERE id = $1",
	[STMT_VERSION_CHAIN_APPEND] =
	"UPDATE certificate_versions SET chain_der = array_append(chain_der, $2) "
	"WHERE id = $1",
	[STMT_PENDING_COMPLETE] =
	"UPDATE pending_operations SET status = 'completed', "
	"status_details = NULL, next_attempt_at = NULL, finished_at = now(), "
	"updated_at = now() WHERE id = $1",
	/* STMT_PENDING_CANCEL: the worker acts on it at its next pass. */
	[STMT_PENDING_CANCEL] =
	"UPDATE pending_operations SET cancellation_requested = true, "
	"status_details = $2, updated_at = now(), "
	"next_attempt_at = CASE WHEN issuer_provider IS NULL THEN NULL "
	"ELSE now() END WHERE id = $1",
	/*
	 * STMT_VERSION_GET: one version, or the latest: the newest issued
	 * one, else the newest still pending, so a certificate stays
	 * readable while its next version is pending.
	 */
	[STMT_VERSION_GET] =
	"SELECT c.name, v.version, v.certificate_der, v.x5t, v.enabled, "
	"COALESCE(extract(epoch FROM v.not_before)::bigint, 0) AS nbf, "
	"COALESCE(extract(epoch FROM v.not_after)::bigint, 0) AS exp, "
	"extract(epoch FROM v.created_at)::bigint AS created, "
	"extract(epoch FROM v.updated_at)::bigint AS updated, "
	"v.tags::text AS tags, c.policy::text AS policy, "
	"extract(epoch FROM c.created_at)::bigint AS policy_created, "
	"extract(epoch FROM c.policy_updated_at)::bigint AS policy_updated, "
	"EXISTS (SELECT 1 FROM pending_operations p "
	"WHERE p.certificate_id = c.id) AS has_pending, "
	"vt.retention_days, vt.purge_protection, v.content_type, "
	"v.preserve_cert_order "
	"FROM certificates c JOIN vaults vt ON vt.id = c.vault_id "
	"JOIN certificate_versions v ON v.certificate_id = c.id "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL AND (CASE WHEN $3 = '' THEN v.id = "
	LATEST_VERSION " ELSE v.version = lower($3) END)",
	/* STMT_CERT_VERSIONS: keyset pagination by creation. */
	[STMT_CERT_VERSIONS] =
	"SELECT c.name, v.version, " ITEM_COLUMNS
	"FROM certificates c JOIN certificate_versions v "
	"ON v.certificate_id = c.id "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL AND ($3::text IS NULL OR (v.created_at, v.id) "
	"> (SELECT sv.created_at, sv.id FROM certificate_versions sv "
	"WHERE sv.certificate_id = c.id AND sv.version = $3)) "
	"ORDER BY v.created_at, v.id LIMIT $4",
	/* STMT_VERSION_UPDATE: attributes and tags of one version. */
	[STMT_VERSION_UPDATE] =
	"UPDATE certificate_versions v SET enabled = COALESCE($4, v.enabled), "
	"tags = COALESCE($5::jsonb, v.tags), updated_at = now() "
	"FROM certificates c WHERE v.certificate_id = c.id "
	"AND c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL AND (CASE WHEN $3 = '' THEN v.id = "
	LATEST_VERSION " ELSE v.version = lower($3) END) RETURNING v.version",
	[STMT_CERT_POLICY_UPDATE] =
	"UPDATE certificates SET policy = $3::jsonb, policy_updated_at = now(), "
	"updated_at = now() WHERE vault_id = $1 AND lower(name) = lower($2) "
	"AND deleted_at IS NULL",
	/* The issued version (or the latest issued) with its key. */
	[STMT_VERSION_KEY] =
	"SELECT c.name, v.id AS version_id, v.version, v.certificate_der, "
	"v.x5t, v.enabled, extract(epoch FROM v.not_before)::bigint AS nbf, "
	"extract(epoch FROM v.not_after)::bigint AS exp, "
	"extract(epoch FROM v.created_at)::bigint AS created, "
	"extract(epoch FROM v.updated_at)::bigint AS updated, "
	"v.tags::text AS tags, vt.retention_days, vt.purge_protection, "
	"v.content_type, k.key_uid::text AS key_uid, k.exportable, "
	"k.public_key, k.sealed_private_key, k.seal_nonce "
	"FROM certificates c JOIN vaults vt ON vt.id = c.vault_id "
	"JOIN certificate_versions v ON v.certificate_id = c.id "
	"JOIN keys k ON k.id = v.key_id "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL AND v.certificate_der IS NOT NULL "
	"AND (CASE WHEN $3 = '' THEN v.id = " LATEST_VERSION
	" ELSE v.version = lower($3) END)",
	/* The chain stored with a version, in order. */
	[STMT_VERSION_CHAIN] =
	"SELECT d.der FROM certificate_versions v "
	"CROSS JOIN LATERAL unnest(v.chain_der) WITH ORDINALITY AS d(der, n) "
	"WHERE v.id = $1 ORDER BY d.n",
	/* An issuer object of a vault, by name. */
	[STMT_ISSUER_GET] =
	"SELECT " ISSUER_COLUMNS "FROM issuers i "
	"WHERE i.vault_id = $1 AND lower(i.name) = lower($2)",
	/*
	 * STMT_DELETED_LOCK: the certificate's row lock, as STMT_CERT_LOCK,
	 * with what delete, recover and purge decide on.
	 */
	[STMT_DELETED_LOCK] =
	"SELECT c.id AS cert_id, c.deleted_at IS NOT NULL AS deleted, "
	"vt.purge_protection FROM certificates c "
	"JOIN vaults vt ON vt.id = c.vault_id "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) FOR UPDATE OF c",
	/*
	 * STMT_DELETED_MARK: soft delete.  The retention is added as seconds,
	 * not days, so that scheduledPurgeDate - deletedDate is exactly
	 * retention_days * 86400 whatever the session's time zone does.
	 */
	[STMT_DELETED_MARK] =
	"UPDATE certificates c SET deleted_at = now(), scheduled_purge_at = "
	"now() + vt.retention_days * interval '86400 seconds', "
	"recovery_id = $2 FROM vaults vt WHERE vt.id = c.vault_id AND c.id = $1",
	/* STMT_DELETED_RECOVER */
	[STMT_DELETED_RECOVER] =
	"UPDATE certificates SET deleted_at = NULL, scheduled_purge_at = NULL, "
	"recovery_id = NULL WHERE id = $1 AND deleted_at IS NOT NULL",
	/* STMT_DELETED_PURGE: versions, keys, operation go by cascade. */
	[STMT_DELETED_PURGE] =
	"DELETE FROM certificates WHERE id = $1 AND deleted_at IS NOT NULL",
	/*
	 * STMT_DELETED_GET: the latest version of a soft-deleted certificate
	 * with the columns of STMT_VERSION_GET, and its dates.
	 */
	[STMT_DELETED_GET] =
	"SELECT c.name, v.version, v.certificate_der, v.x5t, v.enabled, "
	"COALESCE(extract(epoch FROM v.not_before)::bigint, 0) AS nbf, "
	"COALESCE(extract(epoch FROM v.not_after)::bigint, 0) AS exp, "
	"extract(epoch FROM v.created_at)::bigint AS created, "
	"extract(epoch FROM v.updated_at)::bigint AS updated, "
	"v.tags::text AS tags, c.policy::text AS policy, "
	"extract(epoch FROM c.created_at)::bigint AS policy_created, "
	"extract(epoch FROM c.policy_updated_at)::bigint AS policy_updated, "
	"EXISTS (SELECT 1 FROM pending_operations p "
	"WHERE p.certificate_id = c.id) AS has_pending, "
	"vt.retention_days, vt.purge_protection, v.content_type, "
	"v.preserve_cert_order, "
	"extract(epoch FROM c.deleted_at)::bigint AS deleted, "
	"extract(epoch FROM c.scheduled_purge_at)::bigint AS scheduled_purge "
	"FROM certificates c JOIN vaults vt ON vt.id = c.vault_id "
	"JOIN certificate_versions v ON v.certificate_id = c.id "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NOT NULL AND v.id = " LATEST_VERSION,
	/*
	 * STMT_DELETED_LIST: keyset pagination by name, as STMT_CERT_LIST,
	 * over soft-deleted certificates.
	 */
	[STMT_DELETED_LIST] =
	"SELECT c.name, NULL AS version, " ITEM_COLUMNS ", "
	"extract(epoch FROM c.deleted_at)::bigint AS deleted, "
	"extract(epoch FROM c.scheduled_purge_at)::bigint AS scheduled_purge, "
	"vt.retention_days, vt.purge_protection "
	"FROM certificates c JOIN vaults vt ON vt.id = c.vault_id "
	"JOIN certificate_versions v ON v.id = " LATEST_VERSION " "
	"WHERE c.vault_id = $1 AND c.deleted_at IS NOT NULL "
	"AND ($2::text IS NULL OR lower(c.name) > lower($2)) "
	"AND ($4::boolean OR v.certificate_der IS NOT NULL) "
	"ORDER BY lower(c.name) LIMIT $3",
	/* STMT_BACKUP_CERT: a live certificate, kept as it is until commit. */
	[STMT_BACKUP_CERT] =
	"SELECT id, name, policy::text AS policy, tags::text AS tags, "
	"extract(epoch FROM created_at)::bigint AS created, "
	"extract(epoch FROM updated_at)::bigint AS updated, "
	"extract(epoch FROM policy_updated_at)::bigint AS policy_updated "
	"FROM certificates WHERE vault_id = $1 AND lower(name) = lower($2) "
	"AND deleted_at IS NULL FOR SHARE",
	/* STMT_BACKUP_KEYS */
	[STMT_BACKUP_KEYS] =
	"SELECT id, key_uid::text AS key_uid, kty, key_size, curve, "
	"exportable, public_key, sealed_private_key, seal_nonce, "
	"master_key_id, extract(epoch FROM created_at)::bigint AS created "
	"FROM keys WHERE certificate_id = $1 ORDER BY id",
	/* STMT_BACKUP_VERSIONS: oldest first, the order of a restore. */
	[STMT_BACKUP_VERSIONS] =
	"SELECT id, version, key_id, certificate_der, x5t, serial_number, "
	"subject, COALESCE(extract(epoch FROM not_before)::bigint, 0) AS nbf, "
	"COALESCE(extract(epoch FROM not_after)::bigint, 0) AS exp, enabled, "
	"tags::text AS tags, content_type, preserve_cert_order, "
	"extract(epoch FROM created_at)::bigint AS created, "
	"extract(epoch FROM updated_at)::bigint AS updated "
	"FROM certificate_versions WHERE certificate_id = $1 "
	"ORDER BY created_at, id",
	/* STMT_BACKUP_CHAINS: every version's chain, in order. */
	[STMT_BACKUP_CHAINS] =
	"SELECT v.id AS version_id, d.der FROM certificate_versions v "
	"CROSS JOIN LATERAL unnest(v.chain_der) WITH ORDINALITY AS d(der, n) "
	"WHERE v.certificate_id = $1 ORDER BY v.id, d.n",
	/* STMT_RESTORE_CERT: nothing if the name is taken, live or deleted. */
	[STMT_RESTORE_CERT] =
	"INSERT INTO certificates (vault_id, name, policy, tags, created_at, "
	"updated_at, policy_updated_at) VALUES ($1, $2, $3::jsonb, "
	"COALESCE($4::jsonb, '{}'), to_timestamp($5), to_timestamp($6), "
	"to_timestamp($7)) ON CONFLICT (vault_id, lower(name)) DO NOTHING "
	"RETURNING id",
	/* STMT_RESTORE_KEY */
	[STMT_RESTORE_KEY] =
	"INSERT INTO keys (key_uid, certificate_id, kty, key_size, curve, "
	"exportable, public_key, sealed_private_key, seal_nonce, master_key_id, "
	"created_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
	"to_timestamp($11)) RETURNING id",
	/* STMT_RESTORE_VERSION: with its id and timestamps. */
	[STMT_RESTORE_VERSION] =
	"INSERT INTO certificate_versions (certificate_id, version, key_id, "
	"certificate_der, x5t, serial_number, subject, not_before, not_after, "
	"enabled, tags, content_type, preserve_cert_order, created_at, "
	"updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8), "
	"to_timestamp($9), $10, COALESCE($11::jsonb, '{}'), $12, $13, "
	"to_timestamp($14), to_timestamp($15)) RETURNING id",
};

struct store {
	PGconn		*conn;
	char		*conninfo;
	bool		 in_tx;
	bool		 prepared[STMT__MAX];
	time_t		 last_complaint;	/* rate-limits outage logs */
};

/* The conninfo is kept; nothing connects until the first statement. */
struct store *
store_new(const char *conninfo)
{
	struct store	*st;
	size_t		 i;

	/* A statement missing from the table is a programming error. */
	for (i = 0; i < STMT__MAX; i++)
		if (stmts[i] == NULL)
			fatal("statement %zu has no SQL", i);
	st = cv_calloc(1, sizeof(*st));
	st->conninfo = cv_strdup(conninfo == NULL ? "" : conninfo);
	return st;
}

void
store_free(struct store *st)
{

	if (st == NULL)
		return;
	if (st->conn != NULL)
		PQfinish(st->conn);
	free(st->conninfo);
	free(st);
}

/*
 * Connect if not connected.  The configured string is expanded last so
 * that anything it says wins over our defaults (a short connect_timeout,
 * so that requests during an outage fail fast instead of hanging).
 */
enum cv_err
store_connect(struct store *st)
{
	const char *const keys[] = { "connect_timeout",
	    "fallback_application_name", "dbname", NULL };
	const char	*vals[] = { "3", "certvault", st->conninfo, NULL };
	time_t		 now;

	if (st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK)
		return CV_OK;
	if (st->conn != NULL)
		PQfinish(st->conn);
	memset(st->prepared, 0, sizeof(st->prepared));
	st->in_tx = false;
	st->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(st->conn) == CONNECTION_OK) {
		if (st->last_complaint != 0)
			log_info("database connection restored");
		st->last_complaint = 0;
		return CV_OK;
	}
	now = time(NULL);
	if (now - st->last_complaint >= 10) {
		log_warnx("could not connect to database: %s",
		    PQerrorMessage(st->conn));
		st->last_complaint = now;
	}
	PQfinish(st->conn);
	st->conn = NULL;
	return CV_ERR_UNAVAILABLE;
}

/*
 * Map a failed result to a cv_err (the one place for SQLSTATEs).
 * Connection loss is "unavailable"; unique violation is a conflict;
 * serialization failure and deadlock ask for a retry.
 */
static enum cv_err
store_error(struct store *st, const PGresult *res, enum stmt s)
{
	const char	*state;

	if (st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK) {
		log_warnx("lost database connection: %s",
		    st->conn == NULL ? "" : PQerrorMessage(st->conn));
		return CV_ERR_UNAVAILABLE;
	}
	state = res == NULL ? NULL : PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state != NULL && strcmp(state, "23505") == 0)
		return CV_ERR_CONFLICT;
	if (state != NULL && (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0))
		return CV_ERR_RETRY;
	if (state != NULL && (strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P03") == 0))
		return CV_ERR_UNAVAILABLE;
	log_error("statement %d failed: SQLSTATE %s: %s", (int)s,
	    state == NULL ? "?" : state,
	    res == NULL ? PQerrorMessage(st->conn) : PQresultErrorMessage(res));
	return CV_ERR_INTERNAL;
}

static enum cv_err
store_exec_once(struct store *st, enum stmt s, const struct store_params *p,
    PGresult **out)
{
	PGresult	*res;
	char		 name[16];
	ExecStatusType	 rs;
	enum cv_err	 er;

	if ((er = store_connect(st)) != CV_OK)
		return er;
	snprintf(name, sizeof(name), "s%d", (int)s);
	if (!st->prepared[s]) {
		res = PQprepare(st->conn, name, stmts[s], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			er = store_error(st, res, s);
			PQclear(res);
			return er;
		}
		PQclear(res);
		st->prepared[s] = true;
	}
	res = PQexecPrepared(st->conn, name, p == NULL ? 0 : p->n,
	    p == NULL ? NULL : p->values, p == NULL ? NULL : p->lengths,
	    p == NULL ? NULL : p->formats, 0);
	rs = PQresultStatus(res);
	if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
		er = store_error(st, res, s);
		PQclear(res);
		return er;
	}
	*out = res;
	return CV_OK;
}

/*
 * Run statement s with parameters p.  On success *out holds the result,
 * which the caller clears with PQclear().  A connection that died since
 * the last request (a database restart) is re-opened and the statement
 * tried once more, unless a transaction was open: its work is lost, and
 * the caller must see the error.
 */
enum cv_err
store_exec(struct store *st, enum stmt s, const struct store_params *p,
    PGresult **out)
{
	enum cv_err	 er;
	bool		 in_tx = st->in_tx;

	*out = NULL;
	er = store_exec_once(st, s, p, out);
	if (er == CV_ERR_UNAVAILABLE && !in_tx && st->conn != NULL) {
		PQfinish(st->conn);
		st->conn = NULL;
		er = store_exec_once(st, s, p, out);
	}
	return er;
}

void
store_param_text(struct store_params *p, const char *v)
{

	p->values[p->n] = v;
	p->lengths[p->n] = 0;
	p->formats[p->n] = 0;
	p->n++;
}

void
store_param_bytes(struct store_params *p, const void *v, int len)
{

	p->values[p->n] = v;
	p->lengths[p->n] = len;
	p->formats[p->n] = 1;
	p->n++;
}

void
store_param_int(struct store_params *p, int64_t v)
{

	snprintf(p->nums[p->n], sizeof(p->nums[p->n]), "%lld", (long long)v);
	store_param_text(p, p->nums[p->n]);
}

void
store_param_bool(struct store_params *p, bool v)
{

	store_param_text(p, v ? "true" : "false");
}

/*
 * A bytea column into out (a copy), left empty when SQL NULL.  Results
 * come back as text, so the value is unescaped first.
 */
enum cv_err
store_get_bytes(const PGresult *res, int row, const char *col,
    struct cv_bytes *out)
{
	unsigned char	*raw;
	size_t		 len;
	int		 c;

	out->data = NULL;
	out->len = 0;
	if ((c = PQfnumber(res, col)) < 0 || PQgetisnull(res, row, c))
		return CV_OK;
	raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, c),
	    &len);
	if (raw == NULL)
		return CV_ERR_INTERNAL;
	out->data = cv_malloc(len);
	memcpy(out->data, raw, len);
	out->len = len;
	PQfreemem(raw);
	return CV_OK;
}

/* A column of row as a new string, or NULL when SQL NULL. */
char *
store_get(const PGresult *res, int row, const char *col)
{
	int	 c;

	if ((c = PQfnumber(res, col)) < 0 || PQgetisnull(res, row, c))
		return NULL;
	return cv_strdup(PQgetvalue(res, row, c));
}

int64_t
store_get_int(const PGresult *res, int row, const char *col)
{
	int	 c;

	if ((c = PQfnumber(res, col)) < 0 || PQgetisnull(res, row, c))
		return 0;
	return strtoll(PQgetvalue(res, row, c), NULL, 10);
}

bool
store_get_bool(const PGresult *res, int row, const char *col)
{
	int	 c;

	if ((c = PQfnumber(res, col)) < 0 || PQgetisnull(res, row, c))
		return false;
	return PQgetvalue(res, row, c)[0] == 't';
}

/* True if the database answers a trivial query. */
bool
store_ping(struct store *st)
{
	PGresult	*res;

	if (store_exec(st, STMT_PING, NULL, &res) != CV_OK)
		return false;
	PQclear(res);
	return true;
}

static enum cv_err
store_simple(struct store *st, const char *sql)
{
	PGresult	*res;
	enum cv_err	 er = CV_OK;

	res = PQexec(st->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		er = store_error(st, res, STMT__MAX);
	PQclear(res);
	return er;
}

enum cv_err
store_begin(struct store *st)
{
	enum cv_err	 er;

	if ((er = store_connect(st)) != CV_OK)
		return er;
	/* A stale connection fails here first; begin on a fresh one. */
	if ((er = store_simple(st, "BEGIN")) == CV_ERR_UNAVAILABLE) {
		if ((er = store_connect(st)) != CV_OK)
			return er;
		er = store_simple(st, "BEGIN");
	}
	if (er == CV_OK)
		st->in_tx = true;
	return er;
}

enum cv_err
store_commit(struct store *st)
{
	enum cv_err	 er;

	er = store_simple(st, "COMMIT");
	st->in_tx = false;
	return er;
}

/* Roll back if a transaction is open; safe to call on any exit path. */
void
store_rollback(struct store *st)
{

	if (!st->in_tx)
		return;
	st->in_tx = false;
	if (st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK)
		(void)store_simple(st, "ROLLBACK");
}

/* Whether migration file name has been applied. */
enum cv_err
store_migration_applied(struct store *st, const char *name, bool *applied)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*applied = false;
	if ((er = store_exec(st, STMT_MIGRATE_HAS_TABLE, NULL, &res)) != CV_OK)
		return er;
	if (!store_get_bool(res, 0, "present")) {
		PQclear(res);
		return CV_OK;
	}
	PQclear(res);
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_MIGRATE_DONE, &p, &res)) != CV_OK)
		return er;
	*applied = PQntuples(res) > 0;
	PQclear(res);
	return CV_OK;
}

/*
 * Apply one migration file in one transaction, under an advisory lock so
 * concurrent migrators wait, and record it.  A file already recorded (by
 * a concurrent migrator) is skipped.  The SQL is the file's own text, run
 * as a script: it is ours, never built from input.
 */
enum cv_err
store_migration_apply(struct store *st, const char *name, const char *sql)
{
	PGresult		*res = NULL;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	bool			 done;

	if ((er = store_begin(st)) != CV_OK)
		return er;
	if ((er = store_exec(st, STMT_MIGRATE_LOCK, NULL, &res)) != CV_OK)
		goto out;
	PQclear(res);
	if ((er = store_migration_applied(st, name, &done)) != CV_OK)
		goto out;
	if (done) {
		store_rollback(st);
		return CV_OK;
	}
	res = PQexec(st->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("migration %s failed: %s", name,
		    PQresultErrorMessage(res));
		PQclear(res);
		er = CV_ERR_INTERNAL;
		goto out;
	}
	PQclear(res);
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_MIGRATE_RECORD, &p, &res)) != CV_OK)
		goto out;
	PQclear(res);
	er = store_commit(st);
out:
	store_rollback(st);
	return er;
}
