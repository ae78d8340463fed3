-- certvault schema, part 7: what operators watch.
--
-- Applied by `certvault-admin migrate` inside one transaction (no BEGIN/COMMIT
-- here). Migrations are never edited once released; change the schema with a
-- new numbered file.
--
-- Every certvault-worker, on every node, writes one row here after each pass
-- over its jobs: the status page (/status), GET /metrics and
-- `certvault-admin doctor` read it. A worker that stops cleanly deletes its
-- row; the row of one that crashed stays, with a last_seen that stops moving,
-- until any worker prunes it a day later.

CREATE TABLE worker_heartbeats (
    worker_id      text        PRIMARY KEY
                               CONSTRAINT worker_heartbeats_worker_id_length
                               CHECK (length(worker_id) BETWEEN 1 AND 300),
    hostname       text        NOT NULL,
    pid            integer     NOT NULL CHECK (pid > 0),
    started_at     timestamptz NOT NULL,
    last_seen      timestamptz NOT NULL DEFAULT now(),
    passes         bigint      NOT NULL DEFAULT 0 CHECK (passes >= 0),
    claims         bigint      NOT NULL DEFAULT 0 CHECK (claims >= 0),
    failures       bigint      NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error     text        NULL,
    last_error_at  timestamptz NULL
);

COMMENT ON TABLE worker_heartbeats IS
    'One row per running certvault-worker process (all nodes), refreshed after every pass over its jobs (worker_interval). A row whose last_seen is more than a few intervals old belongs to a worker that is stuck or died; rows older than a day are pruned by the other workers.';
COMMENT ON COLUMN worker_heartbeats.worker_id IS
    'hostname:pid of the worker process.';
COMMENT ON COLUMN worker_heartbeats.hostname IS
    'Node the worker runs on (gethostname).';
COMMENT ON COLUMN worker_heartbeats.pid IS
    'Process id on that node.';
COMMENT ON COLUMN worker_heartbeats.started_at IS
    'When the process started.';
COMMENT ON COLUMN worker_heartbeats.last_seen IS
    'End of its latest pass (database clock).';
COMMENT ON COLUMN worker_heartbeats.passes IS
    'Passes over all jobs since the process started.';
COMMENT ON COLUMN worker_heartbeats.claims IS
    'Rows its jobs claimed and handled since it started: pending operation steps, purges, pooled keys, lifetime actions.';
COMMENT ON COLUMN worker_heartbeats.failures IS
    'Job runs that failed since it started (the database answered, the job did not succeed).';
COMMENT ON COLUMN worker_heartbeats.last_error IS
    'What the latest failure was, or NULL when none happened.';
COMMENT ON COLUMN worker_heartbeats.last_error_at IS
    'When the latest failure happened.';
