-- Deliveries: one row per (schedule, pool, due time). The UNIQUE key is what makes a delivery
-- happen once: claiming is an INSERT that loses on conflict. Timestamps are RFC 3339 UTC text.
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    schedule_id  TEXT    NOT NULL,
    pool_id      TEXT    NOT NULL,
    due_at       TEXT    NOT NULL,
    -- No attempt starts after this instant (due_at + retry.max_elapsed, or the next countdown
    -- warning). Kept so that recovery after a crash knows it without the config.
    deadline_at  TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'missed', 'dry_run', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    job_id       TEXT,
    -- Reserved for job confirmation (ShowJob): WAITING, RUNNING, SUCCESS, FAILED.
    job_status   TEXT,
    http_status  INTEGER,
    error_code   TEXT,
    error_msg    TEXT,
    request_id   TEXT,
    created_at   TEXT    NOT NULL,
    finished_at  TEXT,
    UNIQUE (schedule_id, pool_id, due_at)
);
CREATE INDEX deliveries_pending ON deliveries (status) WHERE status = 'pending';
CREATE INDEX deliveries_due ON deliveries (due_at);

-- Attempts: one row per HTTP attempt, committed when the attempt ends.
CREATE TABLE attempts (
    delivery_id  INTEGER NOT NULL REFERENCES deliveries (id),
    attempt      INTEGER NOT NULL,
    started_at   TEXT    NOT NULL,
    finished_at  TEXT    NOT NULL,
    http_status  INTEGER,
    error_code   TEXT,
    error_msg    TEXT,
    request_id   TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- Per-schedule progress: the last occurrence handled (claimed or recorded missed), so that a
-- restart knows what it missed, and the anchor of an `every` schedule without `start`.
CREATE TABLE schedule_state (
    schedule_id  TEXT PRIMARY KEY,
    anchor_at    TEXT NOT NULL,
    last_due_at  TEXT
);

-- Schedules managed with `schedule add`.
CREATE TABLE schedules (
    id             TEXT PRIMARY KEY,
    cron           TEXT,
    at             TEXT,
    every          TEXT,
    start_at       TEXT,
    timezone       TEXT,
    pools          TEXT NOT NULL,  -- JSON array of pool ids
    message        TEXT NOT NULL,
    misfire_grace  TEXT,
    paused         INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
