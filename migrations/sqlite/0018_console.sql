-- The audit trail and the console's API tokens.
-- audit: one row per change (a schedule added, paused, resumed, removed; a window added,
-- cancelled, postponed, uncancelled, removed; a send, a re-send; a freeze; a token created or
-- revoked), from the command line (actor `unix:USER`) or the API (the token's name). The
-- program only ever inserts; the triggers refuse an update or a delete.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    object   TEXT NOT NULL,
    summary  TEXT NOT NULL,
    note     TEXT
);
CREATE INDEX audit_at ON audit (at);
CREATE TRIGGER audit_kept_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are never changed'); END;
CREATE TRIGGER audit_kept_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are never deleted'); END;
-- API tokens: only a SHA-256 of each token is kept (the token is shown once, at creation).
CREATE TABLE api_tokens (
    name          TEXT PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
