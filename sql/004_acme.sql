-- certvault schema, part 4: ACME (RFC 8555) issuers.
--
-- Applied by `certvault-admin migrate` inside one transaction (no BEGIN/COMMIT
-- here). Migrations are never edited once released; change the schema with a
-- new numbered file.
--
-- An issuer with provider ACME names its CA's directory URL in
-- issuers.organization_id (org_details.id on the wire) and its account
-- contacts in issuers.admin_details. certvault-worker registers one account
-- per issuer on first use (the account key is sealed in issuer_credentials
-- as acme_account_key) and carries out one ACME order per pending operation,
-- keeping the order's URLs in pending_operations.provider_state. http-01
-- answers are served by certvault-fcgi from acme_challenges, so whichever
-- node the CA reaches answers.


CREATE TABLE acme_accounts (
    issuer_id      bigint      PRIMARY KEY REFERENCES issuers (id) ON DELETE CASCADE,
    directory_url  text        NOT NULL
                               CONSTRAINT acme_accounts_directory_url_format
                               CHECK (directory_url ~ '^https://[^[:space:][:cntrl:]]+$'),
    account_url    text        NULL
                               CONSTRAINT acme_accounts_account_url_format
                               CHECK (account_url ~ '^https://[^[:space:][:cntrl:]]+$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE acme_accounts IS
    'The ACME account of each ACME issuer: registered by certvault-worker on the issuer''s first order and reused after. Its private key is issuer_credentials.acme_account_key. When the issuer''s directory changes, the account is registered again at the new directory.';
COMMENT ON COLUMN acme_accounts.issuer_id IS
    'The ACME issuer this account belongs to; deleted with it.';
COMMENT ON COLUMN acme_accounts.directory_url IS
    'Directory URL of the CA the account was registered with (the issuer''s org_details.id when it was).';
COMMENT ON COLUMN acme_accounts.account_url IS
    'The account''s URL at the CA (the JWS kid), from the Location of newAccount; NULL until registered.';
COMMENT ON COLUMN acme_accounts.created_at IS
    'When the account row was first written.';
COMMENT ON COLUMN acme_accounts.updated_at IS
    'When the account was last registered or changed.';


CREATE TABLE acme_challenges (
    token              text        PRIMARY KEY
                                   CONSTRAINT acme_challenges_token_format
                                   CHECK (token ~ '^[A-Za-z0-9_-]+$'
                                          AND length(token) BETWEEN 16 AND 256),
    key_authorization  text        NOT NULL
                                   CONSTRAINT acme_challenges_key_authorization_format
                                   CHECK (key_authorization ~ '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$'),
    operation_id       bigint      NOT NULL REFERENCES pending_operations (id) ON DELETE CASCADE,
    identifier         text        NOT NULL
                                   CONSTRAINT acme_challenges_identifier_length
                                   CHECK (length(identifier) BETWEEN 1 AND 253),
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX acme_challenges_operation_idx ON acme_challenges (operation_id);

COMMENT ON TABLE acme_challenges IS
    'http-01 challenges being validated: certvault-fcgi answers GET /.well-known/acme-challenge/{token} with key_authorization, on any Host, without authentication (RFC 8555 section 8.3). Written by certvault-worker before it tells the CA the challenge is ready; removed when the operation finishes (or with it). Nothing here is secret.';
COMMENT ON COLUMN acme_challenges.token IS
    'The challenge token chosen by the CA (base64url).';
COMMENT ON COLUMN acme_challenges.key_authorization IS
    'token.thumbprint: the body of the http-01 answer.';
COMMENT ON COLUMN acme_challenges.operation_id IS
    'The pending operation whose order the challenge belongs to.';
COMMENT ON COLUMN acme_challenges.identifier IS
    'The DNS name being validated.';
COMMENT ON COLUMN acme_challenges.created_at IS
    'When the worker published the answer.';
