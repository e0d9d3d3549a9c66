-- +goose Up
-- Server-side web sessions (ARCHITECTURE.md decision 13). The browser's
-- cookie holds only a random token; id is the hex SHA-256 of that token, so
-- reading this table does not give anyone a usable cookie. data is the
-- signed-in principal encrypted and authenticated (AES-GCM) under a key
-- derived from the token and the session key, so the table holds no
-- personal code or name in the clear. Signing out deletes the row; a row
-- past expires_at (absolute) or idle since seen_at is refused and purged.
CREATE TABLE web_sessions (
    id         TEXT PRIMARY KEY,
    data       BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    seen_at    TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions(expires_at);
CREATE INDEX web_sessions_seen ON web_sessions(seen_at);

-- +goose Down
DROP TABLE web_sessions;
