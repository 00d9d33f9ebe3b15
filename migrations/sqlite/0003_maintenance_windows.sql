-- Maintenance windows managed with `maintenance add`.
CREATE TABLE maintenance_windows (
    id             TEXT PRIMARY KEY,
    start_at       TEXT,
    cron           TEXT,
    duration       TEXT NOT NULL,
    notify_before  TEXT NOT NULL,  -- JSON array of durations
    timezone       TEXT,
    pools          TEXT NOT NULL,  -- JSON array of pool ids
    message        TEXT NOT NULL,
    start_message  TEXT,
    end_message    TEXT,
    misfire_grace  TEXT,
    created_at     TEXT NOT NULL
);

-- `maintenance cancel`: one row per cancelled occurrence (its start), or occurrence_start NULL
-- for every occurrence. Kept in the database so it applies to windows from the config file too
-- and survives restarts.
CREATE TABLE window_cancellations (
    window_id         TEXT NOT NULL,
    occurrence_start  TEXT,
    notice            TEXT,
    created_at        TEXT NOT NULL
);
CREATE INDEX window_cancellations_window ON window_cancellations (window_id);

CREATE TRIGGER windows_changed_insert AFTER INSERT ON maintenance_windows
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER windows_changed_delete AFTER DELETE ON maintenance_windows
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER cancellations_changed_insert AFTER INSERT ON window_cancellations
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
