-- `maintenance postpone`: an occurrence of a window (file or database) moved to a later start.
-- occurrence_start is the start the window's own times give; new_start where it now is.
-- Postponing a moved occurrence again changes its row. Announced like a schedule change.
CREATE TABLE window_moves (
    window_id         TEXT NOT NULL,
    occurrence_start  TEXT NOT NULL,
    new_start         TEXT NOT NULL,
    notice            TEXT,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (window_id, occurrence_start)
);
CREATE TRIGGER window_moves_changed_insert AFTER INSERT ON window_moves
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER window_moves_changed_update AFTER UPDATE ON window_moves
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
CREATE TRIGGER window_moves_changed_delete AFTER DELETE ON window_moves
BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'; END;
