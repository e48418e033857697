//! Notifications on MongoDB (`recipientModel` kept for the old server's documents and clients).

use mongodb::Database;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc};

use super::collections::NOTIFICATIONS;
use super::{Documents, date, document, ensure_indexes, index, newest_first_index, owned};
use crate::domain::Id;
use crate::domain::notification::Notification;
use crate::store::rows::shared_rows;
use crate::store::{ListQuery, Notifications, OwnerWrite, Page, StoreResult};

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    ensure_indexes(
        db,
        NOTIFICATIONS,
        [
            newest_first_index(doc! { "recipient": 1 }, "by_recipient"),
            index(doc! { "recipient": 1, "read": 1 }, "unread"),
        ],
    )
    .await
}

document! {
    pub(super) struct NotificationDoc for Notification {
        id as "_id": ObjectId,
        recipient: ObjectId,
        role: String,
        kind as "type": String,
        message: String,
        #[serde(default)]
        read: bool,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
    stored only {
        recipient_model as "recipientModel": String = |n| n.recipient_model().to_owned(),
    }
}

pub(super) struct MongoNotifications {
    docs: Documents<NotificationDoc, Notification>,
}

impl MongoNotifications {
    pub(super) fn new(db: &Database) -> Self {
        MongoNotifications {
            docs: Documents::new(db, NOTIFICATIONS),
        }
    }
}

#[async_trait::async_trait]
impl Notifications for MongoNotifications {
    shared_rows!(docs docs, Notification, "notifications": insert);

    async fn list_for(&self, recipient: &Id, q: &ListQuery) -> StoreResult<Page<Notification>> {
        let filter = doc! { "recipient": recipient.to_object_id() };
        self.docs.page("notifications.list_for", filter, q).await
    }

    async fn count_unread(&self, recipient: &Id) -> StoreResult<u64> {
        let filter = doc! { "recipient": recipient.to_object_id(), "read": false };
        self.docs.count("notifications.count_unread", filter).await
    }

    async fn mark_read(&self, write: OwnerWrite<'_>) -> StoreResult<Option<Notification>> {
        let op = "notifications.mark_read";
        let own = owned("recipient", write);
        let mut unread = own.clone();
        unread.insert("read", false);
        // Marking a read notification again changes nothing (not even updatedAt).
        let set = doc! { "$set": { "read": true, "updatedAt": date(write.now) } };
        match self.docs.update(op, unread, set).await? {
            Some(n) => Ok(Some(n)),
            None => self.docs.one(op, own).await,
        }
    }
}
