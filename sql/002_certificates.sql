-- certvault schema, part 2: certificates, versions, keys, pending operations,
-- issuers, contacts, audit log, key pool, operator views.
--
-- Applied by `certvault-admin migrate` inside one transaction (no BEGIN/COMMIT
-- here). Migrations are never edited once released; change the schema with a
-- new numbered file.
--
-- Conventions:
-- * Object names (certificates, issuers) keep the case they were created with
--   and compare case-insensitively, as in Key Vault: look them up with
--   lower(name) = lower($n). The columns use COLLATE "C" so lower(name) sorts
--   bytewise, independent of the database locale (stable keyset pagination).
-- * Private material (private keys, issuer secrets) is sealed with AES-256-GCM
--   under the installation master key: sealed_* holds ciphertext followed by
--   the 16-byte tag, seal_nonce the 12-byte nonce, master_key_id names the
--   master key (rotation re-seals rows whose master_key_id is not current),
--   and the row's *_uid column is the associated data, so a sealed value
--   copied to another row does not open.
-- * Timestamps are timestamptz; the API shows them as Unix seconds.


-- ---------------------------------------------------------------------------
-- Certificates: one row per (vault, name). This row is the lock.
-- ---------------------------------------------------------------------------

CREATE TABLE certificates (
    id                      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vault_id                bigint      NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    name                    text        COLLATE "C" NOT NULL
                                        CONSTRAINT certificates_name_format
                                        CHECK (name ~ '^[0-9a-zA-Z-]{1,127}$'),
    policy                  jsonb       NOT NULL
                                        CONSTRAINT certificates_policy_object
                                        CHECK (jsonb_typeof(policy) = 'object'),
    policy_updated_at       timestamptz NOT NULL DEFAULT now(),
    tags                    jsonb       NOT NULL DEFAULT '{}'
                                        CONSTRAINT certificates_tags_strings
                                        CHECK (jsonb_typeof(tags) = 'object'
                                               AND NOT jsonb_path_exists(tags, '$.* ? (@.type() != "string")')),
    next_lifetime_action_at timestamptz NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz NULL,
    scheduled_purge_at      timestamptz NULL,
    recovery_id             char(32)    NULL
                                        CONSTRAINT certificates_recovery_id_format
                                        CHECK (recovery_id ~ '^[0-9a-f]{32}$'),
    CONSTRAINT certificates_soft_delete_consistent
        CHECK ((deleted_at IS NULL) = (scheduled_purge_at IS NULL)
               AND (deleted_at IS NULL) = (recovery_id IS NULL)),
    CONSTRAINT certificates_purge_after_delete
        CHECK (scheduled_purge_at >= deleted_at)
);

-- Lookup and lock by name, and keyset pagination of GET /certificates:
--   WHERE vault_id = $1 AND lower(name) > $2 AND deleted_at IS NULL
--   ORDER BY lower(name) LIMIT $3
CREATE UNIQUE INDEX certificates_vault_name_key
    ON certificates (vault_id, lower(name));
-- Keyset pagination of GET /deletedcertificates (same shape, deleted_at IS NOT NULL).
CREATE INDEX certificates_deleted_vault_name_idx
    ON certificates (vault_id, lower(name)) WHERE deleted_at IS NOT NULL;
-- Worker: purge soft-deleted certificates whose retention has passed.
CREATE INDEX certificates_scheduled_purge_idx
    ON certificates (scheduled_purge_at) WHERE scheduled_purge_at IS NOT NULL;
-- Worker: lifetime actions (AutoRenew, EmailContacts) that are due.
CREATE INDEX certificates_next_lifetime_action_idx
    ON certificates (next_lifetime_action_at)
    WHERE next_lifetime_action_at IS NOT NULL AND deleted_at IS NULL;

COMMENT ON TABLE certificates IS
    'One row per certificate name in a vault, live or soft-deleted, holding the policy and deletion state. Versions, keys and the pending operation hang off it. Every create, import, merge, delete, recover and purge for a name locks this row (SELECT ... FOR UPDATE) in its transaction. A purge deletes the row and, by cascade, everything belonging to it.';
COMMENT ON COLUMN certificates.id IS
    'Surrogate key.';
COMMENT ON COLUMN certificates.vault_id IS
    'Vault the certificate belongs to.';
COMMENT ON COLUMN certificates.name IS
    'Certificate name as first given (1-127 of 0-9 a-z A-Z -). Unique per vault ignoring case, including soft-deleted names, which cannot be reused until recovered or purged.';
COMMENT ON COLUMN certificates.policy IS
    'Current certificate policy as Key Vault JSON (key_props, secret_props, x509_props, lifetime_actions, issuer, attributes.enabled), with defaults filled in; without id and the read-only created/updated. Governs new versions and renewals.';
COMMENT ON COLUMN certificates.policy_updated_at IS
    'When the policy was last set (create, import or PATCH policy); policy attributes.updated. Policy attributes.created is created_at.';
COMMENT ON COLUMN certificates.tags IS
    'Tags (string to string) given with the latest create or import, copied to versions made without a request (auto-renewal). The API shows the tags of each version (certificate_versions.tags).';
COMMENT ON COLUMN certificates.next_lifetime_action_at IS
    'When certvault-worker should next run a lifetime action (AutoRenew or EmailContacts) of the policy for the current version; NULL if none is scheduled. Recomputed when a version completes or the policy changes.';
COMMENT ON COLUMN certificates.created_at IS
    'When the name was first created in this vault (first create, import or restore).';
COMMENT ON COLUMN certificates.updated_at IS
    'When this row last changed (policy, tags or deletion state).';
COMMENT ON COLUMN certificates.deleted_at IS
    'When the certificate was soft-deleted (deletedDate); NULL while live.';
COMMENT ON COLUMN certificates.scheduled_purge_at IS
    'When the worker will purge the soft-deleted certificate (scheduledPurgeDate = deleted_at + vaults.retention_days); NULL while live.';
COMMENT ON COLUMN certificates.recovery_id IS
    'Random 32-hex identifier of this deletion, set on delete and cleared on recover; NULL while live. The recoveryId URL on the wire is built from host and name (https://{host}/deletedcertificates/{name}).';


-- ---------------------------------------------------------------------------
-- Keys: private keys in use by certificate versions (sealed) and the pool.
-- ---------------------------------------------------------------------------

CREATE TABLE keys (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_uid            uuid        NOT NULL UNIQUE,
    certificate_id     bigint      NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    kty                text        NOT NULL,
    key_size           integer     NOT NULL,
    curve              text        NULL,
    exportable         boolean     NOT NULL,
    public_key         bytea       NOT NULL
                                   CONSTRAINT keys_public_key_der
                                   CHECK (octet_length(public_key) > 0
                                          AND get_byte(public_key, 0) = 48),
    sealed_private_key bytea       NOT NULL
                                   CONSTRAINT keys_sealed_private_key_length
                                   CHECK (octet_length(sealed_private_key) > 16),
    seal_nonce         bytea       NOT NULL
                                   CONSTRAINT keys_seal_nonce_length
                                   CHECK (octet_length(seal_nonce) = 12),
    master_key_id      text        NOT NULL
                                   CONSTRAINT keys_master_key_id_format
                                   CHECK (master_key_id ~ '^[0-9A-Za-z._-]{1,64}$'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT keys_type_size_curve CHECK (
        (kty = 'RSA' AND curve IS NULL AND key_size BETWEEN 1024 AND 16384)
        OR (kty = 'EC' AND (curve, key_size) IN (('P-256', 256), ('P-384', 384),
                                                  ('P-521', 521), ('P-256K', 256))))
);

CREATE INDEX keys_certificate_id_idx ON keys (certificate_id);

COMMENT ON TABLE keys IS
    'Key pairs of certificates. The private key is sealed with AES-256-GCM under the master key (associated data: key_uid); the public key is in clear. A key belongs to one certificate and may back several of its versions (policy key_props.reuse_key).';
COMMENT ON COLUMN keys.id IS
    'Surrogate key, referenced by certificate_versions.key_id.';
COMMENT ON COLUMN keys.key_uid IS
    'Random identity of this key material, chosen when the key is generated; the AES-GCM associated data of sealed_private_key. Travels unchanged from key_pool, so a pooled key is moved without re-sealing.';
COMMENT ON COLUMN keys.certificate_id IS
    'Certificate the key belongs to; the key is deleted when the certificate is purged.';
COMMENT ON COLUMN keys.kty IS
    'Key type actually held: RSA or EC (a policy asking for RSA-HSM/EC-HSM is recorded in the policy, not here).';
COMMENT ON COLUMN keys.key_size IS
    'RSA modulus size in bits, or the EC curve size in bits (256, 384, 521).';
COMMENT ON COLUMN keys.curve IS
    'EC curve name (P-256, P-384, P-521, P-256K); NULL for RSA.';
COMMENT ON COLUMN keys.exportable IS
    'Whether the private key may leave the vault in the secret (policy key_props.exportable at the time the key was made or imported).';
COMMENT ON COLUMN keys.public_key IS
    'Public key as DER SubjectPublicKeyInfo, in clear; compared with a merged certificate''s key.';
COMMENT ON COLUMN keys.sealed_private_key IS
    'Private key (PKCS#8 DER) encrypted with AES-256-GCM under the master key named by master_key_id: ciphertext followed by the 16-byte tag.';
COMMENT ON COLUMN keys.seal_nonce IS
    'The 12-byte AES-GCM nonce used for sealed_private_key; fresh for every sealing.';
COMMENT ON COLUMN keys.master_key_id IS
    'Identifier of the master key that sealed the private key; master key rotation re-seals rows whose value is not the current key''s.';
COMMENT ON COLUMN keys.created_at IS
    'When the key row was created (taken from the pool, generated, imported or restored).';


CREATE TABLE key_pool (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_uid            uuid        NOT NULL UNIQUE,
    kty                text        NOT NULL,
    key_size           integer     NOT NULL,
    curve              text        NULL,
    key_spec           text        GENERATED ALWAYS AS
                                   (kty || '-' || coalesce(curve, key_size::text)) STORED,
    public_key         bytea       NOT NULL
                                   CONSTRAINT key_pool_public_key_der
                                   CHECK (octet_length(public_key) > 0
                                          AND get_byte(public_key, 0) = 48),
    sealed_private_key bytea       NOT NULL
                                   CONSTRAINT key_pool_sealed_private_key_length
                                   CHECK (octet_length(sealed_private_key) > 16),
    seal_nonce         bytea       NOT NULL
                                   CONSTRAINT key_pool_seal_nonce_length
                                   CHECK (octet_length(seal_nonce) = 12),
    master_key_id      text        NOT NULL
                                   CONSTRAINT key_pool_master_key_id_format
                                   CHECK (master_key_id ~ '^[0-9A-Za-z._-]{1,64}$'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT key_pool_type_size_curve CHECK (
        (kty = 'RSA' AND curve IS NULL AND key_size IN (2048, 3072, 4096))
        OR (kty = 'EC' AND (curve, key_size) IN (('P-256', 256), ('P-384', 384),
                                                  ('P-521', 521), ('P-256K', 256))))
);

-- Claim the oldest key of a spec: ... WHERE key_spec = $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
CREATE INDEX key_pool_key_spec_idx ON key_pool (key_spec, id);

COMMENT ON TABLE key_pool IS
    'Pre-generated, sealed key pairs not yet given to any certificate, kept topped up per key type by certvault-worker so that a create does not wait for key generation. A create claims one with DELETE ... FOR UPDATE SKIP LOCKED and inserts it into keys in the same transaction. Shared by all vaults.';
COMMENT ON COLUMN key_pool.id IS
    'Surrogate key; claims take the lowest id (oldest key) first.';
COMMENT ON COLUMN key_pool.key_uid IS
    'Random identity of the key material and AES-GCM associated data of sealed_private_key; copied unchanged to keys.key_uid when claimed.';
COMMENT ON COLUMN key_pool.kty IS
    'Key type: RSA or EC.';
COMMENT ON COLUMN key_pool.key_size IS
    'RSA modulus size in bits (2048, 3072, 4096), or the EC curve size in bits.';
COMMENT ON COLUMN key_pool.curve IS
    'EC curve name (P-256, P-384, P-521, P-256K); NULL for RSA.';
COMMENT ON COLUMN key_pool.key_spec IS
    'Derived claim key: kty-size for RSA (RSA-2048), kty-curve for EC (EC-P-256).';
COMMENT ON COLUMN key_pool.public_key IS
    'Public key as DER SubjectPublicKeyInfo, in clear.';
COMMENT ON COLUMN key_pool.sealed_private_key IS
    'Private key (PKCS#8 DER) encrypted with AES-256-GCM under the master key named by master_key_id: ciphertext followed by the 16-byte tag.';
COMMENT ON COLUMN key_pool.seal_nonce IS
    'The 12-byte AES-GCM nonce used for sealed_private_key.';
COMMENT ON COLUMN key_pool.master_key_id IS
    'Identifier of the master key that sealed the private key (see keys.master_key_id).';
COMMENT ON COLUMN key_pool.created_at IS
    'When the key was generated into the pool.';


-- ---------------------------------------------------------------------------
-- Certificate versions.
-- ---------------------------------------------------------------------------

CREATE TABLE certificate_versions (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    certificate_id      bigint      NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    version             char(32)    NOT NULL
                                    CONSTRAINT certificate_versions_version_format
                                    CHECK (version ~ '^[0-9a-f]{32}$'),
    key_id              bigint      NOT NULL REFERENCES keys (id) ON DELETE NO ACTION,
    certificate_der     bytea       NULL
                                    CONSTRAINT certificate_versions_certificate_der
                                    CHECK (octet_length(certificate_der) > 0
                                           AND get_byte(certificate_der, 0) = 48),
    chain_der           bytea[]     NOT NULL DEFAULT '{}'
                                    CONSTRAINT certificate_versions_chain_flat
                                    CHECK (array_ndims(chain_der) IS NULL
                                           OR (array_ndims(chain_der) = 1
                                               AND array_position(chain_der, NULL) IS NULL)),
    x5t                 bytea       NULL
                                    CONSTRAINT certificate_versions_x5t_sha1
                                    CHECK (octet_length(x5t) = 20),
    serial_number       bytea       NULL
                                    CONSTRAINT certificate_versions_serial_length
                                    CHECK (octet_length(serial_number) BETWEEN 1 AND 64),
    subject             text        NULL,
    not_before          timestamptz NULL,
    not_after           timestamptz NULL,
    enabled             boolean     NOT NULL DEFAULT true,
    tags                jsonb       NOT NULL DEFAULT '{}'
                                    CONSTRAINT certificate_versions_tags_strings
                                    CHECK (jsonb_typeof(tags) = 'object'
                                           AND NOT jsonb_path_exists(tags, '$.* ? (@.type() != "string")')),
    content_type        text        NOT NULL DEFAULT 'application/x-pkcs12'
                                    CONSTRAINT certificate_versions_content_type
                                    CHECK (content_type IN ('application/x-pkcs12',
                                                            'application/x-pem-file')),
    preserve_cert_order boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT certificate_versions_version_key UNIQUE (certificate_id, version),
    -- A version is pending (no certificate yet) or issued; issued ones carry
    -- the facts read from the certificate.
    CONSTRAINT certificate_versions_issued_complete
        CHECK ((certificate_der IS NULL) = (x5t IS NULL)
               AND (certificate_der IS NULL) = (serial_number IS NULL)
               AND (certificate_der IS NULL
                    OR (not_before IS NOT NULL AND not_after IS NOT NULL))),
    CONSTRAINT certificate_versions_validity_order
        CHECK (not_after >= not_before)
);

-- Latest version of a certificate (ORDER BY created_at DESC, id DESC LIMIT 1)
-- and listing of /versions in creation order.
CREATE INDEX certificate_versions_certificate_created_idx
    ON certificate_versions (certificate_id, created_at, id);
CREATE INDEX certificate_versions_key_id_idx ON certificate_versions (key_id);

COMMENT ON TABLE certificate_versions IS
    'One row per version of a certificate: made pending by create (no certificate yet), then completed by the issuer or a merge; or complete at once by import, restore or a self-signed create. The latest version is the one created last.';
COMMENT ON COLUMN certificate_versions.id IS
    'Surrogate key.';
COMMENT ON COLUMN certificate_versions.certificate_id IS
    'Certificate this version belongs to.';
COMMENT ON COLUMN certificate_versions.version IS
    'Version id in URLs: 32 lowercase hex characters, random, unique per certificate. Also the version of kid and sid. Lowercase the URL segment before looking it up.';
COMMENT ON COLUMN certificate_versions.key_id IS
    'Key pair of this version (keys.id); several versions share one when the policy reuses the key.';
COMMENT ON COLUMN certificate_versions.certificate_der IS
    'The leaf certificate, DER (cer on the wire); NULL while the version is pending.';
COMMENT ON COLUMN certificate_versions.chain_der IS
    'Further certificates (DER, one per element) delivered with the leaf by merge or import, in the order they go into the secret after the leaf; empty if none.';
COMMENT ON COLUMN certificate_versions.x5t IS
    'SHA-1 thumbprint of certificate_der (20 raw bytes; base64url without padding on the wire); NULL while pending.';
COMMENT ON COLUMN certificate_versions.serial_number IS
    'Serial number of the certificate as raw big-endian bytes; NULL while pending.';
COMMENT ON COLUMN certificate_versions.subject IS
    'Subject DN of the certificate as text (from the policy while pending), for operators; NULL if unknown.';
COMMENT ON COLUMN certificate_versions.not_before IS
    'Start of validity (attributes.nbf): from the certificate, or computed from the policy while pending.';
COMMENT ON COLUMN certificate_versions.not_after IS
    'End of validity (attributes.exp): from the certificate, or computed from the policy while pending.';
COMMENT ON COLUMN certificate_versions.enabled IS
    'attributes.enabled; false for a pending version until it completes.';
COMMENT ON COLUMN certificate_versions.tags IS
    'Tags of this version (JSON object, string values), as returned by the API.';
COMMENT ON COLUMN certificate_versions.content_type IS
    'Content type of the secret for this version: application/x-pkcs12 or application/x-pem-file (policy secret_props.contentType).';
COMMENT ON COLUMN certificate_versions.preserve_cert_order IS
    'preserveCertOrder: keep the chain in the order it was given instead of leaf first.';
COMMENT ON COLUMN certificate_versions.created_at IS
    'When the version was created (attributes.created).';
COMMENT ON COLUMN certificate_versions.updated_at IS
    'When the version last changed (attributes.updated).';


-- ---------------------------------------------------------------------------
-- Issuers.
-- ---------------------------------------------------------------------------

CREATE TABLE issuers (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vault_id          bigint      NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    name              text        COLLATE "C" NOT NULL
                                  CONSTRAINT issuers_name_format
                                  CHECK (name ~ '^[0-9a-zA-Z-]{1,127}$')
                                  CONSTRAINT issuers_name_not_reserved
                                  CHECK (lower(name) NOT IN ('self', 'unknown')),
    provider          text        NOT NULL
                                  CONSTRAINT issuers_provider_format
                                  CHECK (length(provider) BETWEEN 1 AND 127
                                         AND provider !~ '[[:cntrl:]]'),
    enabled           boolean     NOT NULL DEFAULT true,
    account_id        text        NULL,
    organization_id   text        NULL,
    admin_details     jsonb       NOT NULL DEFAULT '[]'
                                  CONSTRAINT issuers_admin_details_array
                                  CHECK (jsonb_typeof(admin_details) = 'array'),
    requires_approval boolean     NOT NULL DEFAULT false,
    provider_config   jsonb       NOT NULL DEFAULT '{}'
                                  CONSTRAINT issuers_provider_config_object
                                  CHECK (jsonb_typeof(provider_config) = 'object'),
    ca_chain_der      bytea[]     NULL
                                  CONSTRAINT issuers_ca_chain_flat
                                  CHECK (array_ndims(ca_chain_der) = 1
                                         AND array_position(ca_chain_der, NULL) IS NULL),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Lookup by name and keyset pagination of GET /certificates/issuers.
CREATE UNIQUE INDEX issuers_vault_name_key ON issuers (vault_id, lower(name));

COMMENT ON TABLE issuers IS
    'Certificate issuer objects of a vault (PUT /certificates/issuers/{name}), referred to by name from policy issuer.name. Provider LocalCA signs with a CA held in the vault, ACME talks to an RFC 8555 CA, other providers are stored and listed. Secrets live in issuer_credentials. Deleting an issuer is permanent.';
COMMENT ON COLUMN issuers.id IS
    'Surrogate key. PUT on an existing name updates the row in place, keeping the id.';
COMMENT ON COLUMN issuers.vault_id IS
    'Vault the issuer belongs to.';
COMMENT ON COLUMN issuers.name IS
    'Issuer name as given (1-127 of 0-9 a-z A-Z -), unique per vault ignoring case; Self and Unknown are reserved.';
COMMENT ON COLUMN issuers.provider IS
    'Issuer provider (provider on the wire), e.g. LocalCA, ACME, DigiCert, GlobalSign, Test.';
COMMENT ON COLUMN issuers.enabled IS
    'attributes.enabled of the issuer; a disabled issuer does not issue.';
COMMENT ON COLUMN issuers.account_id IS
    'credentials.account_id (not secret, returned by GET); NULL if not set. The password is in issuer_credentials.';
COMMENT ON COLUMN issuers.organization_id IS
    'org_details.id; NULL if not set.';
COMMENT ON COLUMN issuers.admin_details IS
    'org_details.admin_details as a JSON array of {first_name, last_name, email, phone}.';
COMMENT ON COLUMN issuers.requires_approval IS
    'When true, an operation using this issuer waits in inProgress until an operator approves it (pending_operations.approved_at) before the provider is asked.';
COMMENT ON COLUMN issuers.provider_config IS
    'Non-secret provider settings as a JSON object, e.g. ACME directory URL and contact, LocalCA maximum validity.';
COMMENT ON COLUMN issuers.ca_chain_der IS
    'LocalCA only: the CA certificate (DER) followed by its own issuers up to the root, appended to issued chains; NULL for other providers. The CA private key is in issuer_credentials (ca_private_key).';
COMMENT ON COLUMN issuers.created_at IS
    'When the issuer was created (attributes.created).';
COMMENT ON COLUMN issuers.updated_at IS
    'When the issuer last changed (attributes.updated).';


CREATE TABLE issuer_credentials (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credential_uid   uuid        NOT NULL UNIQUE,
    issuer_id        bigint      NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    credential_type  text        NOT NULL
                                 CONSTRAINT issuer_credentials_type_known
                                 CHECK (credential_type IN ('password', 'api_key',
                                        'acme_account_key', 'acme_eab_hmac_key',
                                        'ca_private_key')),
    sealed_value     bytea       NOT NULL
                                 CONSTRAINT issuer_credentials_sealed_value_length
                                 CHECK (octet_length(sealed_value) >= 16),
    seal_nonce       bytea       NOT NULL
                                 CONSTRAINT issuer_credentials_seal_nonce_length
                                 CHECK (octet_length(seal_nonce) = 12),
    master_key_id    text        NOT NULL
                                 CONSTRAINT issuer_credentials_master_key_id_format
                                 CHECK (master_key_id ~ '^[0-9A-Za-z._-]{1,64}$'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT issuer_credentials_one_per_type UNIQUE (issuer_id, credential_type)
);

COMMENT ON TABLE issuer_credentials IS
    'Secrets of issuers, sealed with AES-256-GCM under the master key (associated data: credential_uid): the credentials.pwd given by the API, ACME account keys, LocalCA private keys. Never returned by the API.';
COMMENT ON COLUMN issuer_credentials.id IS
    'Surrogate key.';
COMMENT ON COLUMN issuer_credentials.credential_uid IS
    'Random identity of this secret, chosen when it is sealed; the AES-GCM associated data of sealed_value.';
COMMENT ON COLUMN issuer_credentials.issuer_id IS
    'Issuer the secret belongs to; deleted with it.';
COMMENT ON COLUMN issuer_credentials.credential_type IS
    'What the secret is: password (credentials.pwd), api_key (provider connector), acme_account_key (PKCS#8 DER), acme_eab_hmac_key (external account binding), ca_private_key (LocalCA, PKCS#8 DER). One of each per issuer.';
COMMENT ON COLUMN issuer_credentials.sealed_value IS
    'The secret encrypted with AES-256-GCM under the master key named by master_key_id: ciphertext followed by the 16-byte tag.';
COMMENT ON COLUMN issuer_credentials.seal_nonce IS
    'The 12-byte AES-GCM nonce used for sealed_value.';
COMMENT ON COLUMN issuer_credentials.master_key_id IS
    'Identifier of the master key that sealed the value (see keys.master_key_id).';
COMMENT ON COLUMN issuer_credentials.created_at IS
    'When the secret was first stored.';
COMMENT ON COLUMN issuer_credentials.updated_at IS
    'When the secret was last replaced or re-sealed.';


-- ---------------------------------------------------------------------------
-- Pending operations: at most one per certificate.
-- ---------------------------------------------------------------------------

CREATE TABLE pending_operations (
    id                       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    certificate_id           bigint      NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    target_version_id        bigint      NOT NULL REFERENCES certificate_versions (id) ON DELETE CASCADE,
    request_id               char(32)    NOT NULL
                                         CONSTRAINT pending_operations_request_id_format
                                         CHECK (request_id ~ '^[0-9a-f]{32}$'),
    origin                   text        NOT NULL DEFAULT 'create'
                                         CONSTRAINT pending_operations_origin_known
                                         CHECK (origin IN ('create', 'autorenew')),
    issuer_name              text        NOT NULL
                                         CONSTRAINT pending_operations_issuer_name_format
                                         CHECK (issuer_name ~ '^[0-9a-zA-Z-]{1,127}$'),
    issuer_provider          text        NULL,
    certificate_type         text        NULL,
    certificate_transparency boolean     NULL,
    csr                      bytea       NOT NULL
                                         CONSTRAINT pending_operations_csr_der
                                         CHECK (octet_length(csr) > 0
                                                AND get_byte(csr, 0) = 48),
    status                   text        NOT NULL DEFAULT 'inProgress'
                                         CONSTRAINT pending_operations_status_known
                                         CHECK (status IN ('inProgress', 'completed',
                                                           'failed', 'cancelled')),
    status_details           text        NULL,
    cancellation_requested   boolean     NOT NULL DEFAULT false,
    error_code               text        NULL
                                         CONSTRAINT pending_operations_error_code_nonempty
                                         CHECK (error_code <> ''),
    error_message            text        NULL,
    preserve_cert_order      boolean     NOT NULL DEFAULT false,
    approved_at              timestamptz NULL,
    approved_by              text        NULL,
    provider_state           jsonb       NOT NULL DEFAULT '{}'
                                         CONSTRAINT pending_operations_provider_state_object
                                         CHECK (jsonb_typeof(provider_state) = 'object'),
    attempts                 integer     NOT NULL DEFAULT 0
                                         CONSTRAINT pending_operations_attempts_nonnegative
                                         CHECK (attempts >= 0),
    next_attempt_at          timestamptz NULL,
    claimed_by               text        NULL,
    claimed_at               timestamptz NULL,
    worker_last_error        text        NULL,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    finished_at              timestamptz NULL,
    CONSTRAINT pending_operations_one_per_certificate UNIQUE (certificate_id),
    CONSTRAINT pending_operations_reserved_issuer_no_provider
        CHECK (lower(issuer_name) NOT IN ('self', 'unknown') OR issuer_provider IS NULL),
    CONSTRAINT pending_operations_failed_has_error
        CHECK (status <> 'failed' OR error_code IS NOT NULL),
    CONSTRAINT pending_operations_error_only_failed_or_cancelled
        CHECK (status NOT IN ('inProgress', 'completed') OR error_code IS NULL),
    CONSTRAINT pending_operations_error_message_has_code
        CHECK (error_message IS NULL OR error_code IS NOT NULL),
    CONSTRAINT pending_operations_cancelled_was_requested
        CHECK (status <> 'cancelled' OR cancellation_requested),
    CONSTRAINT pending_operations_finished_at_iff_finished
        CHECK ((status = 'inProgress') = (finished_at IS NULL)),
    CONSTRAINT pending_operations_no_work_when_finished
        CHECK (status = 'inProgress' OR next_attempt_at IS NULL),
    CONSTRAINT pending_operations_approval_complete
        CHECK ((approved_at IS NULL) = (approved_by IS NULL))
);

-- Worker claim: due operations that are still in progress.
CREATE INDEX pending_operations_due_idx
    ON pending_operations (next_attempt_at)
    WHERE status = 'inProgress' AND next_attempt_at IS NOT NULL;
CREATE INDEX pending_operations_target_version_idx
    ON pending_operations (target_version_id);

COMMENT ON TABLE pending_operations IS
    'The certificate operation of each certificate (GET /certificates/{name}/pending): at most one per certificate, replaced by the next create, removed by import, DELETE pending and certificate delete. Rows with status inProgress block create and import (409). certvault-worker works on inProgress rows whose next_attempt_at has passed. The table to read to see what is stuck; see also pending_operations_overview.';
COMMENT ON COLUMN pending_operations.id IS
    'Surrogate key.';
COMMENT ON COLUMN pending_operations.certificate_id IS
    'Certificate the operation belongs to (unique: one operation per certificate).';
COMMENT ON COLUMN pending_operations.target_version_id IS
    'The pending version this operation completes (certificate_versions.id); its key signed the CSR.';
COMMENT ON COLUMN pending_operations.request_id IS
    'request_id on the wire and in the Location header: 32 lowercase hex characters, new for every create. A request_id query parameter that differs gives 404.';
COMMENT ON COLUMN pending_operations.origin IS
    'What started the operation: create (a client request) or autorenew (a lifetime action run by the worker).';
COMMENT ON COLUMN pending_operations.issuer_name IS
    'policy issuer.name when the operation started: Self, Unknown (manual, completed by merge) or the name of an issuer object.';
COMMENT ON COLUMN pending_operations.issuer_provider IS
    'Provider of the issuer object when the operation started (e.g. LocalCA, ACME); NULL for Self and Unknown, or if no such issuer existed.';
COMMENT ON COLUMN pending_operations.certificate_type IS
    'policy issuer.cty (provider certificate type, e.g. OV-SSL) when the operation started; NULL if not given.';
COMMENT ON COLUMN pending_operations.certificate_transparency IS
    'policy issuer.cert_transparency when the operation started; NULL if not given.';
COMMENT ON COLUMN pending_operations.csr IS
    'The PKCS#10 certificate signing request, DER (csr on the wire, base64).';
COMMENT ON COLUMN pending_operations.status IS
    'inProgress, completed, failed or cancelled, exactly as sent on the wire.';
COMMENT ON COLUMN pending_operations.status_details IS
    'status_details on the wire (free text); NULL to omit it.';
COMMENT ON COLUMN pending_operations.cancellation_requested IS
    'True once a client asked to cancel (PATCH pending); the worker then stops the request and sets status cancelled, unless it already finished.';
COMMENT ON COLUMN pending_operations.error_code IS
    'error.code on the wire when the operation failed (e.g. Certificate issuer error, Request rejected); NULL otherwise.';
COMMENT ON COLUMN pending_operations.error_message IS
    'error.message on the wire when the operation failed; NULL otherwise.';
COMMENT ON COLUMN pending_operations.preserve_cert_order IS
    'preserveCertOrder of the create request, applied to the version when it completes.';
COMMENT ON COLUMN pending_operations.approved_at IS
    'When an operator approved the request (issuers with requires_approval); NULL if not approved or no approval needed.';
COMMENT ON COLUMN pending_operations.approved_by IS
    'Who approved the request (operator name or token label); NULL if not approved.';
COMMENT ON COLUMN pending_operations.provider_state IS
    'Provider progress kept between worker attempts as a JSON object (e.g. ACME order and authorization URLs). No secrets.';
COMMENT ON COLUMN pending_operations.attempts IS
    'How many times a worker has claimed this operation.';
COMMENT ON COLUMN pending_operations.next_attempt_at IS
    'When a worker should next take the operation; NULL when there is nothing for the worker to do (Unknown issuer waiting for merge, or finished). A claim moves it forward by the lease time, so a crashed worker''s job becomes due again.';
COMMENT ON COLUMN pending_operations.claimed_by IS
    'Worker that last claimed the operation (host:pid); NULL if never claimed.';
COMMENT ON COLUMN pending_operations.claimed_at IS
    'When the operation was last claimed by a worker; NULL if never claimed.';
COMMENT ON COLUMN pending_operations.worker_last_error IS
    'Last transient error the worker hit (to be retried), for operators; not sent to clients. NULL if none.';
COMMENT ON COLUMN pending_operations.created_at IS
    'When the operation started.';
COMMENT ON COLUMN pending_operations.updated_at IS
    'When the row last changed.';
COMMENT ON COLUMN pending_operations.finished_at IS
    'When the status left inProgress; NULL while inProgress.';


-- ---------------------------------------------------------------------------
-- Contacts: one ordered list per vault.
-- ---------------------------------------------------------------------------

CREATE TABLE contacts (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vault_id   bigint      NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    sort_order integer     NOT NULL
                           CONSTRAINT contacts_sort_order_nonnegative
                           CHECK (sort_order >= 0),
    email      text        NULL
                           CONSTRAINT contacts_email_format
                           CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    name       text        NULL,
    phone      text        NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contacts_vault_order_key UNIQUE (vault_id, sort_order)
);

COMMENT ON TABLE contacts IS
    'Certificate contacts of a vault (PUT /certificates/contacts), the recipients of EmailContacts lifetime actions. PUT replaces all rows of the vault; no rows means ContactsNotFound.';
COMMENT ON COLUMN contacts.id IS
    'Surrogate key.';
COMMENT ON COLUMN contacts.vault_id IS
    'Vault the contact belongs to.';
COMMENT ON COLUMN contacts.sort_order IS
    'Position of the contact in the list as given (0 first).';
COMMENT ON COLUMN contacts.email IS
    'Email address (email on the wire); NULL if not given.';
COMMENT ON COLUMN contacts.name IS
    'Contact name (name on the wire); NULL if not given.';
COMMENT ON COLUMN contacts.phone IS
    'Phone number (phone on the wire); NULL if not given.';
COMMENT ON COLUMN contacts.created_at IS
    'When the contact list containing this row was set.';


-- ---------------------------------------------------------------------------
-- Audit log: who did what, to which object, when, with what outcome.
-- ---------------------------------------------------------------------------

CREATE TABLE audit_log (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at       timestamptz NOT NULL DEFAULT now(),
    vault_id          bigint      NULL REFERENCES vaults (id) ON DELETE SET NULL,
    vault_name        text        NULL,
    actor             text        NOT NULL
                                  CONSTRAINT audit_log_actor_known
                                  CHECK (actor IN ('token', 'worker', 'admin')),
    token_id          bigint      NULL REFERENCES access_tokens (id) ON DELETE SET NULL,
    actor_detail      text        NULL,
    remote_addr       inet        NULL,
    client_request_id text        NULL
                                  CONSTRAINT audit_log_client_request_id_length
                                  CHECK (length(client_request_id) <= 256),
    operation         text        NOT NULL
                                  CONSTRAINT audit_log_operation_format
                                  CHECK (operation ~ '^[A-Za-z][A-Za-z0-9._-]{0,63}$'),
    object_type       text        NULL
                                  CONSTRAINT audit_log_object_type_known
                                  CHECK (object_type IN ('certificate', 'deletedcertificate',
                                         'pending', 'policy', 'issuer', 'contacts',
                                         'vault', 'token', 'key')),
    object_name       text        NULL
                                  CONSTRAINT audit_log_object_name_length
                                  CHECK (length(object_name) <= 1024),
    object_version    text        NULL
                                  CONSTRAINT audit_log_object_version_length
                                  CHECK (length(object_version) <= 64),
    outcome           text        NOT NULL
                                  CONSTRAINT audit_log_outcome_known
                                  CHECK (outcome IN ('success', 'denied', 'error')),
    http_status       integer     NULL
                                  CONSTRAINT audit_log_http_status_range
                                  CHECK (http_status BETWEEN 100 AND 599),
    error_code        text        NULL,
    details           jsonb       NOT NULL DEFAULT '{}'
                                  CONSTRAINT audit_log_details_object
                                  CHECK (jsonb_typeof(details) = 'object'),
    CONSTRAINT audit_log_token_actor
        CHECK (actor = 'token' OR token_id IS NULL)
);

CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
CREATE INDEX audit_log_vault_occurred_at_idx ON audit_log (vault_id, occurred_at);
CREATE INDEX audit_log_token_id_idx ON audit_log (token_id) WHERE token_id IS NOT NULL;

COMMENT ON TABLE audit_log IS
    'Append-only record of state-changing and denied operations: who (token, worker or admin), what operation, on which object, when, and the outcome. Never contains tokens, private keys or passwords.';
COMMENT ON COLUMN audit_log.id IS
    'Surrogate key, increasing in insertion order.';
COMMENT ON COLUMN audit_log.occurred_at IS
    'When the operation happened.';
COMMENT ON COLUMN audit_log.vault_id IS
    'Vault concerned; set to NULL if the vault is later deleted (vault_name remains).';
COMMENT ON COLUMN audit_log.vault_name IS
    'Name of the vault at the time, kept after the vault is deleted; NULL if no vault was resolved.';
COMMENT ON COLUMN audit_log.actor IS
    'Who acted: token (an API client, see token_id), worker (certvault-worker) or admin (certvault-admin).';
COMMENT ON COLUMN audit_log.token_id IS
    'Access token used, when actor is token; NULL for worker and admin, or if the token was deleted.';
COMMENT ON COLUMN audit_log.actor_detail IS
    'More about the actor: token label, worker host:pid, or the operating-system user running certvault-admin; NULL if none.';
COMMENT ON COLUMN audit_log.remote_addr IS
    'Client IP address as seen by the web server (REMOTE_ADDR); NULL outside HTTP requests.';
COMMENT ON COLUMN audit_log.client_request_id IS
    'x-ms-client-request-id header sent by the client, for correlation with client logs; NULL if absent.';
COMMENT ON COLUMN audit_log.operation IS
    'What was done: the Key Vault operation name (e.g. CreateCertificate, MergeCertificate, PurgeDeletedCertificate) or a worker/admin action (e.g. IssueCertificate, AutoRenew, CreateToken).';
COMMENT ON COLUMN audit_log.object_type IS
    'Kind of object acted on: certificate, deletedcertificate, pending, policy, issuer, contacts, vault, token or key; NULL if none.';
COMMENT ON COLUMN audit_log.object_name IS
    'Name of the object acted on (certificate or issuer name, token id); NULL if none.';
COMMENT ON COLUMN audit_log.object_version IS
    'Version of the object acted on, when the operation addressed or created one; NULL otherwise.';
COMMENT ON COLUMN audit_log.outcome IS
    'success, denied (authentication or permission refused) or error (any other failure).';
COMMENT ON COLUMN audit_log.http_status IS
    'HTTP status returned to the client; NULL outside HTTP requests.';
COMMENT ON COLUMN audit_log.error_code IS
    'Key Vault error code returned (e.g. Forbidden, Conflict); NULL on success.';
COMMENT ON COLUMN audit_log.details IS
    'Further non-secret facts as a JSON object (e.g. request_id of a pending operation, issuer name); {} if none.';


-- ---------------------------------------------------------------------------
-- Operator views.
-- ---------------------------------------------------------------------------

CREATE VIEW pending_operations_overview AS
SELECT v.name                                AS vault_name,
       c.name                                AS certificate_name,
       p.status,
       p.issuer_name,
       p.issuer_provider,
       p.request_id,
       p.cancellation_requested,
       p.created_at,
       now() - p.created_at                  AS age,
       p.attempts,
       p.next_attempt_at,
       p.claimed_by,
       p.error_code,
       p.error_message,
       p.worker_last_error,
       c.deleted_at IS NOT NULL              AS certificate_deleted,
       p.id                                  AS pending_operation_id,
       c.id                                  AS certificate_id
  FROM pending_operations p
  JOIN certificates c ON c.id = p.certificate_id
  JOIN vaults v ON v.id = c.vault_id;

COMMENT ON VIEW pending_operations_overview IS
    'Pending operations with vault and certificate names, age, attempts and errors: what is waiting or stuck. E.g. SELECT * FROM pending_operations_overview WHERE status = ''inProgress'' ORDER BY age DESC.';
COMMENT ON COLUMN pending_operations_overview.vault_name IS 'Name of the vault.';
COMMENT ON COLUMN pending_operations_overview.certificate_name IS 'Name of the certificate.';
COMMENT ON COLUMN pending_operations_overview.status IS 'inProgress, completed, failed or cancelled.';
COMMENT ON COLUMN pending_operations_overview.issuer_name IS 'Issuer name from the policy: Self, Unknown or an issuer object.';
COMMENT ON COLUMN pending_operations_overview.issuer_provider IS 'Provider of the issuer object; NULL for Self and Unknown.';
COMMENT ON COLUMN pending_operations_overview.request_id IS 'request_id of the operation.';
COMMENT ON COLUMN pending_operations_overview.cancellation_requested IS 'True once a client asked to cancel.';
COMMENT ON COLUMN pending_operations_overview.created_at IS 'When the operation started.';
COMMENT ON COLUMN pending_operations_overview.age IS 'Time since the operation started.';
COMMENT ON COLUMN pending_operations_overview.attempts IS 'How many times a worker has claimed it.';
COMMENT ON COLUMN pending_operations_overview.next_attempt_at IS 'When a worker will next take it; NULL if the worker has nothing to do (waiting for merge, or finished).';
COMMENT ON COLUMN pending_operations_overview.claimed_by IS 'Worker that last claimed it (host:pid).';
COMMENT ON COLUMN pending_operations_overview.error_code IS 'error.code if the operation failed.';
COMMENT ON COLUMN pending_operations_overview.error_message IS 'error.message if the operation failed.';
COMMENT ON COLUMN pending_operations_overview.worker_last_error IS 'Last transient error the worker hit.';
COMMENT ON COLUMN pending_operations_overview.certificate_deleted IS 'True if the certificate is soft-deleted.';
COMMENT ON COLUMN pending_operations_overview.pending_operation_id IS 'pending_operations.id.';
COMMENT ON COLUMN pending_operations_overview.certificate_id IS 'certificates.id.';


CREATE VIEW certificates_overview AS
SELECT v.name                                AS vault_name,
       c.name                                AS certificate_name,
       CASE WHEN c.deleted_at IS NOT NULL THEN 'deleted'
            WHEN lv.id IS NULL THEN 'empty'
            WHEN lv.certificate_der IS NULL THEN 'pending'
            ELSE 'issued' END                AS state,
       lv.version                            AS latest_version,
       lv.enabled                            AS latest_enabled,
       lv.subject                            AS latest_subject,
       encode(lv.x5t, 'hex')                 AS latest_sha1_thumbprint,
       lv.not_after                          AS latest_not_after,
       lv.not_after - now()                  AS latest_expires_in,
       (SELECT count(*) FROM certificate_versions cv
         WHERE cv.certificate_id = c.id)     AS version_count,
       p.status                              AS pending_status,
       c.policy -> 'issuer' ->> 'name'       AS policy_issuer_name,
       c.deleted_at,
       c.scheduled_purge_at,
       c.id                                  AS certificate_id
  FROM certificates c
  JOIN vaults v ON v.id = c.vault_id
  LEFT JOIN LATERAL (SELECT cv.*
                       FROM certificate_versions cv
                      WHERE cv.certificate_id = c.id
                      ORDER BY cv.created_at DESC, cv.id DESC
                      LIMIT 1) lv ON true
  LEFT JOIN pending_operations p ON p.certificate_id = c.id;

COMMENT ON VIEW certificates_overview IS
    'Every certificate (live and soft-deleted) with its latest version, expiry and pending status. E.g. SELECT * FROM certificates_overview WHERE latest_expires_in < interval ''30 days''.';
COMMENT ON COLUMN certificates_overview.vault_name IS 'Name of the vault.';
COMMENT ON COLUMN certificates_overview.certificate_name IS 'Name of the certificate.';
COMMENT ON COLUMN certificates_overview.state IS 'deleted (soft-deleted), pending (latest version has no certificate yet), issued, or empty (no version).';
COMMENT ON COLUMN certificates_overview.latest_version IS 'Version id of the latest version.';
COMMENT ON COLUMN certificates_overview.latest_enabled IS 'Whether the latest version is enabled.';
COMMENT ON COLUMN certificates_overview.latest_subject IS 'Subject DN of the latest version.';
COMMENT ON COLUMN certificates_overview.latest_sha1_thumbprint IS 'SHA-1 thumbprint of the latest version in hex (x5t); NULL while pending.';
COMMENT ON COLUMN certificates_overview.latest_not_after IS 'Expiry of the latest version.';
COMMENT ON COLUMN certificates_overview.latest_expires_in IS 'Time left until the latest version expires (negative if expired).';
COMMENT ON COLUMN certificates_overview.version_count IS 'Number of versions.';
COMMENT ON COLUMN certificates_overview.pending_status IS 'Status of the pending operation; NULL if there is none.';
COMMENT ON COLUMN certificates_overview.policy_issuer_name IS 'issuer.name of the current policy.';
COMMENT ON COLUMN certificates_overview.deleted_at IS 'When the certificate was soft-deleted; NULL if live.';
COMMENT ON COLUMN certificates_overview.scheduled_purge_at IS 'When it will be purged; NULL if live.';
COMMENT ON COLUMN certificates_overview.certificate_id IS 'certificates.id.';


CREATE VIEW key_pool_overview AS
SELECT key_spec,
       count(*)        AS available_keys,
       min(created_at) AS oldest_created_at
  FROM key_pool
 GROUP BY key_spec;

COMMENT ON VIEW key_pool_overview IS
    'How many pre-generated keys are waiting in key_pool per key type.';
COMMENT ON COLUMN key_pool_overview.key_spec IS 'Key type: RSA-2048, EC-P-256, ...';
COMMENT ON COLUMN key_pool_overview.available_keys IS 'Number of unclaimed keys of that type.';
COMMENT ON COLUMN key_pool_overview.oldest_created_at IS 'When the oldest of them was generated.';
