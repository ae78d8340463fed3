-- certvault schema, part 3: the lifetime actions certvault-worker carried out.
--
-- Applied by `certvault-admin migrate` inside one transaction (no BEGIN/COMMIT
-- here). Migrations are never edited once released; change the schema with a
-- new numbered file.
--
-- A policy's lifetime_actions (AutoRenew, EmailContacts) fire once per
-- certificate version: when the trigger (lifetime_percentage or
-- days_before_expiry) of the latest issued version has passed, the worker
-- (or `certvault-admin lifetime run`) locks the certificate row, records the
-- run here and carries out its effect in the same transaction. The unique
-- key (version, action, trigger) makes each one happen once, with any number
-- of workers and across crashes.


CREATE TABLE lifetime_action_runs (
    id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    certificate_id         bigint      NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    certificate_version_id bigint      NOT NULL REFERENCES certificate_versions (id) ON DELETE CASCADE,
    action_type            text        NOT NULL
                                       CONSTRAINT lifetime_action_runs_action_type_known
                                       CHECK (action_type IN ('AutoRenew', 'EmailContacts')),
    trigger                text        NOT NULL
                                       CONSTRAINT lifetime_action_runs_trigger_format
                                       CHECK (trigger ~ '^(lifetime_percentage|days_before_expiry)=[0-9]{1,5}$'),
    due_at                 timestamptz NOT NULL,
    evaluated_as_of        timestamptz NOT NULL,
    outcome                text        NOT NULL
                                       CONSTRAINT lifetime_action_runs_outcome_known
                                       CHECK (outcome IN ('renewed', 'renewal requested', 'sent',
                                                          'no contacts', 'not possible', 'error')),
    details                text        NULL,
    recipients             text[]      NULL
                                       CONSTRAINT lifetime_action_runs_recipients_flat
                                       CHECK (array_ndims(recipients) = 1),
    new_version            text        NULL
                                       CONSTRAINT lifetime_action_runs_new_version_format
                                       CHECK (new_version ~ '^[0-9a-f]{32}$'),
    error                  text        NULL,
    attempts               integer     NOT NULL DEFAULT 1
                                       CONSTRAINT lifetime_action_runs_attempts_positive
                                       CHECK (attempts >= 1),
    next_attempt_at        timestamptz NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    run_at                 timestamptz NOT NULL DEFAULT now(),
    -- Once per (version, action): a second worker or a restart finds the row.
    CONSTRAINT lifetime_action_runs_once
        UNIQUE (certificate_version_id, action_type, trigger),
    -- Only a failed run is tried again, and it always says why it failed.
    CONSTRAINT lifetime_action_runs_retry_only_errors
        CHECK ((outcome = 'error') = (next_attempt_at IS NOT NULL)),
    CONSTRAINT lifetime_action_runs_error_has_text
        CHECK ((outcome = 'error') = (error IS NOT NULL)),
    CONSTRAINT lifetime_action_runs_renewal_names_version
        CHECK (outcome NOT IN ('renewed', 'renewal requested') OR new_version IS NOT NULL),
    CONSTRAINT lifetime_action_runs_sent_has_recipients
        CHECK (outcome <> 'sent' OR cardinality(recipients) > 0)
);

CREATE INDEX lifetime_action_runs_certificate_idx
    ON lifetime_action_runs (certificate_id, run_at);

COMMENT ON TABLE lifetime_action_runs IS
    'Lifetime actions of certificate policies that were carried out (or tried): one row per (certificate version, action type, trigger), so that a renewal is made once and a notification sent once, even with several workers or after a crash. Rows with outcome error are tried again from next_attempt_at on. Read it to see what auto-renewal and notification did; see also lifetime_action_runs_overview.';
COMMENT ON COLUMN lifetime_action_runs.id IS
    'Surrogate key.';
COMMENT ON COLUMN lifetime_action_runs.certificate_id IS
    'Certificate whose policy holds the action; the row goes with it when it is purged.';
COMMENT ON COLUMN lifetime_action_runs.certificate_version_id IS
    'The version the trigger was computed from: the latest issued version when the action ran (its not_before and not_after).';
COMMENT ON COLUMN lifetime_action_runs.action_type IS
    'action.action_type of the lifetime action: AutoRenew or EmailContacts.';
COMMENT ON COLUMN lifetime_action_runs.trigger IS
    'The trigger as name=value: lifetime_percentage=N (N % of the validity elapsed) or days_before_expiry=N.';
COMMENT ON COLUMN lifetime_action_runs.due_at IS
    'When the trigger fired for this version: not_before + N % of the validity, or not_after - N days (not before not_before).';
COMMENT ON COLUMN lifetime_action_runs.evaluated_as_of IS
    'The time the triggers were evaluated as of: the run time, or the --as-of time of certvault-admin lifetime run.';
COMMENT ON COLUMN lifetime_action_runs.outcome IS
    'What happened: renewed (issuer Self: the new version is new_version), renewal requested (issuer object: new_version is pending, its operation has origin autorenew), sent (EmailContacts, to recipients), no contacts (EmailContacts, the vault has no contact with an email), not possible (e.g. AutoRenew with issuer Unknown; see details), error (failed, see error; tried again at next_attempt_at).';
COMMENT ON COLUMN lifetime_action_runs.details IS
    'Human-readable account of the run (the reason when not possible); NULL if none.';
COMMENT ON COLUMN lifetime_action_runs.recipients IS
    'EmailContacts: the email addresses the notification went (or was to go) to; NULL for AutoRenew.';
COMMENT ON COLUMN lifetime_action_runs.new_version IS
    'AutoRenew: version id of the version made (32 hex); NULL otherwise.';
COMMENT ON COLUMN lifetime_action_runs.error IS
    'Why the last attempt failed (e.g. the sendmail command exit status); NULL unless outcome is error.';
COMMENT ON COLUMN lifetime_action_runs.attempts IS
    'How many times the action was tried for this version (1 when it succeeded at once).';
COMMENT ON COLUMN lifetime_action_runs.next_attempt_at IS
    'When a failed action (outcome error) will be tried again, backing off from 1 minute to 1 hour; NULL once it is done.';
COMMENT ON COLUMN lifetime_action_runs.created_at IS
    'When the action was first tried for this version.';
COMMENT ON COLUMN lifetime_action_runs.run_at IS
    'When the action was last tried (for a final outcome: when it was carried out).';


CREATE VIEW lifetime_action_runs_overview AS
SELECT v.name             AS vault_name,
       c.name             AS certificate_name,
       cv.version         AS version,
       r.action_type,
       r.trigger,
       r.due_at,
       r.outcome,
       r.details,
       r.recipients,
       r.new_version,
       r.error,
       r.attempts,
       r.next_attempt_at,
       r.run_at,
       r.id               AS lifetime_action_run_id,
       c.id               AS certificate_id
  FROM lifetime_action_runs r
  JOIN certificates c ON c.id = r.certificate_id
  JOIN vaults v ON v.id = c.vault_id
  JOIN certificate_versions cv ON cv.id = r.certificate_version_id;

COMMENT ON VIEW lifetime_action_runs_overview IS
    'Lifetime actions carried out, with vault, certificate and version names. E.g. SELECT * FROM lifetime_action_runs_overview WHERE outcome = ''error'' ORDER BY run_at DESC.';
COMMENT ON COLUMN lifetime_action_runs_overview.vault_name IS 'Name of the vault.';
COMMENT ON COLUMN lifetime_action_runs_overview.certificate_name IS 'Name of the certificate.';
COMMENT ON COLUMN lifetime_action_runs_overview.version IS 'Version id the trigger was computed from.';
COMMENT ON COLUMN lifetime_action_runs_overview.action_type IS 'AutoRenew or EmailContacts.';
COMMENT ON COLUMN lifetime_action_runs_overview.trigger IS 'lifetime_percentage=N or days_before_expiry=N.';
COMMENT ON COLUMN lifetime_action_runs_overview.due_at IS 'When the trigger fired for that version.';
COMMENT ON COLUMN lifetime_action_runs_overview.outcome IS 'renewed, renewal requested, sent, no contacts, not possible or error.';
COMMENT ON COLUMN lifetime_action_runs_overview.details IS 'What happened, in words.';
COMMENT ON COLUMN lifetime_action_runs_overview.recipients IS 'EmailContacts: who was notified.';
COMMENT ON COLUMN lifetime_action_runs_overview.new_version IS 'AutoRenew: the version made.';
COMMENT ON COLUMN lifetime_action_runs_overview.error IS 'Why the last attempt failed; NULL unless outcome is error.';
COMMENT ON COLUMN lifetime_action_runs_overview.attempts IS 'How many times it was tried.';
COMMENT ON COLUMN lifetime_action_runs_overview.next_attempt_at IS 'When a failed action is tried again.';
COMMENT ON COLUMN lifetime_action_runs_overview.run_at IS 'When it was last tried.';
COMMENT ON COLUMN lifetime_action_runs_overview.lifetime_action_run_id IS 'lifetime_action_runs.id.';
COMMENT ON COLUMN lifetime_action_runs_overview.certificate_id IS 'certificates.id.';
