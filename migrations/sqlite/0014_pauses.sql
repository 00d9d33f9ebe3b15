-- Pauses of any schedule, maintenance window or task warning rule, from the file or the
-- database (the file stays the definition; the pause is state here, so it survives restarts
-- and reloads), and the freeze of every schedule (schedule_id '*'). until_at NULL: until
-- resumed; include_windows: a freeze that also stops windows' and task warnings. A change is
-- announced like a schedule change.
CREATE TABLE pauses (
    schedule_id      TEXT PRIMARY KEY,
    until_at         TEXT,
    note             TEXT,
    include_windows  INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);
CREATE TRIGGER pauses_changed_insert AFTER INSERT ON pauses
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER pauses_changed_update AFTER UPDATE ON pauses
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER pauses_changed_delete AFTER DELETE ON pauses
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
-- `maintenance uncancel` deletes cancellations: announced like their insertion.
CREATE TRIGGER cancellations_changed_delete AFTER DELETE ON window_cancellations
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
