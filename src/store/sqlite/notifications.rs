//! Notifications on SQLite.

use rusqlite::params;

use super::accounts::{corrupt, count};
use super::{Cached, Db, Table};
use crate::domain::notification::{Notification, NotificationKind};
use crate::domain::{Id, Millis, Role};
use crate::store::{ListQuery, Notifications, Page, StoreResult};

static NOTIFICATIONS: Table<Notification> = Table {
    name: "notifications",
    columns: "id, recipient, role, type, message, read, created_at, updated_at, version",
    from_row: |row| {
        let role: String = row.get(2)?;
        let kind: String = row.get(3)?;
        Ok(Notification {
            id: row.get(0)?,
            recipient: row.get(1)?,
            role: Role::parse(&role).ok_or_else(|| corrupt(2, "role"))?,
            kind: NotificationKind::parse(&kind)
                .ok_or_else(|| corrupt(3, "notification type"))?,
            message: row.get(4)?,
            read: row.get(5)?,
            created_at: row.get(6)?,
            updated_at: row.get(7)?,
            version: row.get(8)?,
        })
    },
    bind: |n| {
        vec![
            &n.id,
            &n.recipient,
            &n.role,
            &n.kind,
            &n.message,
            &n.read,
            &n.created_at,
            &n.updated_at,
            &n.version,
        ]
    },
};

pub(super) struct SqliteNotifications {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Notifications for SqliteNotifications {
    async fn insert(&self, n: &Notification) -> StoreResult<()> {
        NOTIFICATIONS
            .insert(&self.db, "notifications.insert", n)
            .await
    }

    async fn list_for(&self, recipient: &Id, q: &ListQuery) -> StoreResult<Page<Notification>> {
        let (recipient, q) = (recipient.clone(), q.clone());
        self.db
            .scan("notifications.list_for", move |c| {
                NOTIFICATIONS.page(c, "recipient = ?1", &[&recipient], &q)
            })
            .await
    }

    async fn count_unread(&self, recipient: &Id) -> StoreResult<u64> {
        self.db
            .read("notifications.count_unread", |c| {
                count(
                    c,
                    "SELECT COUNT(*) FROM notifications WHERE recipient = ?1 AND read = 0",
                    [recipient],
                )
            })
            .await
    }

    async fn mark_read(
        &self,
        recipient: &Id,
        id: &Id,
        now: Millis,
    ) -> StoreResult<Option<Notification>> {
        let (recipient, id) = (recipient.clone(), id.clone());
        self.db
            .write("notifications.mark_read", move |c| {
                // Marking a read notification again changes nothing (not even updatedAt).
                c.exec(
                    "UPDATE notifications SET read = 1, updated_at = ?3 \
                     WHERE id = ?1 AND recipient = ?2 AND read = 0",
                    params![id, recipient, now],
                )?;
                Ok(NOTIFICATIONS
                    .find(c, "id", &id)?
                    .filter(|n| n.recipient == recipient))
            })
            .await
    }
}
