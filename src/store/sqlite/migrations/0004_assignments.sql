-- What teachers hand to students (tasks to do, rewards to claim) and the notifications they cause.
-- task_assignments.slot keeps one open assignment per task and student; origin keeps one
-- repetition per completed assignment (racing job runners insert it once).
CREATE TABLE task_assignments (
    id          TEXT PRIMARY KEY NOT NULL,
    task        TEXT NOT NULL REFERENCES tasks (id),
    student     TEXT NOT NULL REFERENCES students (id),
    teacher     TEXT NOT NULL REFERENCES teachers (id),
    status      TEXT NOT NULL CHECK (status IN ('notStarted', 'inProgress', 'completed')),
    points      INTEGER NOT NULL DEFAULT 0,
    slot        TEXT NOT NULL UNIQUE,
    origin      TEXT NOT NULL UNIQUE,
    approved_at INTEGER,
    renew_at    INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX task_assignments_by_teacher ON task_assignments (teacher, created_at DESC, id DESC);
CREATE INDEX task_assignments_by_student ON task_assignments (student, created_at DESC, id DESC);
CREATE INDEX task_assignments_due ON task_assignments (renew_at) WHERE renew_at IS NOT NULL;

CREATE TABLE reward_assignments (
    id         TEXT PRIMARY KEY NOT NULL,
    reward     TEXT NOT NULL REFERENCES rewards (id),
    student    TEXT NOT NULL REFERENCES students (id),
    teacher    TEXT NOT NULL REFERENCES teachers (id),
    status     TEXT NOT NULL CHECK (status IN ('unclaimed', 'claimed')),
    paid       INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0),
    claimed_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX reward_assignments_by_teacher ON reward_assignments (teacher, created_at DESC, id DESC);
CREATE INDEX reward_assignments_by_student ON reward_assignments (student, status, created_at DESC, id DESC);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY NOT NULL,
    recipient  TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('TEACHER', 'STUDENT')),
    type       TEXT NOT NULL,
    message    TEXT NOT NULL,
    read       INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX notifications_by_recipient ON notifications (recipient, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (recipient) WHERE read = 0;
