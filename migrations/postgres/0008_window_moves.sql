-- `maintenance postpone` (see the SQLite migration 0015).
CREATE TABLE window_moves (
    window_id         TEXT NOT NULL,
    occurrence_start  TEXT NOT NULL,
    new_start         TEXT NOT NULL,
    notice            TEXT,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (window_id, occurrence_start)
);
CREATE TRIGGER window_moves_changed AFTER INSERT OR UPDATE OR DELETE ON window_moves
    FOR EACH STATEMENT EXECUTE FUNCTION schedules_changed();
