/*
 * certvault — the PostgreSQL connection, the statement table, and
 * transactions.  SPDX-License-Identifier: ISC
 *
 * One connection per process, opened after fork().  Every statement is
 * prepared once per connection, on first use, and again after a reconnect
 * (openradtool's stmts[STMT__MAX]); parameters always go out of line.
 *
 * No wait for the database is unbounded (README, request_timeout): a
 * connection attempt ends at connect_timeout, and statements are sent and
 * waited for with libpq's asynchronous calls and poll(2), so that a
 * server that stopped answering without closing the connection (frozen,
 * or its host or network gone) costs a request at most its deadline, not
 * the kernel's quarter of an hour of retransmissions.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "certvault.h"
#include "log.h"
#include "metrics.h"
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

/*
 * The latest version of certificate c: newest issued, else newest.  Two
 * backward walks of (certificate_id, created_at, id) that stop at their
 * first row, not a sort of all of c's versions.
 */
#define LATEST_VERSION \
	"COALESCE((SELECT lv.id FROM certificate_versions lv " \
	"WHERE lv.certificate_id = c.id AND lv.certificate_der IS NOT NULL " \
	"ORDER BY lv.created_at DESC, lv.id DESC LIMIT 1), " \
	"(SELECT lv.id FROM certificate_versions lv " \
	"WHERE lv.certificate_id = c.id " \
	"ORDER BY lv.created_at DESC, lv.id DESC LIMIT 1))"

/*
 * The id of version $3 of certificate c ('' for the latest), for v.id to
 * be looked up by: evaluated once, not once per version of c.  The
 * version also compares as bpchar so that the unique index
 * (certificate_id, version) can serve; the text comparison keeps the
 * meaning of version = lower($3).
 */
#define VERSION_ID \
	"CASE WHEN $3 = '' THEN " LATEST_VERSION " ELSE " \
	"(SELECT sv.id FROM certificate_versions sv " \
	"WHERE sv.certificate_id = c.id AND sv.version = lower($3)::bpchar " \
	"AND sv.version::text = lower($3)) END"

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
	/* STMT_PING: a hot standby answers, but cannot take a write. */
	[STMT_PING] =
	"SELECT NOT pg_is_in_recovery() AS writable",
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
	/* STMT_MIGRATE_LIST: what certvault-admin doctor compares. */
	[STMT_MIGRATE_LIST] =
	"SELECT filename FROM schema_migrations ORDER BY filename",
	/*
	 * STMT_CERT_LIST: keyset pagination by name; each certificate shows
	 * its latest version (as STMT_VERSION_GET picks it).  Certificates
	 * with only a pending version appear with includePending ($4).  The
	 * page starts with an index condition on (vault_id, lower(name)),
	 * also in a generic plan: no name is '', so COALESCE($2, '') is
	 * "from the start" (tests/integration/t_plans.sh).
	 */
	[STMT_CERT_LIST] =
	"SELECT c.name, NULL AS version, " ITEM_COLUMNS
	"FROM certificates c JOIN LATERAL (SELECT * FROM "
	"certificate_versions cv WHERE cv.certificate_id = c.id "
	"ORDER BY (cv.certificate_der IS NOT NULL) DESC, cv.created_at DESC, "
	"cv.id DESC LIMIT 1) v ON true "
	"WHERE c.vault_id = $1 AND c.deleted_at IS NULL "
	"AND lower(c.name) > lower(COALESCE($2::text, '')) "
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
	 * import and merge takes.  Only the lock: a statement that waited for
	 * it still sees the other tables as of its start, so what the lock
	 * protects is read by the next statement (STMT_CERT_LOCKED).
	 */
	[STMT_CERT_LOCK] =
	"SELECT c.id FROM certificates c "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"FOR UPDATE OF c",
	/* STMT_CERT_LOCKED: the locked row, its operation and pending key. */
	[STMT_CERT_LOCKED] =
	"SELECT c.id AS cert_id, c.name, c.deleted_at IS NOT NULL AS deleted, "
	PENDING_COLUMNS
	"FROM certificates c "
	"LEFT JOIN pending_operations p ON p.certificate_id = c.id "
	"LEFT JOIN certificate_versions v ON v.id = p.target_version_id "
	"LEFT JOIN keys k ON k.id = v.key_id "
	"WHERE c.id = $1",
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
	/*
	 * STMT_PENDING_COMPLETE: a merge; after a failure too, whose error
	 * goes (a completed operation carries none).
	 */
	[STMT_PENDING_COMPLETE] =
	"UPDATE pending_operations SET status = 'completed', "
	"status_details = NULL, error_code = NULL, error_message = NULL, "
	"next_attempt_at = NULL, finished_at = now(), "
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
	"JOIN certificate_versions v ON v.id = " VERSION_ID " "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL",
	/*
	 * STMT_CERT_VERSIONS: keyset pagination by creation.  s is where the
	 * page starts: after version $3 (none if there is no such version),
	 * or before everything when $3 is NULL; it is found once, then the
	 * page is one range of (certificate_id, created_at, id).
	 */
	[STMT_CERT_VERSIONS] =
	"SELECT c.name, v.version, " ITEM_COLUMNS
	"FROM certificates c CROSS JOIN LATERAL ("
	"SELECT sv.created_at, sv.id FROM certificate_versions sv "
	"WHERE $3::text IS NOT NULL AND sv.certificate_id = c.id "
	"AND sv.version = lower($3)::bpchar AND sv.version::text = lower($3) "
	"UNION ALL SELECT '-infinity'::timestamptz, 0::bigint "
	"WHERE $3::text IS NULL) s "
	"CROSS JOIN LATERAL (SELECT * FROM certificate_versions cv "
	"WHERE cv.certificate_id = c.id "
	"AND (cv.created_at, cv.id) > (s.created_at, s.id) "
	"ORDER BY cv.created_at, cv.id LIMIT $4) v "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL ORDER BY v.created_at, v.id LIMIT $4",
	/*
	 * STMT_VERSION_UPDATE: attributes and tags of one version; a version
	 * still waiting for its certificate stays disabled.
	 */
	[STMT_VERSION_UPDATE] =
	"UPDATE certificate_versions v SET enabled = CASE WHEN "
	"v.certificate_der IS NULL THEN v.enabled ELSE COALESCE($4, v.enabled) "
	"END, "
	"tags = COALESCE($5::jsonb, v.tags), updated_at = now() "
	"FROM certificates c WHERE v.certificate_id = c.id "
	"AND c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL AND v.id = " VERSION_ID " "
	"RETURNING v.version",
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
	"k.public_key, k.sealed_private_key, k.seal_nonce, k.master_key_id "
	"FROM certificates c JOIN vaults vt ON vt.id = c.vault_id "
	"JOIN certificate_versions v ON v.id = " VERSION_ID " "
	"JOIN keys k ON k.id = v.key_id "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL AND v.certificate_der IS NOT NULL",
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
	"JOIN certificate_versions v ON v.id = " LATEST_VERSION " "
	"WHERE c.vault_id = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NOT NULL",
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
	"AND lower(c.name) > lower(COALESCE($2::text, '')) "
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
	/*
	 * STMT_LIFETIME_SCAN: live certificates with lifetime actions, by id
	 * after $1, whose latest issued version was valid as of $4 (a trigger
	 * never fires before not_before), with the runs already recorded for
	 * that version that are final or backing off.  No lock: a candidate
	 * is claimed with STMT_LIFETIME_CLAIM.
	 */
	[STMT_LIFETIME_SCAN] =
	"SELECT c.id AS cert_id, c.vault_id, vt.name AS vault, vt.host, "
	"c.name, c.policy::text AS policy, lv.id AS version_id, lv.version, "
	"extract(epoch FROM lv.not_before)::bigint AS nbf, "
	"extract(epoch FROM lv.not_after)::bigint AS exp, "
	"lv.tags::text AS tags, "
	"EXISTS (SELECT 1 FROM pending_operations p WHERE p.certificate_id = "
	"c.id AND p.status = 'inProgress') AS in_progress, "
	"array_to_string(ARRAY(SELECT r.action_type || ' ' || r.trigger "
	"FROM lifetime_action_runs r WHERE r.certificate_version_id = lv.id "
	"AND (r.outcome <> 'error' OR r.next_attempt_at > now())), ',') "
	"AS done "
	"FROM certificates c JOIN vaults vt ON vt.id = c.vault_id "
	"JOIN LATERAL (SELECT v.id, v.version, v.not_before, v.not_after, "
	"v.tags FROM certificate_versions v WHERE v.certificate_id = c.id "
	"AND v.certificate_der IS NOT NULL "
	"ORDER BY v.created_at DESC, v.id DESC LIMIT 1) lv ON true "
	"WHERE c.deleted_at IS NULL AND c.id > $1 "
	"AND CASE WHEN jsonb_typeof(c.policy -> 'lifetime_actions') = 'array' "
	"THEN jsonb_array_length(c.policy -> 'lifetime_actions') > 0 END "
	"AND lv.not_before <= to_timestamp($4) "
	"AND ($2::text IS NULL OR vt.name = $2) "
	"AND ($3::text IS NULL OR lower(c.name) = lower($3)) "
	"ORDER BY c.id LIMIT $5",
	/* STMT_LIFETIME_CLAIM: any number of workers, no double work. */
	[STMT_LIFETIME_CLAIM] =
	"SELECT id FROM certificates WHERE id = $1 AND deleted_at IS NULL "
	"FOR UPDATE SKIP LOCKED",
	/* STMT_LIFETIME_CHECK: under the lock, is the action still to do? */
	[STMT_LIFETIME_CHECK] =
	"SELECT (SELECT lv.id FROM certificate_versions lv "
	"WHERE lv.certificate_id = c.id AND lv.certificate_der IS NOT NULL "
	"ORDER BY lv.created_at DESC, lv.id DESC LIMIT 1) = $2 AS latest, "
	"EXISTS (SELECT 1 FROM pending_operations p WHERE p.certificate_id = "
	"c.id AND p.status = 'inProgress') AS in_progress, "
	"EXISTS (SELECT 1 FROM lifetime_action_runs r "
	"WHERE r.certificate_version_id = $2 AND r.action_type = $3 "
	"AND r.trigger = $4 AND (r.outcome <> 'error' "
	"OR r.next_attempt_at > now())) AS done "
	"FROM certificates c WHERE c.id = $1 AND c.deleted_at IS NULL",
	/*
	 * STMT_LIFETIME_RECORD: a run, or the next attempt of a failed one;
	 * a failure backs off from 1 minute, doubling, to 1 hour.
	 */
	[STMT_LIFETIME_RECORD] =
	"INSERT INTO lifetime_action_runs AS r (certificate_id, "
	"certificate_version_id, action_type, trigger, due_at, "
	"evaluated_as_of, outcome, details, recipients, new_version, error, "
	"next_attempt_at) "
	"VALUES ($1, $2, $3, $4, to_timestamp($5), to_timestamp($6), $7, $8, "
	"string_to_array($9, ','), $10, $11, CASE WHEN $7 = 'error' "
	"THEN now() + interval '60 seconds' END) "
	"ON CONFLICT ON CONSTRAINT lifetime_action_runs_once DO UPDATE SET "
	"due_at = EXCLUDED.due_at, evaluated_as_of = EXCLUDED.evaluated_as_of, "
	"outcome = EXCLUDED.outcome, details = EXCLUDED.details, "
	"recipients = EXCLUDED.recipients, new_version = EXCLUDED.new_version, "
	"error = EXCLUDED.error, attempts = r.attempts + 1, run_at = now(), "
	"next_attempt_at = CASE WHEN EXCLUDED.outcome = 'error' THEN now() + "
	"LEAST(3600, 60 * power(2, r.attempts)) * interval '1 second' END "
	"WHERE r.outcome = 'error' "
	"RETURNING attempts, "
	"extract(epoch FROM next_attempt_at)::bigint AS next_attempt",
	[STMT_LIFETIME_ORIGIN] =
	"UPDATE pending_operations SET origin = 'autorenew' "
	"WHERE certificate_id = $1",
	/*
	 * STMT_ISSUE_CLAIM: the issuer-backed operation due longest, leased
	 * to worker $1 for $2 seconds: a worker that dies holding it lets
	 * it come back when the lease runs out.  Any number of workers, no
	 * double claims (FOR UPDATE SKIP LOCKED).
	 */
	[STMT_ISSUE_CLAIM] =
	"UPDATE pending_operations p SET attempts = p.attempts + 1, "
	"next_attempt_at = now() + make_interval(secs => $2::integer), "
	"claimed_by = $1, claimed_at = now(), updated_at = now() "
	"FROM certificates c JOIN vaults v ON v.id = c.vault_id "
	"WHERE c.id = p.certificate_id AND p.id = (SELECT q.id "
	"FROM pending_operations q WHERE q.status = 'inProgress' "
	"AND q.next_attempt_at <= now() AND q.issuer_provider IS NOT NULL "
	"ORDER BY q.next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
	"RETURNING p.id AS op_id, p.request_id, p.issuer_name, "
	"p.issuer_provider, p.csr, p.cancellation_requested, "
	"p.approved_at IS NOT NULL AS approved, p.attempts, c.vault_id, "
	"v.name AS vault_name, c.name AS cert_name, "
	"p.provider_state::text AS provider_state",
	/*
	 * STMT_ISSUE_RETRY: a transient failure; try again after 2^attempts
	 * seconds, at most five minutes.
	 */
	[STMT_ISSUE_RETRY] =
	"UPDATE pending_operations SET worker_last_error = $2, "
	"next_attempt_at = now() + LEAST(300, power(2, LEAST(attempts, 16)))"
	"::integer * interval '1 second', updated_at = now() "
	"WHERE id = $1 AND status = 'inProgress'",
	/*
	 * STMT_ISSUE_WAIT: nothing to do until an operator approves; not if
	 * an approval or a cancellation came in since the claim.
	 */
	[STMT_ISSUE_WAIT] =
	"UPDATE pending_operations SET status_details = $2, "
	"next_attempt_at = NULL, worker_last_error = NULL, updated_at = now() "
	"WHERE id = $1 AND status = 'inProgress' AND approved_at IS NULL "
	"AND NOT cancellation_requested",
	/* STMT_ISSUE_FINISH: completed, failed or cancelled. */
	[STMT_ISSUE_FINISH] =
	"UPDATE pending_operations SET status = $2, status_details = $3, "
	"error_code = $4, error_message = $5, next_attempt_at = NULL, "
	"finished_at = now(), worker_last_error = NULL, updated_at = now() "
	"WHERE id = $1 AND status = 'inProgress'",
	/* STMT_ISSUE_CA_GET: a LocalCA issuer's CA, if it has one yet. */
	[STMT_ISSUE_CA_GET] =
	"SELECT i.id, i.ca_chain_der[1] AS ca_cert, "
	"ic.credential_uid::text AS credential_uid, ic.sealed_value, "
	"ic.seal_nonce, ic.master_key_id FROM issuers i "
	"LEFT JOIN issuer_credentials ic ON ic.issuer_id = i.id "
	"AND ic.credential_type = 'ca_private_key' WHERE i.id = $1",
	/* STMT_ISSUE_CA_LOCK: the same, locking the issuer: one CA each. */
	[STMT_ISSUE_CA_LOCK] =
	"SELECT i.id, i.ca_chain_der[1] AS ca_cert, "
	"ic.credential_uid::text AS credential_uid, ic.sealed_value, "
	"ic.seal_nonce, ic.master_key_id FROM issuers i "
	"LEFT JOIN issuer_credentials ic ON ic.issuer_id = i.id "
	"AND ic.credential_type = 'ca_private_key' WHERE i.id = $1 "
	"FOR UPDATE OF i",
	[STMT_ISSUE_CA_KEY_PUT] =
	"INSERT INTO issuer_credentials (credential_uid, issuer_id, "
	"credential_type, sealed_value, seal_nonce, master_key_id) "
	"VALUES ($1::uuid, $2, 'ca_private_key', $3, $4, $5) "
	"ON CONFLICT (issuer_id, credential_type) DO UPDATE SET "
	"credential_uid = EXCLUDED.credential_uid, "
	"sealed_value = EXCLUDED.sealed_value, "
	"seal_nonce = EXCLUDED.seal_nonce, "
	"master_key_id = EXCLUDED.master_key_id, updated_at = now()",
	[STMT_ISSUE_CA_CERT_PUT] =
	"UPDATE issuers SET ca_chain_der = ARRAY[$2::bytea] WHERE id = $1",
	/*
	 * STMT_ISSUE_ADMIN_LOCK: certvault-admin takes the certificate's row
	 * lock (as STMT_CERT_LOCK), then reads its operation with
	 * STMT_ISSUE_ADMIN_OP: a new statement sees what committed while
	 * the lock was awaited.
	 */
	[STMT_ISSUE_ADMIN_LOCK] =
	"SELECT c.id FROM certificates c JOIN vaults v ON v.id = c.vault_id "
	"WHERE v.name = $1 AND lower(c.name) = lower($2) "
	"AND c.deleted_at IS NULL FOR UPDATE OF c",
	[STMT_ISSUE_APPROVE] =
	"UPDATE pending_operations SET approved_at = now(), approved_by = $2, "
	"status_details = $3, next_attempt_at = now(), updated_at = now() "
	"WHERE id = $1 AND status = 'inProgress' AND approved_at IS NULL",
	/* STMT_ISSUE_LIST: pending_operations_overview for operators. */
	[STMT_ISSUE_LIST] =
	"SELECT o.vault_name, o.certificate_name, o.status, o.issuer_name, "
	"o.issuer_provider, o.request_id, o.cancellation_requested, "
	"date_trunc('second', o.age)::text AS age, o.attempts, "
	"to_char(o.next_attempt_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS next_attempt, o.claimed_by, "
	"o.error_code, o.error_message, o.worker_last_error, p.approved_by "
	"FROM pending_operations_overview o "
	"JOIN pending_operations p ON p.id = o.pending_operation_id "
	"WHERE $1::text IS NULL OR o.vault_name = $1 "
	"ORDER BY o.created_at, o.pending_operation_id",
	[STMT_ISSUE_VAULT_ID] =
	"SELECT id FROM vaults WHERE name = $1",
	[STMT_ISSUE_ADMIN_OP] =
	"SELECT c.id AS cert_id, c.vault_id, p.id AS op_id, p.request_id, "
	"p.status, p.issuer_name, p.issuer_provider, p.approved_by, "
	"p.cancellation_requested FROM certificates c "
	"LEFT JOIN pending_operations p ON p.certificate_id = c.id "
	"WHERE c.id = $1",
	/* STMT_ISSUER_LOCK: PATCH and DELETE of an issuer hold its row. */
	[STMT_ISSUER_LOCK] =
	"SELECT " ISSUER_COLUMNS "FROM issuers i "
	"WHERE i.vault_id = $1 AND lower(i.name) = lower($2) FOR UPDATE OF i",
	/*
	 * STMT_ISSUER_UPSERT: PUT creates, or replaces the settings in place
	 * (same id and name); worker-owned columns (provider_config,
	 * ca_chain_der) stay.
	 */
	[STMT_ISSUER_UPSERT] =
	"INSERT INTO issuers (vault_id, name, provider, enabled, account_id, "
	"organization_id, admin_details, requires_approval) "
	"VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7::jsonb, '[]'), $8) "
	"ON CONFLICT (vault_id, lower(name)) DO UPDATE SET "
	"provider = EXCLUDED.provider, enabled = EXCLUDED.enabled, "
	"account_id = EXCLUDED.account_id, "
	"organization_id = EXCLUDED.organization_id, "
	"admin_details = EXCLUDED.admin_details, "
	"requires_approval = EXCLUDED.requires_approval, updated_at = now() "
	"RETURNING id",
	/* STMT_ISSUER_UPDATE: every setting of a PATCH, merged. */
	[STMT_ISSUER_UPDATE] =
	"UPDATE issuers SET provider = $2, enabled = $3, account_id = $4, "
	"organization_id = $5, admin_details = COALESCE($6::jsonb, '[]'), "
	"requires_approval = $7, updated_at = now() WHERE id = $1",
	/* STMT_ISSUER_PWD_SET: credentials.pwd, sealed (fresh uid each time). */
	[STMT_ISSUER_PWD_SET] =
	"INSERT INTO issuer_credentials (issuer_id, credential_uid, "
	"credential_type, sealed_value, seal_nonce, master_key_id) "
	"VALUES ($1, $2::uuid, 'password', $3, $4, $5) "
	"ON CONFLICT ON CONSTRAINT issuer_credentials_one_per_type DO UPDATE "
	"SET credential_uid = EXCLUDED.credential_uid, "
	"sealed_value = EXCLUDED.sealed_value, "
	"seal_nonce = EXCLUDED.seal_nonce, "
	"master_key_id = EXCLUDED.master_key_id, updated_at = now()",
	[STMT_ISSUER_PWD_DELETE] =
	"DELETE FROM issuer_credentials WHERE issuer_id = $1 "
	"AND credential_type = 'password'",
	/*
	 * STMT_ISSUER_USERS: certificates of the vault whose operation in
	 * progress names the issuer (which refuses its delete), the first
	 * $3 by name, with how many there are in all.
	 */
	[STMT_ISSUER_USERS] =
	"SELECT c.name, c.deleted_at IS NOT NULL AS deleted, "
	"count(*) OVER () AS total FROM pending_operations p "
	"JOIN certificates c ON c.id = p.certificate_id "
	"WHERE c.vault_id = $1 AND p.status = 'inProgress' "
	"AND lower(p.issuer_name) = lower($2) ORDER BY lower(c.name) LIMIT $3",
	/* STMT_ISSUER_DELETE: sealed credentials go by cascade. */
	[STMT_ISSUER_DELETE] =
	"DELETE FROM issuers WHERE id = $1",
	/* STMT_ISSUER_LIST: keyset pagination by name, as STMT_CERT_LIST. */
	[STMT_ISSUER_LIST] =
	"SELECT i.name, i.provider FROM issuers i WHERE i.vault_id = $1 "
	"AND lower(i.name) > lower(COALESCE($2::text, '')) "
	"ORDER BY lower(i.name) LIMIT $3",
	/*
	 * STMT_VAULT_LOCK: writers of a vault-wide list (contacts) take
	 * turns on the vault's row; NO KEY UPDATE does not block the
	 * foreign-key checks of inserts elsewhere in the vault.
	 */
	[STMT_VAULT_LOCK] =
	"SELECT id FROM vaults WHERE id = $1 FOR NO KEY UPDATE",
	[STMT_CONTACTS_GET] =
	"SELECT email, name, phone FROM contacts WHERE vault_id = $1 "
	"ORDER BY sort_order",
	/* STMT_CONTACTS_DELETE: the removed list, in its order. */
	[STMT_CONTACTS_DELETE] =
	"WITH d AS (DELETE FROM contacts WHERE vault_id = $1 "
	"RETURNING sort_order, email, name, phone) "
	"SELECT email, name, phone FROM d ORDER BY sort_order",
	[STMT_CONTACT_INSERT] =
	"INSERT INTO contacts (vault_id, sort_order, email, name, phone) "
	"VALUES ($1, $2, $3, $4, $5)",
	/*
	 * STMT_ISSUE_LATER: a provider's operation is under way; look again
	 * after $2 seconds, keeping its progress ($4, JSON) and telling the
	 * user where it is ($3); $5 the transient error, if one.
	 */
	[STMT_ISSUE_LATER] =
	"UPDATE pending_operations SET status_details = $3, "
	"provider_state = $4::jsonb, worker_last_error = $5, "
	"next_attempt_at = now() + make_interval(secs => $2::integer), "
	"updated_at = now() WHERE id = $1 AND status = 'inProgress'",
	/* STMT_ACME_ACCOUNT_GET: an ACME issuer's account, key and EAB key. */
	[STMT_ACME_ACCOUNT_GET] =
	"SELECT a.directory_url, a.account_url, "
	"k.credential_uid::text AS key_uid, k.sealed_value AS key_sealed, "
	"k.seal_nonce AS key_nonce, k.master_key_id AS key_master, "
	"w.credential_uid::text AS pwd_uid, w.sealed_value AS pwd_sealed, "
	"w.seal_nonce AS pwd_nonce, w.master_key_id AS pwd_master "
	"FROM issuers i LEFT JOIN acme_accounts a ON a.issuer_id = i.id "
	"LEFT JOIN issuer_credentials k ON k.issuer_id = i.id "
	"AND k.credential_type = 'acme_account_key' "
	"LEFT JOIN issuer_credentials w ON w.issuer_id = i.id "
	"AND w.credential_type = 'password' WHERE i.id = $1",
	/* STMT_ACME_KEY_PUT: the first account key stored wins. */
	[STMT_ACME_KEY_PUT] =
	"INSERT INTO issuer_credentials (credential_uid, issuer_id, "
	"credential_type, sealed_value, seal_nonce, master_key_id) "
	"VALUES ($1::uuid, $2, 'acme_account_key', $3, $4, $5) "
	"ON CONFLICT (issuer_id, credential_type) DO NOTHING",
	[STMT_ACME_ACCOUNT_PUT] =
	"INSERT INTO acme_accounts (issuer_id, directory_url, account_url) "
	"VALUES ($1, $2, $3) ON CONFLICT (issuer_id) DO UPDATE SET "
	"directory_url = EXCLUDED.directory_url, "
	"account_url = EXCLUDED.account_url, updated_at = now()",
	[STMT_ACME_CHALLENGE_PUT] =
	"INSERT INTO acme_challenges (token, key_authorization, "
	"operation_id, identifier) VALUES ($1, $2, $3, $4) "
	"ON CONFLICT (token) DO UPDATE SET "
	"key_authorization = EXCLUDED.key_authorization, "
	"operation_id = EXCLUDED.operation_id, "
	"identifier = EXCLUDED.identifier, created_at = now()",
	/* STMT_ACME_CHALLENGE_GET: the http-01 answer, for any Host. */
	[STMT_ACME_CHALLENGE_GET] =
	"SELECT key_authorization FROM acme_challenges WHERE token = $1",
	[STMT_ACME_CHALLENGES_CLEAR] =
	"DELETE FROM acme_challenges WHERE operation_id = $1",
	/*
	 * STMT_POOL_TAKE: the oldest pooled key of a type, used once: a
	 * concurrent create skips the row another one holds.
	 */
	[STMT_POOL_TAKE] =
	"DELETE FROM key_pool WHERE id = (SELECT id FROM key_pool "
	"WHERE key_spec = $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
	"RETURNING key_uid::text AS key_uid, public_key, sealed_private_key, "
	"seal_nonce, master_key_id",
	[STMT_POOL_COUNT] =
	"SELECT count(*) AS n FROM key_pool WHERE key_spec = $1",
	/*
	 * STMT_POOL_LOCK: one refill of key type $1 at a time, on any host,
	 * until the transaction ends; STMT_POOL_PUT then sees every key
	 * another worker added before it.
	 */
	[STMT_POOL_LOCK] =
	"SELECT pg_advisory_xact_lock(hashtext('certvault key pool ' || $1))",
	/* STMT_POOL_PUT: the key, only while type $9 has fewer than $10. */
	[STMT_POOL_PUT] =
	"INSERT INTO key_pool (key_uid, kty, key_size, curve, public_key, "
	"sealed_private_key, seal_nonce, master_key_id) "
	"SELECT $1::uuid, $2::text, $3::integer, $4::text, $5::bytea, "
	"$6::bytea, $7::bytea, $8::text "
	"WHERE (SELECT count(*) FROM key_pool WHERE key_spec = $9::text) < "
	"$10::bigint",
	/*
	 * STMT_AUDIT_INSERT: one audit record (a vault given by name only
	 * is looked up); what the client sent is cut to the columns'
	 * limits.
	 */
	[STMT_AUDIT_INSERT] =
	"INSERT INTO audit_log (vault_id, vault_name, actor, token_id, "
	"actor_detail, remote_addr, client_request_id, operation, "
	"object_type, object_name, object_version, outcome, http_status, "
	"error_code) VALUES (coalesce(NULLIF($1::bigint, 0), "
	"(SELECT id FROM vaults WHERE name = $2)), $2, $3, "
	"NULLIF($4::bigint, 0), $5, $6::inet, left($7, 256), $8, $9, "
	"left($10, 1024), left($11, 64), $12, $13, $14) RETURNING id",
	/* STMT_AUDIT_FINISH: the outcome of audit record $1, once known. */
	[STMT_AUDIT_FINISH] =
	"UPDATE audit_log SET outcome = $2, http_status = $3, "
	"error_code = $4 WHERE id = $1 AND outcome = 'started'",
	/*
	 * STMT_RESEAL_*_PICK: up to $3 rows after id $4 (keyset: a pass
	 * walks the primary key once) sealed under one of the master keys
	 * $1 (certvault-admin rotate-master-key), rows $2 excluded (they
	 * failed), locked for the batch's short transaction; a row a
	 * service holds is skipped and taken by a later pass.
	 */
	[STMT_RESEAL_KEYS_PICK] =
	"SELECT id, key_uid::text AS uid, sealed_private_key AS sealed, "
	"seal_nonce AS nonce, master_key_id FROM keys "
	"WHERE master_key_id = ANY($1::text[]) AND id <> ALL($2::bigint[]) "
	"AND id > $4 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
	/* STMT_RESEAL_*_PUT: the row sealed again under master key $4. */
	[STMT_RESEAL_KEYS_PUT] =
	"UPDATE keys SET sealed_private_key = $2, seal_nonce = $3, "
	"master_key_id = $4 WHERE id = $1 AND master_key_id = $5",
	[STMT_RESEAL_POOL_PICK] =
	"SELECT id, key_uid::text AS uid, sealed_private_key AS sealed, "
	"seal_nonce AS nonce, master_key_id FROM key_pool "
	"WHERE master_key_id = ANY($1::text[]) AND id <> ALL($2::bigint[]) "
	"AND id > $4 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
	[STMT_RESEAL_POOL_PUT] =
	"UPDATE key_pool SET sealed_private_key = $2, seal_nonce = $3, "
	"master_key_id = $4 WHERE id = $1 AND master_key_id = $5",
	[STMT_RESEAL_CRED_PICK] =
	"SELECT id, credential_uid::text AS uid, sealed_value AS sealed, "
	"seal_nonce AS nonce, master_key_id FROM issuer_credentials "
	"WHERE master_key_id = ANY($1::text[]) AND id <> ALL($2::bigint[]) "
	"AND id > $4 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
	[STMT_RESEAL_CRED_PUT] =
	"UPDATE issuer_credentials SET sealed_value = $2, seal_nonce = $3, "
	"master_key_id = $4, updated_at = now() "
	"WHERE id = $1 AND master_key_id = $5",
	/*
	 * STMT_RESEAL_LEFT: what is not sealed under master key $1, per
	 * table and key, with the first row ids (no lock: a report).
	 */
	[STMT_RESEAL_LEFT] =
	"SELECT t, master_key_id, count(*) AS n, "
	"array_to_string((array_agg(id ORDER BY id))[1:10], ', ') AS ids "
	"FROM (SELECT 'keys' AS t, id, master_key_id FROM keys "
	"UNION ALL SELECT 'key_pool', id, master_key_id FROM key_pool "
	"UNION ALL SELECT 'issuer_credentials', id, master_key_id "
	"FROM issuer_credentials) s WHERE master_key_id <> $1 "
	"GROUP BY t, master_key_id ORDER BY t, master_key_id",
	/*
	 * STMT_RATE_TAKE: one request from each of buckets $1 and $3 (''
	 * for none), holding up to $2 and $4 requests and refilled with a
	 * tenth of that each second; what is left in each, negative when
	 * empty (a refused request takes one too, down to minus the cap).
	 */
	[STMT_RATE_TAKE] =
	"INSERT INTO rate_buckets AS b (bucket, tokens, refreshed_at) "
	"SELECT k, cap - 1, now() FROM (VALUES ($1, $2::float8), "
	"($3, $4::float8)) AS v (k, cap) WHERE k <> '' "
	"ON CONFLICT (bucket) DO UPDATE SET tokens = GREATEST("
	"-(EXCLUDED.tokens + 1), LEAST(EXCLUDED.tokens + 1, b.tokens + "
	"extract(epoch FROM now() - b.refreshed_at) * "
	"(EXCLUDED.tokens + 1) / 10.0) - 1), refreshed_at = now() "
	"RETURNING bucket, tokens",
	/*
	 * STMT_HEARTBEAT: worker $1 (host $2, pid $3, started at Unix
	 * time $4) finished a pass: counters $5-$7, $8 the error of this
	 * pass or NULL.  Rows of workers unseen for a day go at the same
	 * time (crashed workers never delete their own).
	 */
	[STMT_HEARTBEAT] =
	"WITH pruned AS (DELETE FROM worker_heartbeats "
	"WHERE last_seen < now() - interval '1 day' AND worker_id <> $1) "
	"INSERT INTO worker_heartbeats AS h (worker_id, hostname, pid, "
	"started_at, passes, claims, failures, last_error, last_error_at) "
	"VALUES ($1, $2, $3, to_timestamp($4), $5, $6, $7, $8::text, "
	"CASE WHEN $8::text IS NULL THEN NULL ELSE now() END) "
	"ON CONFLICT (worker_id) DO UPDATE SET last_seen = now(), "
	"passes = EXCLUDED.passes, claims = EXCLUDED.claims, "
	"failures = EXCLUDED.failures, "
	"last_error = COALESCE(EXCLUDED.last_error, h.last_error), "
	"last_error_at = COALESCE(EXCLUDED.last_error_at, h.last_error_at)",
	[STMT_HEARTBEAT_GONE] =
	"DELETE FROM worker_heartbeats WHERE worker_id = $1",
	/*
	 * STMT_OPS_PENDING: pending operations by status and provider
	 * (Self and Unknown named as such), with the age in seconds of the
	 * oldest still in progress.
	 */
	[STMT_OPS_PENDING] =
	"SELECT status, COALESCE(issuer_provider, CASE lower(issuer_name) "
	"WHEN 'self' THEN 'Self' WHEN 'unknown' THEN 'Unknown' "
	"ELSE '' END) AS provider, count(*) AS n, "
	"COALESCE(extract(epoch FROM now() - min(created_at) FILTER "
	"(WHERE status = 'inProgress'))::bigint, 0) AS oldest "
	"FROM pending_operations GROUP BY 1, 2 ORDER BY 1, 2",
	[STMT_OPS_POOL] =
	"SELECT key_spec, keys FROM key_pool_depth ORDER BY key_spec",
	[STMT_OPS_WORKERS] =
	"SELECT worker_id, hostname, pid, "
	"extract(epoch FROM started_at)::bigint AS started, "
	"extract(epoch FROM now() - last_seen)::float8 AS age, passes, "
	"claims, failures, last_error, "
	"extract(epoch FROM last_error_at)::bigint AS last_error_at "
	"FROM worker_heartbeats ORDER BY hostname, pid",
	/*
	 * STMT_STATUS_GROUPS: pending operations by vault and status (at
	 * most $1 groups; inProgress first, then failed): how many, the age in seconds of the oldest, and
	 * the newest error text among them (the failure's message, else
	 * the worker's last transient error).  The vault of each operation
	 * is looked up by its certificate's primary key, so the cost grows
	 * with pending_operations, never with all certificates.
	 */
	[STMT_STATUS_GROUPS] =
	"WITH g AS (SELECT (SELECT c.vault_id FROM certificates c "
	"WHERE c.id = p.certificate_id) AS vault_id, p.status, "
	"count(*) AS n, min(p.created_at) AS first, "
	"(array_agg(COALESCE(p.error_message, p.error_code, "
	"p.worker_last_error) ORDER BY p.updated_at DESC, p.id DESC) "
	"FILTER (WHERE COALESCE(p.error_message, p.error_code, "
	"p.worker_last_error) IS NOT NULL))[1] AS last_error "
	"FROM pending_operations p GROUP BY 1, 2) "
	"SELECT v.name AS vault, g.status, g.n, "
	"extract(epoch FROM now() - g.first)::bigint AS oldest, "
	"g.last_error FROM g JOIN vaults v ON v.id = g.vault_id "
	"ORDER BY v.name, CASE g.status WHEN 'inProgress' THEN 0 "
	"WHEN 'failed' THEN 1 WHEN 'cancelled' THEN 2 ELSE 3 END LIMIT $1",
	/*
	 * STMT_STATUS_OLDEST: the $1 oldest operations still inProgress,
	 * with what an operator needs to see why they wait: next_in is the
	 * seconds until a worker takes it again (negative: overdue; NULL:
	 * nothing for the worker to do, e.g. waiting for a merge).
	 */
	[STMT_STATUS_OLDEST] =
	"SELECT v.name AS vault, c.name AS certificate, p.issuer_name, "
	"COALESCE(p.issuer_provider, '') AS provider, "
	"extract(epoch FROM now() - p.created_at)::bigint AS age, "
	"p.status_details, p.worker_last_error, p.attempts, "
	"extract(epoch FROM p.next_attempt_at - now())::bigint AS next_in, "
	"p.claimed_by, p.cancellation_requested AS cancel "
	"FROM (SELECT * FROM pending_operations WHERE status = 'inProgress' "
	"ORDER BY created_at, id LIMIT $1) p "
	"JOIN certificates c ON c.id = p.certificate_id "
	"JOIN vaults v ON v.id = c.vault_id ORDER BY p.created_at, p.id",
};

/*
 * Seconds a statement may wait beyond request_timeout (statement_timeout)
 * before certvault stops waiting: enough for PostgreSQL's own cancel to
 * arrive first (57014, the connection kept), so that only a server that
 * does not answer at all costs the connection.
 */
#define STORE_GRACE		2

/*
 * Connection defaults; database_url may override each.  connect_timeout
 * bounds a connection attempt to each host (libpq's rule).  The TCP
 * settings find a dead server while a connection is idle or a request is
 * unanswered: a keepalive probe after 10 s of silence, then every 2 s,
 * the connection given up after 3 unanswered (16 s) or when data sent
 * stays unacknowledged for 10 s (tcp_user_timeout).  None of them
 * applies to a unix socket, where the peer cannot vanish unnoticed.
 */
#define STORE_CONNECT_TIMEOUT	"3"

struct store {
	PGconn		*conn;
	char		*conninfo;
	bool		 in_tx;
	bool		 prepared[STMT__MAX];
	time_t		 last_complaint;	/* rate-limits outage logs */
	char		*last_error;	/* why the last connect failed */
	char		 options[64];	/* server options: statement_timeout */
	unsigned	 timeout;	/* request_timeout, seconds; 0: none */
	int64_t		 deadline;	/* request's end (mono_ms); 0: none */
};

static void	store_drop(struct store *);

/*
 * Wait until fd is ready for events or the time is end (cv_mono_ms; -1: no
 * end).  Return 1 when ready (or in error: the caller's next libpq call
 * says which), 0 at end, -1 if poll itself failed.  A signal does not
 * cut the wait short: the statement is finished first (the stop flags
 * are looked at between statements).
 */
static int
store_poll(int fd, short events, int64_t end)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 n;

	if (fd < 0)
		return 1;
	for (;;) {
		left = -1;
		if (end >= 0 && (left = end - cv_mono_ms()) <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * When the wait for a statement starting now must end (cv_mono_ms; -1:
 * never): request_timeout plus STORE_GRACE, and never past the deadline
 * of the request.
 */
static int64_t
store_wait_end(const struct store *st)
{
	int64_t	 end = -1;

	if (st->timeout != 0)
		end = cv_mono_ms() + (int64_t)(st->timeout + STORE_GRACE) * 1000;
	if (st->deadline != 0 && (end < 0 || st->deadline < end))
		end = st->deadline;
	return end;
}

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
	store_drop(st);
	free(st->conninfo);
	free(st->last_error);
	free(st);
}

/*
 * The statement table as it is prepared, for tests and tools that must
 * run exactly this SQL (tests/plans/stmt_dump.c): i is an enum stmt.
 */
int
store_stmt_count(void)
{

	return STMT__MAX;
}

const char *
store_stmt_sql(int i)
{

	return i >= 0 && i < STMT__MAX ? stmts[i] : NULL;
}

/*
 * Bound every statement of st to seconds (0: no bound), from the next
 * connection on: PostgreSQL cancels one that runs or waits for a lock
 * longer (SQLSTATE 57014, CV_ERR_TIMEOUT), so that no request hangs.
 */
void
store_set_timeout(struct store *st, unsigned seconds)
{

	st->timeout = seconds;
	if (seconds == 0)
		st->options[0] = '\0';
	else
		snprintf(st->options, sizeof(st->options),
		    "-c statement_timeout=%us", seconds);
}

/*
 * Bound every wait of st, from now until the next call, by the request's
 * deadline: request_timeout + STORE_GRACE seconds from now (on), or lift
 * that bound (off; each statement is then bounded on its own).  Once the
 * deadline has passed, statements fail at once with CV_ERR_TIMEOUT and no
 * connection is attempted, so a request waits for the database about
 * request_timeout in all, however many statements it runs (a connection
 * attempt begun before the deadline may end up to connect_timeout later).
 */
void
store_deadline(struct store *st, bool on)
{

	st->deadline = 0;
	if (on && st->timeout != 0)
		st->deadline = cv_mono_ms() +
		    (int64_t)(st->timeout + STORE_GRACE) * 1000;
}

/* Whether the request's deadline has passed. */
static bool
store_late(const struct store *st)
{

	return st->deadline != 0 && cv_mono_ms() >= st->deadline;
}

/* Close st's connection without waiting for the server. */
static void
store_drop(struct store *st)
{

	if (st->conn == NULL)
		return;
	/* The goodbye message must not block on a full socket buffer. */
	(void)PQsetnonblocking(st->conn, 1);
	PQfinish(st->conn);
	st->conn = NULL;
}

/*
 * Connect if not connected.  The configured string is expanded last so
 * that anything it says wins over our defaults (STORE_CONNECT_TIMEOUT and
 * the TCP settings above, so that requests during an outage fail fast
 * instead of hanging).  The connection is made with libpq's blocking
 * call, which applies connect_timeout to each host of a multi-host URL in
 * turn and moves on to the next (a failover to a standby whose primary's
 * address no longer answers at all); no attempt begins once the request's
 * deadline has passed.
 */
enum cv_err
store_connect(struct store *st)
{
	const char *const keys[] = { "connect_timeout",
	    "fallback_application_name", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    "options", "dbname", NULL };
	const char	*vals[] = { STORE_CONNECT_TIMEOUT, "certvault", "1",
	    "10", "2", "3", "10000", st->options, st->conninfo, NULL };
	time_t		 now;

	if (st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK)
		return CV_OK;
	store_drop(st);
	memset(st->prepared, 0, sizeof(st->prepared));
	st->in_tx = false;
	if (store_late(st))
		return CV_ERR_TIMEOUT;
	st->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(st->conn) == CONNECTION_OK &&
	    PQsetnonblocking(st->conn, 1) == 0) {
		if (st->last_complaint != 0)
			log_info("database connection restored");
		st->last_complaint = 0;
		return CV_OK;
	}
	metrics_db_error(METRICS_DB_UNAVAILABLE);
	now = time(NULL);
	if (now - st->last_complaint >= 10) {
		log_warnx("could not connect to database: %s",
		    PQerrorMessage(st->conn));
		st->last_complaint = now;
	}
	free(st->last_error);
	st->last_error = cv_strdup(PQerrorMessage(st->conn));
	store_drop(st);
	return CV_ERR_UNAVAILABLE;
}

/*
 * The result of the command just sent on st's connection: send what is
 * left of it, then read until libpq holds the whole answer, never waiting
 * past end.  As PQexec, the last result is kept, or the first error.
 * NULL when the connection failed (store_error says so), or with *late
 * set when end came first: the server did not answer in time, so the
 * connection is dropped (a cancel request would need a new connection to
 * the same silent server), and the server rolls back what it was doing
 * when it notices.
 */
static PGresult *
store_result(struct store *st, int64_t end, bool *late)
{
	PGconn		*c = st->conn;
	PGresult	*res, *keep = NULL;
	int		 f = 0, r = 1;

	*late = false;
	for (;;) {
		while ((f = PQflush(c)) == 1 || (f == 0 && PQisBusy(c))) {
			r = store_poll(PQsocket(c),
			    POLLIN | (f == 1 ? POLLOUT : 0), end);
			if (r == 0) {
				*late = true;
				PQclear(keep);
				store_drop(st);
				return NULL;
			}
			if (r < 0)
				break;
			/* On failure PQgetResult reports it, at once. */
			if (PQconsumeInput(c) == 0)
				break;
		}
		if (f < 0 || r < 0) {
			/* Nothing more can be sent or waited for. */
			PQclear(keep);
			store_drop(st);
			return NULL;
		}
		/* Not busy, or the connection failed: this does not block. */
		if ((res = PQgetResult(c)) == NULL)
			break;
		if (keep != NULL &&
		    PQresultStatus(keep) == PGRES_FATAL_ERROR)
			PQclear(res);
		else {
			PQclear(keep);
			keep = res;
		}
		if (PQstatus(c) == CONNECTION_BAD)
			break;
	}
	return keep;
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
		metrics_db_error(METRICS_DB_UNAVAILABLE);
		return CV_ERR_UNAVAILABLE;
	}
	state = res == NULL ? NULL : PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state != NULL && strcmp(state, "23505") == 0)
		return CV_ERR_CONFLICT;
	if (state != NULL && (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0))
		return CV_ERR_RETRY;
	/* 25006: a write reached a standby (during a failover). */
	if (state != NULL && (strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P03") == 0 ||
	    strcmp(state, "25006") == 0)) {
		metrics_db_error(METRICS_DB_UNAVAILABLE);
		return CV_ERR_UNAVAILABLE;
	}
	if (state != NULL && strcmp(state, "57014") == 0) {
		metrics_db_error(METRICS_DB_TIMEOUT);
		log_warnx("statement %d cancelled: %s", (int)s,
		    res == NULL ? "" : PQresultErrorMessage(res));
		return CV_ERR_TIMEOUT;
	}
	metrics_db_error(METRICS_DB_FAILED);
	log_error("statement %d failed: SQLSTATE %s: %s", (int)s,
	    state == NULL ? "?" : state,
	    res == NULL ? PQerrorMessage(st->conn) : PQresultErrorMessage(res));
	return CV_ERR_INTERNAL;
}

/*
 * Wait for the answer to what was just sent (sent: whether libpq took it)
 * on st's connection, until end.  *out is the result, whatever its status
 * (NULL if none came); CV_ERR_TIMEOUT if the server did not answer in
 * time, CV_ERR_UNAVAILABLE (through store_error) if the connection broke.
 */
static enum cv_err
store_wait(struct store *st, enum stmt s, int sent, int64_t end,
    PGresult **out)
{
	bool	 late = false;

	*out = NULL;
	if (sent)
		*out = store_result(st, end, &late);
	if (late) {
		metrics_db_error(METRICS_DB_TIMEOUT);
		log_warnx("statement %d: no answer from the database within "
		    "request_timeout; connection dropped", (int)s);
		return CV_ERR_TIMEOUT;
	}
	return *out == NULL ? store_error(st, NULL, s) : CV_OK;
}

static enum cv_err
store_exec_once(struct store *st, enum stmt s, const struct store_params *p,
    PGresult **out)
{
	PGresult	*res;
	char		 name[16];
	ExecStatusType	 rs;
	enum cv_err	 er;
	int64_t		 end;

	/*
	 * A transaction whose connection is gone is lost: its remaining
	 * statements must not run, least of all on a new connection
	 * outside of it.  The caller rolls back (a no-op) and says so.
	 */
	if (st->in_tx && (st->conn == NULL ||
	    PQstatus(st->conn) != CONNECTION_OK))
		return store_error(st, NULL, s);
	if (store_late(st))
		return CV_ERR_TIMEOUT;
	if ((er = store_connect(st)) != CV_OK)
		return er;
	end = store_wait_end(st);
	snprintf(name, sizeof(name), "s%d", (int)s);
	if (!st->prepared[s]) {
		if ((er = store_wait(st, s, PQsendPrepare(st->conn, name,
		    stmts[s], 0, NULL), end, &res)) != CV_OK) {
			PQclear(res);
			return er;
		}
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			er = store_error(st, res, s);
			PQclear(res);
			return er;
		}
		PQclear(res);
		st->prepared[s] = true;
	}
	if ((er = store_wait(st, s, PQsendQueryPrepared(st->conn, name,
	    p == NULL ? 0 : p->n, p == NULL ? NULL : p->values,
	    p == NULL ? NULL : p->lengths, p == NULL ? NULL : p->formats, 0),
	    end, &res)) != CV_OK) {
		PQclear(res);
		return er;
	}
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
		store_drop(st);
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

/*
 * Run statement s whose parameters are a row id and, if text is not
 * NULL, one text after it; the result is not needed.
 */
enum cv_err
store_exec_id(struct store *st, enum stmt s, int64_t id, const char *text)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, id);
	if (text != NULL)
		store_param_text(&p, text);
	if ((er = store_exec(st, s, &p, &res)) == CV_OK)
		PQclear(res);
	return er;
}

/* Bytes as a bytea parameter, or SQL NULL when there are none. */
void
store_param_bytes_or_null(struct store_params *p, const struct cv_bytes *b)
{

	if (b == NULL || b->data == NULL || b->len == 0)
		store_param_text(p, NULL);
	else
		store_param_bytes(p, b->data, (int)b->len);
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

/* A float8 column; 0 for SQL NULL. */
double
store_get_double(const PGresult *res, int row, const char *col)
{
	int	 c;

	if ((c = PQfnumber(res, col)) < 0 || PQgetisnull(res, row, c))
		return 0;
	return strtod(PQgetvalue(res, row, c), NULL);
}

bool
store_get_bool(const PGresult *res, int row, const char *col)
{
	int	 c;

	if ((c = PQfnumber(res, col)) < 0 || PQgetisnull(res, row, c))
		return false;
	return PQgetvalue(res, row, c)[0] == 't';
}

/*
 * True if the database answers and takes writes: a node that reached a
 * standby (libpq without target_session_attrs=read-write) is not ready.
 */
bool
store_ping(struct store *st)
{
	PGresult	*res;

	bool		 writable;

	if (store_exec(st, STMT_PING, NULL, &res) != CV_OK)
		return false;
	writable = store_get_bool(res, 0, "writable");
	PQclear(res);
	return writable;
}

/* BEGIN, COMMIT or ROLLBACK, bounded as any statement. */
static enum cv_err
store_simple(struct store *st, const char *sql)
{
	PGresult	*res;
	enum cv_err	 er;

	if (st->conn == NULL)
		return store_error(st, NULL, STMT__MAX);
	if (store_late(st)) {
		/* Unsent, a COMMIT would leave the transaction open. */
		if (st->in_tx)
			store_drop(st);
		return CV_ERR_TIMEOUT;
	}
	er = store_wait(st, STMT__MAX, PQsendQuery(st->conn, sql),
	    store_wait_end(st), &res);
	if (er == CV_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
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
	/*
	 * A connection on which ROLLBACK cannot be said (the deadline has
	 * passed, or the server did not take it) is closed instead, which
	 * rolls back too: it must not carry the transaction on into the
	 * next request.
	 */
	if (st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK &&
	    store_simple(st, "ROLLBACK") != CV_OK)
		store_drop(st);
	st->in_tx = false;
}

/* Whether schema_migrations exists yet (a fresh database has none). */
static enum cv_err
store_migrations_present(struct store *st, bool *present)
{
	PGresult	*res;
	enum cv_err	 er;

	*present = false;
	if ((er = store_exec(st, STMT_MIGRATE_HAS_TABLE, NULL, &res)) != CV_OK)
		return er;
	*present = store_get_bool(res, 0, "present");
	PQclear(res);
	return CV_OK;
}

/* Whether migration file name has been applied. */
enum cv_err
store_migration_applied(struct store *st, const char *name, bool *applied)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	bool			 present;

	*applied = false;
	if ((er = store_migrations_present(st, &present)) != CV_OK || !present)
		return er;
	store_param_text(&p, name);
	if ((er = store_exec(st, STMT_MIGRATE_DONE, &p, &res)) != CV_OK)
		return er;
	*applied = PQntuples(res) > 0;
	PQclear(res);
	return CV_OK;
}

/*
 * The migrations schema_migrations records, in name order, into *out
 * (cv_strlist_free); none if the table is not there yet.
 */
enum cv_err
store_migration_list(struct store *st, struct cv_strlist *out)
{
	PGresult	*res;
	enum cv_err	 er;
	int		 i, n;
	bool		 present;

	memset(out, 0, sizeof(*out));
	if ((er = store_migrations_present(st, &present)) != CV_OK || !present)
		return er;
	if ((er = store_exec(st, STMT_MIGRATE_LIST, NULL, &res)) != CV_OK)
		return er;
	if ((n = PQntuples(res)) > 0)
		out->v = cv_calloc((size_t)n, sizeof(*out->v));
	for (i = 0; i < n; i++)
		out->v[out->n++] = store_get(res, i, "filename");
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

/*
 * Why the last connection attempt failed, as libpq said it (it names
 * host, port, user and database, never the password), or NULL.
 */
const char *
store_last_error(const struct store *st)
{

	return st->last_error;
}

/*
 * The server's version as PQserverVersion() gives it (150004 for 15.4),
 * connecting first if need be; 0 when there is no connection.
 */
int
store_server_version(struct store *st)
{

	if (store_connect(st) != CV_OK)
		return 0;
	return PQserverVersion(st->conn);
}

/*
 * What a connection string or URI connects to, for an operator to read:
 * its host, hostaddr, port, dbname, user and sslmode as "key=value"
 * pairs, only those it sets.  Nothing else is named, so neither the
 * password nor any other secret is, and a value that could hold a
 * connection string of its own (with '@', '=' or "://": dbname may) is
 * not shown either; "libpq defaults" when it sets none of them.  NULL if libpq cannot parse it (libpq's message is not
 * passed on: it may quote the string).  The caller frees the result.
 */
char *
store_conninfo_describe(const char *conninfo)
{
	static const char *const shown[] = { "host", "hostaddr", "port",
	    "dbname", "user", "sslmode" };
	PQconninfoOption	*opts, *o;
	char			*err = NULL, *s, *t;
	size_t			 i;

	if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
		PQfreemem(err);
		return NULL;
	}
	s = cv_strdup("");
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		for (o = opts; o->keyword != NULL; o++) {
			if (strcmp(o->keyword, shown[i]) != 0 ||
			    o->val == NULL || *o->val == '\0')
				continue;
			t = cv_asprintf("%s%s%s=%s", s, *s == '\0' ? "" : " ",
			    o->keyword, strpbrk(o->val, "@=") != NULL ||
			    strstr(o->val, "://") != NULL ? "(not shown)" :
			    o->val);
			free(s);
			s = t;
		}
	PQconninfoFree(opts);
	if (*s == '\0') {
		free(s);
		s = cv_strdup("libpq defaults");
	}
	return s;
}
