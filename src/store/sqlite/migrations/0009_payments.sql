-- Classroom projects, the payments ledger and processed Stripe events (docs/decisions.md, "Payments").
CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    teacher     TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    class       TEXT NOT NULL,
    goal        INTEGER NOT NULL CHECK (goal > 0),
    picture     TEXT,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL,
    raised      INTEGER NOT NULL DEFAULT 0,
    supporters  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX projects_by_teacher ON projects (teacher, created_at DESC, id DESC);

CREATE TABLE payments (
    id             TEXT PRIMARY KEY NOT NULL,
    intent_id      TEXT NOT NULL UNIQUE,
    project        TEXT NOT NULL REFERENCES projects (id),
    teacher        TEXT NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount > 0),
    fee            INTEGER NOT NULL CHECK (fee >= 0),
    net            INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    status         TEXT NOT NULL,
    supporter_name TEXT,
    message        TEXT,
    refunded       INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX payments_by_project ON payments (project, created_at DESC, id DESC);
CREATE INDEX payments_by_created ON payments (created_at DESC, id DESC);
CREATE INDEX payments_by_status ON payments (status, updated_at);

CREATE TABLE payment_refunds (
    id         TEXT PRIMARY KEY NOT NULL,
    payment    TEXT NOT NULL REFERENCES payments (id),
    amount     INTEGER NOT NULL CHECK (amount > 0),
    net        INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX payment_refunds_by_created ON payment_refunds (created_at);

CREATE TABLE stripe_events (
    id           TEXT PRIMARY KEY NOT NULL,
    type         TEXT NOT NULL,
    processed_at INTEGER NOT NULL
) STRICT;
