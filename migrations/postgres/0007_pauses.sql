-- Pauses and the freeze (see the SQLite migration 0014).
CREATE TABLE pauses (
    schedule_id      TEXT PRIMARY KEY,
    until_at         TEXT,
    note             TEXT,
    include_windows  BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);
CREATE TRIGGER pauses_changed AFTER INSERT OR UPDATE OR DELETE ON pauses
    FOR EACH STATEMENT EXECUTE FUNCTION schedules_changed();
-- `maintenance uncancel` deletes cancellations: announced like their insertion.
CREATE TRIGGER cancellations_deleted AFTER DELETE ON window_cancellations
    FOR EACH STATEMENT EXECUTE FUNCTION schedules_changed();
