-- no-transaction
-- Deliveries may target individual desktops (SendNotifications) instead of a pool, and a
-- re-send is linked to the delivery it re-sends. SQLite cannot relax NOT NULL on pool_id or
-- change a UNIQUE key in place, so the table is rebuilt, keeping every row and id.
--   pool_id      NULL for desktop targets.
--   target       'pool:<pool id>', or 'desktops:<batch>' (batches of [jobs] desktop_batch ids),
--                or 'resend:<parent id>:<batch>'; the unique key is (schedule_id, target,
--                due_at), so each target's delivery still happens once.
--   desktop_ids  JSON array of the desktop ids a desktop target sends to.
--   parent_id    for a re-send: the delivery whose failed desktops it sends to again.
--   resend_left / resend_after_ms: automatic re-sends still allowed, and their delay.
-- The rebuild runs in one IMMEDIATE transaction (a second process starting at the same time
-- waits for it); foreign keys are off only while the old table is replaced.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE deliveries_v7 (
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
    UNIQUE (schedule_id, target, due_at)
);
INSERT INTO deliveries_v7 (id, schedule_id, pool_id, target, due_at, deadline_at, message,
    status, attempts, job_id, job_status, http_status, error_code, error_msg, request_id,
    created_at, finished_at, claimed_by, job_result, desktops_total, desktops_ok,
    desktops_failed, job_finished_at, job_error, job_next_poll_at, job_polls)
SELECT id, schedule_id, pool_id, 'pool:' || pool_id, due_at, deadline_at, message,
    status, attempts, job_id, job_status, http_status, error_code, error_msg, request_id,
    created_at, finished_at, claimed_by, job_result, desktops_total, desktops_ok,
    desktops_failed, job_finished_at, job_error, job_next_poll_at, job_polls
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v7 RENAME TO deliveries;
CREATE INDEX deliveries_pending ON deliveries (status) WHERE status = 'pending';
CREATE INDEX deliveries_due ON deliveries (due_at);
CREATE INDEX deliveries_job_polls ON deliveries (job_next_poll_at)
    WHERE job_next_poll_at IS NOT NULL;
CREATE INDEX deliveries_parent ON deliveries (parent_id) WHERE parent_id IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;
