-- What each instance is: 'daemon' (the service) or 'command' (`send`, a cancel notice), so
-- `status` can say whether the service runs. Rows from before were daemons or short-lived.
ALTER TABLE instances ADD COLUMN kind TEXT NOT NULL DEFAULT 'daemon';
