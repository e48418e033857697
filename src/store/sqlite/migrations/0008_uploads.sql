-- Who uploaded each stored file, so that replacing a profile picture deletes the account's own
-- upload and never another's (docs/decisions.md, "Upload ownership").
CREATE TABLE uploads (
    name       TEXT PRIMARY KEY NOT NULL,
    owner      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
