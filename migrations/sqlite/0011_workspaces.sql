-- no-transaction
-- Several workspaces (regions, projects, accounts) in one database: each delivery records the
-- workspace it goes to, and the unique key becomes (schedule_id, workspace, target, due_at).
-- Rows from before are the single workspace's, `default`. Stored schedules and windows name
-- theirs; NULL means "the only one" (as a file entry that names none).
-- SQLite cannot change a UNIQUE key in place, so the table is rebuilt, keeping every row and
-- id, in one IMMEDIATE transaction; foreign keys are off only while the table is replaced.
-- The columns added first are a tripwire: a second process that raced to the same migration
-- and got the lock after the first committed fails right there, before changing anything
-- (its transaction is rolled back and it finds the migration recorded), instead of
-- rebuilding the table again over rows written since.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
ALTER TABLE schedules ADD COLUMN workspace TEXT;
ALTER TABLE maintenance_windows ADD COLUMN workspace TEXT;
CREATE TABLE deliveries_v11 (
    id               INTEGER PRIMARY KEY,
    schedule_id      TEXT    NOT NULL,
    pool_id          TEXT,
    target           TEXT    NOT NULL,
    desktop_ids      TEXT,
    parent_id        INTEGER REFERENCES deliveries (id),
    due_at           TEXT    NOT NULL,
    deadline_at      TEXT    NOT NULL,
    message          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'missed', 'dry_run', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    job_id           TEXT,
    job_status       TEXT,
    http_status      INTEGER,
    error_code       TEXT,
    error_msg        TEXT,
    request_id       TEXT,
    created_at       TEXT    NOT NULL,
    finished_at      TEXT,
    claimed_by       TEXT,
    job_result       TEXT,
    desktops_total   INTEGER,
    desktops_ok      INTEGER,
    desktops_failed  INTEGER,
    job_finished_at  TEXT,
    job_error        TEXT,
    job_next_poll_at TEXT,
    job_polls        INTEGER NOT NULL DEFAULT 0,
    resend_left      INTEGER NOT NULL DEFAULT 0,
    resend_after_ms  INTEGER,
    countdown_to     TEXT,
    countdown_text   TEXT,
    workspace        TEXT    NOT NULL DEFAULT 'default',
    UNIQUE (schedule_id, workspace, target, due_at)
);
INSERT INTO deliveries_v11 (id, schedule_id, pool_id, target, desktop_ids, parent_id, due_at,
    deadline_at, message, status, attempts, job_id, job_status, http_status, error_code,
    error_msg, request_id, created_at, finished_at, claimed_by, job_result, desktops_total,
    desktops_ok, desktops_failed, job_finished_at, job_error, job_next_poll_at, job_polls,
    resend_left, resend_after_ms, countdown_to, countdown_text, workspace)
SELECT id, schedule_id, pool_id, target, desktop_ids, parent_id, due_at,
    deadline_at, message, status, attempts, job_id, job_status, http_status, error_code,
    error_msg, request_id, created_at, finished_at, claimed_by, job_result, desktops_total,
    desktops_ok, desktops_failed, job_finished_at, job_error, job_next_poll_at, job_polls,
    resend_left, resend_after_ms, countdown_to, countdown_text, 'default'
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v11 RENAME TO deliveries;
CREATE INDEX deliveries_pending ON deliveries (status) WHERE status = 'pending';
CREATE INDEX deliveries_due ON deliveries (due_at);
CREATE INDEX deliveries_job_polls ON deliveries (job_next_poll_at)
    WHERE job_next_poll_at IS NOT NULL;
CREATE INDEX deliveries_parent ON deliveries (parent_id) WHERE parent_id IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;
