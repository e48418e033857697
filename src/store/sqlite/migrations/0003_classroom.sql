-- A teacher's classroom: classes, task categories, tasks and rewards.
-- Students keep their class by name (students.class); a rename carries to them in one transaction.
CREATE TABLE classes (
    id         TEXT PRIMARY KEY NOT NULL,
    teacher    TEXT NOT NULL REFERENCES teachers (id),
    class_name TEXT NOT NULL,
    start_date INTEGER NOT NULL,
    end_date   INTEGER CHECK (end_date IS NULL OR end_date >= start_date),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (teacher, class_name)
) STRICT;
CREATE INDEX classes_by_teacher ON classes (teacher, created_at DESC, id DESC);

CREATE TABLE categories (
    id         TEXT PRIMARY KEY NOT NULL,
    teacher    TEXT NOT NULL REFERENCES teachers (id),
    name       TEXT NOT NULL,
    image      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX categories_by_teacher ON categories (teacher, created_at DESC, id DESC);

CREATE TABLE tasks (
    id         TEXT PRIMARY KEY NOT NULL,
    teacher    TEXT NOT NULL REFERENCES teachers (id),
    name       TEXT NOT NULL,
    points     INTEGER NOT NULL CHECK (points BETWEEN -500 AND 500),
    category   TEXT NOT NULL REFERENCES categories (id),
    type       TEXT NOT NULL CHECK (type IN ('good', 'bad')),
    repeat     TEXT NOT NULL CHECK (repeat IN ('everyday', 'weekly', 'monthly')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX tasks_by_teacher ON tasks (teacher, created_at DESC, id DESC);
CREATE INDEX tasks_by_category ON tasks (category);

CREATE TABLE rewards (
    id              TEXT PRIMARY KEY NOT NULL,
    teacher         TEXT NOT NULL REFERENCES teachers (id),
    name            TEXT NOT NULL,
    image           TEXT NOT NULL,
    required_points INTEGER NOT NULL CHECK (required_points >= 0),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX rewards_by_teacher ON rewards (teacher, created_at DESC, id DESC);
