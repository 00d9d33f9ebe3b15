-- The status `coalesced` (see the SQLite migration 0017), and who set a pause.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'missed', 'coalesced', 'dry_run', 'cancelled'));
ALTER TABLE pauses ADD COLUMN actor TEXT;
