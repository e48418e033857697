-- Teachers and admins. Ids are ObjectId hex strings; times are UTC milliseconds.
CREATE TABLE teachers (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    contact         TEXT NOT NULL DEFAULT '',
    location        TEXT NOT NULL DEFAULT '',
    profile         TEXT,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
    password_hash   TEXT,
    passcode_sealed TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX teachers_by_created_at ON teachers (created_at DESC, id DESC);

CREATE TABLE admins (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    contact       TEXT NOT NULL DEFAULT '',
    location      TEXT NOT NULL DEFAULT '',
    profile       TEXT,
    role          TEXT NOT NULL CHECK (role IN ('ADMIN', 'SUPER_ADMIN')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 0
) STRICT;
