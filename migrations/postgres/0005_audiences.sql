-- See the SQLite migration 0012: selectors on stored schedules and windows, and what each
-- delivery's audience was.
ALTER TABLE schedules ADD COLUMN selectors TEXT;
ALTER TABLE maintenance_windows ADD COLUMN selectors TEXT;
ALTER TABLE deliveries ADD COLUMN selector TEXT;
ALTER TABLE deliveries ADD COLUMN audience_matched BIGINT;
ALTER TABLE deliveries ADD COLUMN audience_targeted BIGINT;
