-- no-transaction
-- A new status, `coalesced`: occurrences that came due while the service could not fire them
-- and were superseded by a newer one it sent (catch_up = "latest", all within misfire_grace):
-- users got the newer message, so they are not `missed` (which alerts). SQLite cannot change
-- a CHECK in place, so the table is rebuilt as in 0011, keeping every row and id, in one
-- IMMEDIATE transaction with foreign keys off only while the table is replaced. The column
-- added first (who set a pause, for the audit of pauses) is the tripwire against a second
-- process racing to the same migration (see 0011).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
ALTER TABLE pauses ADD COLUMN actor TEXT;
CREATE TABLE deliveries_v17 (
    id               INTEGER PRIMARY KEY,
    schedule_id      TEXT    NOT NULL,
    pool_id          TEXT,
    target           TEXT    NOT NULL,
    desktop_ids      TEXT,
    parent_id        INTEGER REFERENCES deliveries (id),
    due_at           TEXT    NOT NULL,
    deadline_at      TEXT    NOT NULL,
    message          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'missed', 'coalesced', 'dry_run', 'cancelled')),
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
    selector         TEXT,
    audience_matched INTEGER,
    audience_targeted INTEGER,
    workspace_task   TEXT,
    maintenance_mode TEXT,
    UNIQUE (schedule_id, workspace, target, due_at)
);
INSERT INTO deliveries_v17 (id, schedule_id, pool_id, target, desktop_ids, parent_id, due_at,
    deadline_at, message, status, attempts, job_id, job_status, http_status, error_code,
    error_msg, request_id, created_at, finished_at, claimed_by, job_result, desktops_total,
    desktops_ok, desktops_failed, job_finished_at, job_error, job_next_poll_at, job_polls,
    resend_left, resend_after_ms, countdown_to, countdown_text, workspace, selector,
    audience_matched, audience_targeted, workspace_task, maintenance_mode)
SELECT id, schedule_id, pool_id, target, desktop_ids, parent_id, due_at,
    deadline_at, message, status, attempts, job_id, job_status, http_status, error_code,
    error_msg, request_id, created_at, finished_at, claimed_by, job_result, desktops_total,
    desktops_ok, desktops_failed, job_finished_at, job_error, job_next_poll_at, job_polls,
    resend_left, resend_after_ms, countdown_to, countdown_text, workspace, selector,
    audience_matched, audience_targeted, workspace_task, maintenance_mode
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v17 RENAME TO deliveries;
CREATE INDEX deliveries_pending ON deliveries (status) WHERE status = 'pending';
CREATE INDEX deliveries_due ON deliveries (due_at);
CREATE INDEX deliveries_job_polls ON deliveries (job_next_poll_at)
    WHERE job_next_poll_at IS NOT NULL;
CREATE INDEX deliveries_parent ON deliveries (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX deliveries_mode_switches ON deliveries (maintenance_mode, status) WHERE maintenance_mode IS NOT NULL;
CREATE INDEX deliveries_by_commands ON deliveries (finished_at) WHERE claimed_by LIKE 'cli-%';
COMMIT;
PRAGMA foreign_keys = ON;
