//! Notifications on SQLite.

use rusqlite::params;

use super::accounts::count;
use super::table::boxed;
use super::{Cached, Db, table};
use crate::domain::Id;
use crate::domain::notification::Notification;
use crate::store::rows::shared_rows;
use crate::store::{ListQuery, Notifications, OwnerWrite, Page, StoreResult};

table!(pub(super) NOTIFICATIONS: Notification = "notifications" (
    "id, recipient, role, type, message, read, created_at, updated_at, version",
    id, recipient, role, kind, message, read, created_at, updated_at, version
));

pub(super) struct SqliteNotifications {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Notifications for SqliteNotifications {
    shared_rows!(table NOTIFICATIONS, Notification, "notifications": insert);

    async fn list_for(&self, recipient: &Id, q: &ListQuery) -> StoreResult<Page<Notification>> {
        let (op, args) = ("notifications.list_for", vec![boxed(recipient.clone())]);
        NOTIFICATIONS
            .scan_page(&self.db, op, "recipient = ?1", args, q)
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

    async fn mark_read(&self, write: OwnerWrite<'_>) -> StoreResult<Option<Notification>> {
        let (recipient, id, now) = (write.owner.clone(), write.id.clone(), write.now);
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
