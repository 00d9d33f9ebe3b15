-- Workspace's own scheduled tasks, as the daemon last read them (ListScheduledTasks, and
-- ShowScheduledTasks for what each is applied to), for warnings before each run.
-- next_execution_time and time_zone are kept as Workspace wrote them; objects is the JSON list
-- of targets; problem says why the task gets no warnings (a time that cannot be read, targets
-- that cannot be aimed at), NULL when it is fine. A change to a row is a change of the planned
-- warnings, so it is announced like a schedule change.
CREATE TABLE workspace_tasks (
    workspace            TEXT NOT NULL,
    task_id              TEXT NOT NULL,
    task_name            TEXT NOT NULL,
    task_type            TEXT NOT NULL,
    scheduled_type       TEXT NOT NULL,
    enabled              INTEGER NOT NULL,
    next_execution_time  TEXT NOT NULL,
    time_zone            TEXT NOT NULL,
    objects              TEXT NOT NULL,
    problem              TEXT,
    updated_at           TEXT NOT NULL,
    PRIMARY KEY (workspace, task_id)
);
CREATE TRIGGER workspace_tasks_changed_insert AFTER INSERT ON workspace_tasks
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER workspace_tasks_changed_update AFTER UPDATE ON workspace_tasks
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER workspace_tasks_changed_delete AFTER DELETE ON workspace_tasks
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
-- The last read of each workspace's task list: when, and the error when it failed.
CREATE TABLE workspace_task_polls (
    workspace   TEXT PRIMARY KEY,
    polled_at   TEXT NOT NULL,
    ok_at       TEXT,
    error_msg   TEXT
);
-- The Workspace task a warning (or its cancel notice) is about.
ALTER TABLE deliveries ADD COLUMN workspace_task TEXT;
-- Maintenance mode around windows (`maintenance_mode = true`): each switch of a batch of
-- desktops into Workspace's maintenance mode ('on') or out of it ('off') is a delivery whose
-- maintenance_mode says which; a switch-off's parent_id is the switch-on it undoes. NULL for
-- notifications. The partial index finds switch-ons without reading notification rows.
ALTER TABLE deliveries ADD COLUMN maintenance_mode TEXT;
CREATE INDEX deliveries_mode_switches ON deliveries (maintenance_mode, status) WHERE maintenance_mode IS NOT NULL;
ALTER TABLE maintenance_windows ADD COLUMN maintenance_mode INTEGER;
