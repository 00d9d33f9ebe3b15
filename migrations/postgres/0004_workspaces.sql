-- See the SQLite migration 0011: each delivery records its workspace (rows from before are
-- `default`), part of the unique key; stored schedules and windows name theirs (NULL: the
-- only one).
ALTER TABLE deliveries ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
DO $$
DECLARE
    old_key text;
BEGIN
    FOR old_key IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'deliveries'::regclass AND contype = 'u'
    LOOP
        EXECUTE format('ALTER TABLE deliveries DROP CONSTRAINT %I', old_key);
    END LOOP;
END $$;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_once
    UNIQUE (schedule_id, workspace, target, due_at);
ALTER TABLE schedules ADD COLUMN workspace TEXT;
ALTER TABLE maintenance_windows ADD COLUMN workspace TEXT;
