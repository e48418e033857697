//! Push devices and the push outbox on MongoDB.
//!
//! The outbox row is the `push` field of the notification document itself: the notification and
//! its queued push are one single-document insert, atomic without a transaction (a replica set is
//! not needed, and a crash cannot store one without the other). Old notifications have no `push`
//! field and are never pushed. Leases are conditional single-document updates, so two replicas
//! never hold the same row.

use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{self, Bson, DateTime, Document, doc};
use mongodb::{Collection, Database};

use super::collections::{DEVICES, NOTIFICATIONS};
use super::document::{Documents, document};
use super::notifications::NotificationDoc;
use super::{date, ensure_indexes, index, millis, observe};
use crate::domain::notification::Notification;
use crate::domain::{Id, Millis};
use crate::store::{Device, Lease, OutboxRow, OutboxState, Push, StoreError, StoreResult};

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    let by_account = index(doc! { "account": 1, "registeredAt": 1 }, "by_account");
    ensure_indexes(db, DEVICES, [by_account]).await?;
    // The outbox rides on the notifications: pending ones, oldest first.
    let outbox = index(
        doc! { "push.state": 1, "createdAt": 1, "_id": 1 },
        "push_outbox",
    );
    ensure_indexes(db, NOTIFICATIONS, [outbox]).await
}

document! {
    struct DeviceDoc for Device {
        token as "_id": String,
        account: ObjectId,
        platform: String,
        registered_at as "registeredAt": DateTime,
    }
}

pub(super) struct MongoPush {
    devices: Documents<DeviceDoc, Device>,
    notifications: Collection<Document>,
}

impl MongoPush {
    pub(super) fn new(db: &Database) -> Self {
        MongoPush {
            devices: Documents::new(db, DEVICES),
            notifications: db.collection(NOTIFICATIONS),
        }
    }
}

fn bad(what: &str) -> StoreError {
    StoreError::backend(format!("unexpected push {what}"))
}

fn to_row(mut d: Document) -> StoreResult<OutboxRow> {
    let push = match d.remove("push") {
        Some(Bson::Document(p)) => p,
        _ => return Err(bad("outbox field")),
    };
    let notification: NotificationDoc =
        bson::from_document(d).map_err(|e| StoreError::Backend(Box::new(e)))?;
    let notification = Notification::try_from(notification)?;
    let sent_to = match push.get_array("sentTo") {
        Ok(a) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        Err(_) => Vec::new(),
    };
    Ok(OutboxRow {
        notification,
        state: push
            .get_str("state")
            .ok()
            .and_then(OutboxState::parse)
            .ok_or_else(|| bad("state"))?,
        attempts: push.get_i32("attempts").unwrap_or(0).max(0) as u32,
        due_at: push
            .get_datetime("dueAt")
            .map(|t| millis(*t))
            .unwrap_or(Millis(0)),
        lease_owner: push.get_str("leaseOwner").ok().map(str::to_owned),
        lease_until: push
            .get_datetime("leaseUntil")
            .map(|t| millis(*t))
            .unwrap_or(Millis(0)),
        sent_to,
    })
}

/// The row `id` while `owner` holds its lease.
fn held(lease: &Lease<'_>) -> Document {
    doc! { "_id": lease.id.to_object_id(), "push.state": "pending", "push.leaseOwner": lease.owner }
}

#[async_trait::async_trait]
impl Push for MongoPush {
    async fn register(&self, d: &Device, max_per_account: usize) -> StoreResult<()> {
        let account = d.account.to_object_id();
        // The token is the `_id`: registering it again moves it (a shared tablet changes hands).
        observe(
            "push.register",
            self.devices
                .raw()
                .update_one(
                    doc! { "_id": &d.token },
                    doc! { "$set": {
                        "account": account,
                        "platform": d.platform.as_str(),
                        "registeredAt": date(d.registered_at),
                    } },
                )
                .upsert(true),
        )
        .await?;
        // Keep the newest `max` of the account (the one just registered among them).
        let others: Vec<DeviceDoc> = observe("push.register", async {
            self.devices
                .raw()
                .find(doc! { "account": account, "_id": { "$ne": &d.token } })
                .sort(doc! { "registeredAt": -1, "_id": -1 })
                .skip(max_per_account.saturating_sub(1) as u64)
                .await?
                .try_collect()
                .await
        })
        .await?;
        let extra: Vec<Bson> = others.into_iter().map(|o| Bson::String(o.token)).collect();
        if !extra.is_empty() {
            observe(
                "push.register",
                self.devices
                    .raw()
                    .delete_many(doc! { "_id": { "$in": extra }, "account": account }),
            )
            .await?;
        }
        Ok(())
    }

    async fn unregister(&self, account: &Id, token: &str) -> StoreResult<bool> {
        observe(
            "push.unregister",
            self.devices
                .raw()
                .delete_one(doc! { "_id": token, "account": account.to_object_id() }),
        )
        .await
        .map(|r| r.deleted_count > 0)
    }

    async fn forget_token(&self, token: &str) -> StoreResult<()> {
        observe(
            "push.forget_token",
            self.devices.raw().delete_one(doc! { "_id": token }),
        )
        .await
        .map(drop)
    }

    async fn forget_account(&self, account: &Id) -> StoreResult<u64> {
        observe(
            "push.forget_account",
            self.devices
                .raw()
                .delete_many(doc! { "account": account.to_object_id() }),
        )
        .await
        .map(|r| r.deleted_count)
    }

    async fn devices_of(&self, account: &Id) -> StoreResult<Vec<Device>> {
        let filter = doc! { "account": account.to_object_id() };
        let oldest_first = doc! { "registeredAt": 1, "_id": 1 };
        self.devices
            .sorted("push.devices_of", filter, oldest_first, None)
            .await
    }

    async fn insert_with_outbox(&self, n: &Notification) -> StoreResult<()> {
        let mut d = bson::to_document(&NotificationDoc::from(n))
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        d.insert(
            "push",
            doc! {
                "state": OutboxState::Pending.as_str(),
                "attempts": 0,
                "dueAt": date(n.created_at),
                "leaseOwner": Bson::Null,
                "leaseUntil": DateTime::from_millis(0),
                "sentTo": [],
            },
        );
        observe("push.insert_with_outbox", self.notifications.insert_one(d))
            .await
            .map(drop)
    }

    async fn pending(&self, limit: u64) -> StoreResult<Vec<OutboxRow>> {
        let docs: Vec<Document> = observe("push.pending", async {
            self.notifications
                .find(doc! { "push.state": OutboxState::Pending.as_str() })
                .sort(doc! { "createdAt": 1, "_id": 1 })
                .limit(limit as i64)
                .await?
                .try_collect()
                .await
        })
        .await?;
        docs.into_iter().map(to_row).collect()
    }

    async fn claim(&self, lease: &Lease<'_>, now: Millis, until: Millis) -> StoreResult<bool> {
        observe(
            "push.claim",
            self.notifications.update_one(
                doc! {
                    "_id": lease.id.to_object_id(),
                    "push.state": OutboxState::Pending.as_str(),
                    "push.dueAt": { "$lte": date(now) },
                    "push.leaseUntil": { "$lte": date(now) },
                },
                doc! { "$set": { "push.leaseOwner": lease.owner, "push.leaseUntil": date(until) } },
            ),
        )
        .await
        .map(|r| r.modified_count == 1)
    }

    async fn record_sent(&self, lease: &Lease<'_>, sent_to: &[String]) -> StoreResult<bool> {
        observe(
            "push.record_sent",
            self.notifications
                .update_one(held(lease), doc! { "$set": { "push.sentTo": sent_to } }),
        )
        .await
        .map(|r| r.matched_count == 1)
    }

    async fn finish(&self, lease: &Lease<'_>, state: OutboxState) -> StoreResult<bool> {
        observe(
            "push.finish",
            self.notifications.update_one(
                held(lease),
                doc! { "$set": {
                    "push.state": state.as_str(),
                    "push.leaseOwner": Bson::Null,
                    "push.leaseUntil": DateTime::from_millis(0),
                } },
            ),
        )
        .await
        .map(|r| r.modified_count == 1)
    }

    async fn retry_at(&self, lease: &Lease<'_>, attempts: u32, due: Millis) -> StoreResult<bool> {
        observe(
            "push.retry_at",
            self.notifications.update_one(
                held(lease),
                doc! { "$set": {
                    "push.attempts": attempts as i32,
                    "push.dueAt": date(due),
                    "push.leaseOwner": Bson::Null,
                    "push.leaseUntil": DateTime::from_millis(0),
                } },
            ),
        )
        .await
        .map(|r| r.modified_count == 1)
    }

    async fn release_all(&self, owner: &str) -> StoreResult<u64> {
        observe(
            "push.release_all",
            self.notifications.update_many(
                doc! { "push.state": OutboxState::Pending.as_str(), "push.leaseOwner": owner },
                doc! { "$set": {
                    "push.leaseOwner": Bson::Null,
                    "push.leaseUntil": DateTime::from_millis(0),
                } },
            ),
        )
        .await
        .map(|r| r.modified_count)
    }

    async fn depth(&self) -> StoreResult<(u64, Option<Millis>)> {
        let pending = doc! { "push.state": OutboxState::Pending.as_str() };
        let count = observe(
            "push.depth",
            self.notifications.count_documents(pending.clone()),
        )
        .await?;
        let oldest = observe(
            "push.depth",
            self.notifications
                .find_one(pending)
                .sort(doc! { "createdAt": 1, "_id": 1 }),
        )
        .await?;
        Ok((
            count,
            oldest.and_then(|d| d.get_datetime("createdAt").ok().map(|t| millis(*t))),
        ))
    }

    async fn outbox_row(&self, id: &Id) -> StoreResult<Option<OutboxRow>> {
        let found = observe(
            "push.outbox_row",
            self.notifications
                .find_one(doc! { "_id": id.to_object_id(), "push": { "$exists": true } }),
        )
        .await?;
        found.map(to_row).transpose()
    }
}
