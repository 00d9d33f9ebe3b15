-- Database schedules and windows may target individual desktops and opt in to automatic
-- re-sends, like file ones: desktops is a JSON array of ids (NULL: none); resend_attempts and
-- resend_after are `resend_failed` (NULL: off).
ALTER TABLE schedules ADD COLUMN desktops TEXT;
ALTER TABLE schedules ADD COLUMN resend_attempts INTEGER;
ALTER TABLE schedules ADD COLUMN resend_after TEXT;
ALTER TABLE maintenance_windows ADD COLUMN desktops TEXT;
ALTER TABLE maintenance_windows ADD COLUMN resend_attempts INTEGER;
ALTER TABLE maintenance_windows ADD COLUMN resend_after TEXT;
