-- Following each accepted notification's job to its per-desktop result.
-- job_status (reserved since 0001): the last status word ShowJob gave, verbatim. job_result: ok | partial | failed |
-- unknown, NULL while the job is followed (or when it is not: dry run, no job_id, [jobs]
-- enabled = false). desktops_*: counts from the job's sub-jobs. job_error: why following ended
-- without a final word (job not found, no permission, gave up).
-- job_next_poll_at / job_polls: the follower's state, so a restart resumes it; a poll is taken
-- with a compare-and-set on job_next_poll_at, so no job is polled twice at once.
ALTER TABLE deliveries ADD COLUMN job_result TEXT;
ALTER TABLE deliveries ADD COLUMN desktops_total INTEGER;
ALTER TABLE deliveries ADD COLUMN desktops_ok INTEGER;
ALTER TABLE deliveries ADD COLUMN desktops_failed INTEGER;
ALTER TABLE deliveries ADD COLUMN job_finished_at TEXT;
ALTER TABLE deliveries ADD COLUMN job_error TEXT;
ALTER TABLE deliveries ADD COLUMN job_next_poll_at TEXT;
ALTER TABLE deliveries ADD COLUMN job_polls INTEGER NOT NULL DEFAULT 0;

CREATE INDEX deliveries_job_polls ON deliveries (job_next_poll_at)
    WHERE job_next_poll_at IS NOT NULL;

-- One row per desktop of a delivery's job.
CREATE TABLE recipients (
    delivery_id  INTEGER NOT NULL REFERENCES deliveries (id),
    desktop_id   TEXT NOT NULL,
    user_name    TEXT,
    desktop_name TEXT,
    status       TEXT NOT NULL,
    error_code   TEXT,
    fail_reason  TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (delivery_id, desktop_id)
);
