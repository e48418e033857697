//! Notifications on MongoDB (`recipientModel` kept for the old server's documents and clients).

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::accounts::convert;
use super::{date, index, millis, observe};
use crate::domain::notification::{Notification, NotificationKind};
use crate::domain::{Id, Millis, Role};
use crate::store::{ListQuery, Notifications, Page, StoreError, StoreResult};

pub(super) const NOTIFICATIONS: &str = "notifications";

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    observe(
        "migrate",
        db.collection::<Document>(NOTIFICATIONS).create_indexes([
            index(
                doc! { "recipient": 1, "createdAt": -1, "_id": -1 },
                "by_recipient",
                false,
            ),
            index(doc! { "recipient": 1, "read": 1 }, "unread", false),
        ]),
    )
    .await
    .map(drop)
}

#[derive(Serialize, Deserialize)]
pub(super) struct NotificationDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    recipient: ObjectId,
    #[serde(rename = "recipientModel")]
    recipient_model: String,
    role: String,
    #[serde(rename = "type")]
    kind: String,
    message: String,
    #[serde(default)]
    read: bool,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&Notification> for NotificationDoc {
    fn from(n: &Notification) -> Self {
        NotificationDoc {
            id: n.id.to_object_id(),
            recipient: n.recipient.to_object_id(),
            recipient_model: n.recipient_model().to_owned(),
            role: n.role.as_str().to_owned(),
            kind: n.kind.as_str().to_owned(),
            message: n.message.clone(),
            read: n.read,
            created_at: date(n.created_at),
            updated_at: date(n.updated_at),
            version: n.version,
        }
    }
}

impl TryFrom<NotificationDoc> for Notification {
    type Error = StoreError;
    fn try_from(d: NotificationDoc) -> StoreResult<Notification> {
        let bad = |what: &str| StoreError::backend(format!("unexpected notification {what}"));
        Ok(Notification {
            id: Id::from_object_id(d.id),
            recipient: Id::from_object_id(d.recipient),
            role: Role::parse(&d.role).ok_or_else(|| bad("role"))?,
            kind: NotificationKind::parse(&d.kind).ok_or_else(|| bad("type"))?,
            message: d.message,
            read: d.read,
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoNotifications {
    coll: Collection<NotificationDoc>,
}

impl MongoNotifications {
    pub(super) fn new(db: &Database) -> Self {
        MongoNotifications {
            coll: db.collection(NOTIFICATIONS),
        }
    }
}

#[async_trait::async_trait]
impl Notifications for MongoNotifications {
    async fn insert(&self, n: &Notification) -> StoreResult<()> {
        observe(
            "notifications.insert",
            self.coll.insert_one(NotificationDoc::from(n)),
        )
        .await
        .map(drop)
    }

    async fn list_for(&self, recipient: &Id, q: &ListQuery) -> StoreResult<Page<Notification>> {
        super::page(
            &self.coll,
            "notifications.list_for",
            doc! { "recipient": recipient.to_object_id() },
            q,
        )
        .await
    }

    async fn count_unread(&self, recipient: &Id) -> StoreResult<u64> {
        observe(
            "notifications.count_unread",
            self.coll
                .count_documents(doc! { "recipient": recipient.to_object_id(), "read": false }),
        )
        .await
    }

    async fn mark_read(
        &self,
        recipient: &Id,
        id: &Id,
        now: Millis,
    ) -> StoreResult<Option<Notification>> {
        let op = "notifications.mark_read";
        let own = doc! { "_id": id.to_object_id(), "recipient": recipient.to_object_id() };
        let mut unread = own.clone();
        unread.insert("read", false);
        // Marking a read notification again changes nothing (not even updatedAt).
        let updated = observe(
            op,
            self.coll
                .find_one_and_update(
                    unread,
                    doc! { "$set": { "read": true, "updatedAt": date(now) } },
                )
                .return_document(ReturnDocument::After),
        )
        .await?;
        match updated {
            Some(d) => Ok(Some(d.try_into()?)),
            None => convert(observe(op, self.coll.find_one(own)).await?),
        }
    }
}
