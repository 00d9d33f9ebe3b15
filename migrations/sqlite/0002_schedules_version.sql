-- A counter bumped by every change to `schedules`, so a running daemon can notice CLI changes
-- by reading one row when `PRAGMA data_version` moves, instead of re-reading every schedule.
CREATE TABLE change_counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);
INSERT INTO change_counters (name, value) VALUES ('schedules', 0);

CREATE TRIGGER schedules_changed_insert AFTER INSERT ON schedules
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER schedules_changed_update AFTER UPDATE ON schedules
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER schedules_changed_delete AFTER DELETE ON schedules
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
