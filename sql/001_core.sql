-- certvault schema, part 1: migration bookkeeping, vaults, access tokens.
--
-- Applied by `certvault-admin migrate` inside one transaction (no BEGIN/COMMIT
-- here). Migrations are never edited once released; change the schema with a
-- new numbered file.

-- The migrate tool may create this table itself before running any file, so
-- it is created only if missing and must keep exactly these two columns.
CREATE TABLE IF NOT EXISTS schema_migrations (
    filename   text        PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE schema_migrations IS
    'Migration files from sql/ that certvault-admin migrate has applied, one row per file. A file listed here is never run again.';
COMMENT ON COLUMN schema_migrations.filename IS
    'File name of the applied migration, without directory (e.g. 001_core.sql).';
COMMENT ON COLUMN schema_migrations.applied_at IS
    'When the migration was applied (commit time of its transaction).';


CREATE TABLE vaults (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text        NOT NULL UNIQUE
                                 CONSTRAINT vaults_name_format
                                 CHECK (name ~ '^[0-9a-zA-Z-]{1,63}$'),
    host             text        NULL
                                 CONSTRAINT vaults_host_format
                                 CHECK (host ~ '^[0-9A-Za-z.:\[\]-]+$'
                                        AND length(host) <= 261),
    is_default       boolean     NOT NULL DEFAULT false,
    retention_days   integer     NOT NULL DEFAULT 90
                                 CONSTRAINT vaults_retention_days_range
                                 CHECK (retention_days BETWEEN 7 AND 90),
    purge_protection boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Host names compare case-insensitively (DNS); NULL hosts are not unique.
CREATE UNIQUE INDEX vaults_host_lower_key ON vaults (lower(host));
-- At most one default vault per installation.
CREATE UNIQUE INDEX vaults_one_default_key ON vaults (is_default) WHERE is_default;

COMMENT ON TABLE vaults IS
    'Key Vault instances served by this installation. A request is routed to the vault whose host matches its Host header, else to the default vault. Deleting a vault deletes everything in it.';
COMMENT ON COLUMN vaults.id IS
    'Surrogate key, referenced by every per-vault table.';
COMMENT ON COLUMN vaults.name IS
    'Vault name used by operators and certvault-admin (1-63 of 0-9 a-z A-Z -), unique.';
COMMENT ON COLUMN vaults.host IS
    'Host name clients use for this vault (e.g. demo.vault.localhost), compared case-insensitively and unique; NULL if the vault is reached only as the default vault.';
COMMENT ON COLUMN vaults.is_default IS
    'True for the one vault that serves requests whose Host matches no vault host. At most one row is true.';
COMMENT ON COLUMN vaults.retention_days IS
    'Soft-delete retention in days (7-90): a deleted certificate is purged this many days after deletion. Reported as recoverableDays.';
COMMENT ON COLUMN vaults.purge_protection IS
    'When true, soft-deleted certificates cannot be purged on request, only by the worker once their retention has passed (recoveryLevel without +Purgeable).';
COMMENT ON COLUMN vaults.created_at IS
    'When the vault was created.';


CREATE TABLE access_tokens (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vault_id    bigint      NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    name        text        NOT NULL DEFAULT ''
                            CONSTRAINT access_tokens_name_length
                            CHECK (length(name) <= 200),
    token_hash  bytea       NOT NULL UNIQUE
                            CONSTRAINT access_tokens_token_hash_sha256
                            CHECK (octet_length(token_hash) = 32),
    permissions text[]      NOT NULL
                            CONSTRAINT access_tokens_permissions_known
                            CHECK (permissions <@ ARRAY['get', 'list', 'create', 'import',
                                   'update', 'delete', 'recover', 'purge', 'backup',
                                   'restore', 'managecontacts', 'getissuers',
                                   'listissuers', 'setissuers', 'deleteissuers',
                                   'manageissuers']::text[])
                            CONSTRAINT access_tokens_permissions_flat
                            CHECK (array_ndims(permissions) IS NULL
                                   OR array_ndims(permissions) = 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NULL,
    revoked_at  timestamptz NULL
);

CREATE INDEX access_tokens_vault_id_idx ON access_tokens (vault_id);

COMMENT ON TABLE access_tokens IS
    'Bearer tokens that authenticate API clients to one vault. Only the SHA-256 of a token is stored; the token itself is shown once by certvault-admin token create.';
COMMENT ON COLUMN access_tokens.id IS
    'Surrogate key; the ID given to certvault-admin token revoke and recorded in audit_log.token_id.';
COMMENT ON COLUMN access_tokens.vault_id IS
    'Vault the token grants access to.';
COMMENT ON COLUMN access_tokens.name IS
    'Free-text label chosen by the operator (who or what uses the token); empty if none.';
COMMENT ON COLUMN access_tokens.token_hash IS
    'SHA-256 (32 raw bytes) of the full token string (cv_ + 64 hex). Lookup key for authentication; the token itself is never stored.';
COMMENT ON COLUMN access_tokens.permissions IS
    'Key Vault certificate permissions granted (get, list, create, import, update, delete, recover, purge, backup, restore, managecontacts, getissuers, listissuers, setissuers, deleteissuers, manageissuers).';
COMMENT ON COLUMN access_tokens.created_at IS
    'When the token was issued.';
COMMENT ON COLUMN access_tokens.expires_at IS
    'After this time the token is refused (401); NULL means it does not expire.';
COMMENT ON COLUMN access_tokens.revoked_at IS
    'When the token was revoked (certvault-admin token revoke); a revoked token is refused (401). NULL while valid.';
