-- Students (passcodes sealed, unique by their HMAC) and refresh tokens (hashes only).
CREATE TABLE students (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    passcode_sealed TEXT NOT NULL,
    passcode_lookup TEXT NOT NULL UNIQUE,
    date_of_birth   INTEGER,
    profile         TEXT,
    class           TEXT NOT NULL,
    teacher         TEXT NOT NULL REFERENCES teachers (id),
    points          INTEGER NOT NULL DEFAULT 0,
    level           INTEGER NOT NULL DEFAULT 1,
    rewards         INTEGER NOT NULL DEFAULT 0 CHECK (rewards >= 0),
    pending_points  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX students_by_teacher ON students (teacher, class, created_at DESC);
CREATE INDEX students_by_created_at ON students (created_at DESC, id DESC);

CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY NOT NULL,
    family     TEXT NOT NULL,
    account_id TEXT NOT NULL,
    role       TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_account ON refresh_tokens (account_id);
