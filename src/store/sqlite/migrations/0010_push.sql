-- Push devices and the push outbox (issue 15; docs/decisions.md, "Push notifications").
-- A token belongs to one account at a time: registering it again moves it.
CREATE TABLE push_devices (
    token         TEXT PRIMARY KEY NOT NULL,
    account       TEXT NOT NULL,
    platform      TEXT NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    registered_at INTEGER NOT NULL
) STRICT;
CREATE INDEX push_devices_by_account ON push_devices (account, registered_at);

-- One row per notification to push, inserted in the notification's own transaction.
CREATE TABLE push_outbox (
    id          TEXT PRIMARY KEY NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    recipient   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0,
    sent_to     TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX push_outbox_pending ON push_outbox (created_at, id) WHERE state = 'pending';
