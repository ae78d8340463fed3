-- bench/grow.sql — bulk-load issued Self certificates into the bench vault,
-- set-based (one INSERT ... SELECT per table), for the flat-cost GETs of
-- bench/run.sh's full run. Not certvault's code path: rows as a Self create
-- leaves them (certificates, keys, certificate_versions, and the completed
-- operation in pending_operations), copied from one certificate the run
-- created through the API, so that every CHECK constraint of
-- sql/002_certificates.sql holds by construction (DER values starting 0x30,
-- a 12-byte nonce, version and request_id of 32 lowercase hex, ...). Each
-- copy gets its own name, key_uid, version and request_id; the DER and
-- sealed bytes are the template's (nothing reads the copies' keys).
--
--   psql -v vault=ID -v tpl=NAME -v first=N -v last=M -f bench/grow.sql
--
-- adds certificates g-N ... g-M to vault ID (template: certificate NAME),
-- in one transaction. run.sh runs VACUUM (ANALYZE) afterwards.
\set ON_ERROR_STOP on

BEGIN;

CREATE TEMP TABLE grow_tpl ON COMMIT DROP AS
SELECT c.policy, c.next_lifetime_action_at,
       v.certificate_der, v.chain_der, v.x5t, v.serial_number, v.subject,
       v.not_before, v.not_after, v.tags, v.content_type,
       k.kty, k.key_size, k.curve, k.exportable, k.public_key,
       k.sealed_private_key, k.seal_nonce, k.master_key_id,
       p.issuer_name, p.csr
  FROM certificates c
  JOIN certificate_versions v ON v.certificate_id = c.id AND v.certificate_der IS NOT NULL
  JOIN keys k ON k.id = v.key_id
  JOIN pending_operations p ON p.certificate_id = c.id AND p.status = 'completed'
 WHERE c.vault_id = :vault AND c.name = :'tpl'
 LIMIT 1;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM grow_tpl) THEN
        RAISE EXCEPTION 'grow.sql: no issued Self certificate to copy (the template)';
    END IF;
END
$$;

-- The new rows are those above the highest certificate id so far.
SELECT COALESCE(max(id), 0) AS lo FROM certificates \gset

INSERT INTO certificates (vault_id, name, policy, next_lifetime_action_at)
SELECT :vault, 'g-' || i, t.policy, t.next_lifetime_action_at
  FROM generate_series(:first, :last) AS i, grow_tpl t;

INSERT INTO keys (key_uid, certificate_id, kty, key_size, curve, exportable,
                  public_key, sealed_private_key, seal_nonce, master_key_id)
SELECT gen_random_uuid(), c.id, t.kty, t.key_size, t.curve, t.exportable,
       t.public_key, t.sealed_private_key, t.seal_nonce, t.master_key_id
  FROM certificates c, grow_tpl t
 WHERE c.id > :lo;

INSERT INTO certificate_versions (certificate_id, version, key_id, certificate_der,
                                  chain_der, x5t, serial_number, subject,
                                  not_before, not_after, enabled, tags, content_type)
SELECT k.certificate_id, md5('version ' || k.certificate_id), k.id, t.certificate_der,
       t.chain_der, t.x5t, t.serial_number, t.subject,
       t.not_before, t.not_after, true, t.tags, t.content_type
  FROM keys k, grow_tpl t
 WHERE k.certificate_id > :lo;

INSERT INTO pending_operations (certificate_id, target_version_id, request_id,
                                issuer_name, csr, status, finished_at)
SELECT v.certificate_id, v.id, md5('request ' || v.certificate_id),
       t.issuer_name, t.csr, 'completed', now()
  FROM certificate_versions v, grow_tpl t
 WHERE v.certificate_id > :lo;

COMMIT;
