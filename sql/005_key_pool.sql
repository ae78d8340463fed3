-- certvault schema, part 5: the key pool, seen by a DBA.
--
-- Applied by `certvault-admin migrate` inside one transaction (no BEGIN/COMMIT
-- here). Migrations are never edited once released; change the schema with a
-- new numbered file.
--
-- certvault-worker keeps key_pool (migration 002) topped up to key_pool_size
-- keys of each type in key_pool_types; a create takes the oldest key of its
-- type with DELETE ... RETURNING under FOR UPDATE SKIP LOCKED before it locks
-- anything, and generates one itself when the pool has none.

COMMENT ON TABLE key_pool IS
    'Pre-generated, sealed key pairs not yet given to any certificate, kept topped up per key type (key_pool_types, key_pool_size) by certvault-worker so that a create does not wait for key generation. A create takes the oldest key of its type with DELETE ... RETURNING under FOR UPDATE SKIP LOCKED, before it locks the certificate; a key is used once, also when that create then fails (409). Shared by all vaults. See key_pool_depth.';

CREATE VIEW key_pool_depth AS
    SELECT key_spec,
           count(*)        AS keys,
           min(created_at) AS oldest,
           max(created_at) AS newest
      FROM key_pool
     GROUP BY key_spec;

COMMENT ON VIEW key_pool_depth IS
    'How many pooled keys of each type are ready, and how old they are. A type missing here has none: its creates generate their keys in the request.';
COMMENT ON COLUMN key_pool_depth.key_spec IS
    'Key type: RSA-2048, RSA-3072, RSA-4096, EC-P-256, EC-P-384, EC-P-521.';
COMMENT ON COLUMN key_pool_depth.keys IS
    'Keys of that type ready to be taken.';
COMMENT ON COLUMN key_pool_depth.oldest IS
    'When the oldest of them was generated (the next one a create takes).';
COMMENT ON COLUMN key_pool_depth.newest IS
    'When the newest of them was generated.';
