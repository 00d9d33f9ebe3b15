-- See the SQLite migration 0013: Workspace's scheduled tasks as last read, the last read of
-- each workspace's list, and the task each warning delivery is about.
CREATE TABLE workspace_tasks (
    workspace            TEXT NOT NULL,
    task_id              TEXT NOT NULL,
    task_name            TEXT NOT NULL,
    task_type            TEXT NOT NULL,
    scheduled_type       TEXT NOT NULL,
    enabled              BIGINT NOT NULL,
    next_execution_time  TEXT NOT NULL,
    time_zone            TEXT NOT NULL,
    objects              TEXT NOT NULL,
    problem              TEXT,
    updated_at           TEXT NOT NULL,
    PRIMARY KEY (workspace, task_id)
);
CREATE TRIGGER workspace_tasks_changed AFTER INSERT OR UPDATE OR DELETE ON workspace_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION schedules_changed();
CREATE TABLE workspace_task_polls (
    workspace   TEXT PRIMARY KEY,
    polled_at   TEXT NOT NULL,
    ok_at       TEXT,
    error_msg   TEXT
);
ALTER TABLE deliveries ADD COLUMN workspace_task TEXT;
-- Maintenance-mode switches (see the SQLite migration 0013).
ALTER TABLE deliveries ADD COLUMN maintenance_mode TEXT;
CREATE INDEX deliveries_mode_switches ON deliveries (maintenance_mode, status) WHERE maintenance_mode IS NOT NULL;
ALTER TABLE maintenance_windows ADD COLUMN maintenance_mode BIGINT;
