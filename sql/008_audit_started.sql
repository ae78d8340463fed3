-- certvault schema, part 8: an audited request is on record before it acts.
--
-- Applied by `certvault-admin migrate` inside one transaction (no BEGIN/COMMIT
-- here). Migrations are never edited once released; change the schema with a
-- new numbered file.
--
-- certvault-fcgi writes the audit row of a request that passed authentication
-- and its permission check with outcome 'started' before the handler changes
-- anything or hands out a private key, and sets the outcome, status and error
-- code when the handler is done. A row still 'started' therefore marks a
-- request whose process died (or lost the database) in between: what it did
-- may or may not have been committed, but it is never off the record.

ALTER TABLE audit_log DROP CONSTRAINT audit_log_outcome_known;
-- NOT VALID then VALIDATE: the check of the existing rows does not block
-- writers of a large log (VALIDATE takes only a SHARE UPDATE EXCLUSIVE lock).
ALTER TABLE audit_log ADD CONSTRAINT audit_log_outcome_known
    CHECK (outcome IN ('started', 'success', 'denied', 'error')) NOT VALID;
ALTER TABLE audit_log VALIDATE CONSTRAINT audit_log_outcome_known;

COMMENT ON COLUMN audit_log.outcome IS
    'success, denied (authentication or permission refused), error (any other failure), or started: the request reached its handler and no outcome was recorded after it (its process died or lost the database; the change may or may not have been committed).';
