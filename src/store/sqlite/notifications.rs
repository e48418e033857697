//! Notifications on SQLite.

use rusqlite::{Row, params};

use super::accounts::{corrupt, count, id_column};
use super::{Db, find_by, page};
use crate::domain::notification::{Notification, NotificationKind};
use crate::domain::{Id, Millis, Role};
use crate::store::{ListQuery, Notifications, Page, StoreResult};

const COLUMNS: &str = "id, recipient, role, type, message, read, created_at, updated_at, version";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Notification> {
    let role: String = row.get(2)?;
    let kind: String = row.get(3)?;
    Ok(Notification {
        id: id_column(row, 0)?,
        recipient: id_column(row, 1)?,
        role: Role::parse(&role).ok_or_else(|| corrupt(2, "role"))?,
        kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt(3, "notification type"))?,
        message: row.get(4)?,
        read: row.get(5)?,
        created_at: Millis(row.get(6)?),
        updated_at: Millis(row.get(7)?),
        version: row.get(8)?,
    })
}

pub(super) struct SqliteNotifications {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Notifications for SqliteNotifications {
    async fn insert(&self, n: &Notification) -> StoreResult<()> {
        let n = n.clone();
        self.db
            .call("notifications.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO notifications ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                    ),
                    params![
                        n.id.as_str(),
                        n.recipient.as_str(),
                        n.role.as_str(),
                        n.kind.as_str(),
                        n.message,
                        n.read,
                        n.created_at.0,
                        n.updated_at.0,
                        n.version
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn list_for(&self, recipient: &Id, q: &ListQuery) -> StoreResult<Page<Notification>> {
        let (recipient, q) = (recipient.clone(), q.clone());
        self.db
            .call("notifications.list_for", move |c| {
                page(
                    c,
                    "notifications",
                    COLUMNS,
                    "recipient = ?1",
                    &[&recipient.as_str()],
                    &q,
                    from_row,
                )
            })
            .await
    }

    async fn count_unread(&self, recipient: &Id) -> StoreResult<u64> {
        let recipient = recipient.clone();
        self.db
            .call("notifications.count_unread", move |c| {
                count(
                    c,
                    "SELECT COUNT(*) FROM notifications WHERE recipient = ?1 AND read = 0",
                    [recipient.as_str()],
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
            .call("notifications.mark_read", move |c| {
                // Marking a read notification again changes nothing (not even updatedAt).
                c.execute(
                    "UPDATE notifications SET read = 1, updated_at = ?3 \
                     WHERE id = ?1 AND recipient = ?2 AND read = 0",
                    params![id.as_str(), recipient.as_str(), now.0],
                )?;
                Ok(
                    find_by(c, "notifications", COLUMNS, "id", id.as_str(), from_row)?
                        .filter(|n| n.recipient == recipient),
                )
            })
            .await
    }
}
