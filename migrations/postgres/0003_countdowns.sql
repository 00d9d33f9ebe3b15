-- See the SQLite migration 0010: a countdown rendered when each request is made.
ALTER TABLE deliveries ADD COLUMN countdown_to TEXT COLLATE "C";
ALTER TABLE deliveries ADD COLUMN countdown_text TEXT;
