-- certvault schema, part 6: rate limits.
--
-- Applied by `certvault-admin migrate` inside one transaction (no BEGIN/COMMIT
-- here). Migrations are never edited once released; change the schema with a
-- new numbered file.
--
-- With rate_limit_token_rps or rate_limit_vault_rps configured, every
-- authenticated request takes one unit from its token's bucket and its
-- vault's bucket (token buckets refilled at that rate, holding up to ten
-- seconds' worth, as Key Vault counts per 10 seconds); an empty bucket makes
-- the request 429 Throttled with Retry-After. Shared by all certvault-fcgi
-- processes on all nodes; unlogged, because a bucket lost in a crash only
-- starts full again.

CREATE UNLOGGED TABLE rate_buckets (
    bucket        text             PRIMARY KEY
                                   CONSTRAINT rate_buckets_bucket_format
                                   CHECK (bucket ~ '^(token|vault):[0-9]+$'),
    tokens        double precision NOT NULL,
    refreshed_at  timestamptz      NOT NULL DEFAULT now()
);

COMMENT ON TABLE rate_buckets IS
    'Token buckets of the rate limits (rate_limit_token_rps, rate_limit_vault_rps): one row per access token and per vault that made a request while limits were on. Unlogged: after a crash every bucket starts full. Safe to TRUNCATE.';
COMMENT ON COLUMN rate_buckets.bucket IS
    'token:<access_tokens.id> or vault:<vaults.id>.';
COMMENT ON COLUMN rate_buckets.tokens IS
    'Requests left as of refreshed_at; negative while requests are refused (each refused request still takes one, so hammering keeps the bucket empty).';
COMMENT ON COLUMN rate_buckets.refreshed_at IS
    'When tokens was last computed; the bucket refills at the configured rate since then.';
