-- What admins publish for everyone (preset images, the rules) and what users send back (feedback).
CREATE TABLE presets (
    id         TEXT PRIMARY KEY NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('avatar', 'icon')),
    image      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
) STRICT;
-- The app's picker (one type, oldest first) and the dashboard's list (newest first).
CREATE INDEX presets_by_type ON presets (type, created_at, id);
CREATE INDEX presets_newest ON presets (created_at DESC, id DESC);
-- "Is this upload a preset's?" before a replaced profile picture is deleted.
CREATE INDEX presets_by_image ON presets (image);

-- One document per rule type: the unique key is what makes concurrent upserts create only one.
CREATE TABLE rules (
    id         TEXT PRIMARY KEY NOT NULL,
    type       TEXT NOT NULL UNIQUE CHECK (type IN ('privacy-policy', 'terms-and-conditions')),
    content    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The author is a teacher or a student (as `role` says), so `user_id` has no foreign key; feedback
-- outlives its author.
CREATE TABLE feedbacks (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('TEACHER', 'STUDENT')),
    feedback   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
) STRICT;
