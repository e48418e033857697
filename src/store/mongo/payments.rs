//! Projects, payments and processed Stripe events on MongoDB, exactly once without transactions
//! (the jongodb test server and a standalone server have none):
//!
//! - A payment's status moves by one conditional update gated on the status it was read with
//!   (compare-and-set), and never out of `succeeded` or `canceled`; only the call whose update
//!   moved it to `succeeded` notifies.
//! - The project's credit is a second update, gated on `credited.<paymentId>` being absent on the
//!   project, which it sets in the same update: however often it runs (the winner, a duplicate
//!   delivery, the reconciliation job), it applies once. Whoever finds a succeeded payment not
//!   marked `credited` runs it, so a crash between the two updates is repaired by the next look.
//! - A refund is recorded on the payment by compare-and-set on `refunded` (so concurrent refunds
//!   of one payment see each other) under `refunds.<refundId>` with its net share, then taken back
//!   from the project gated on `debited.<refundId>` in the same way.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};

use super::collections::{EVENTS, PAYMENTS, PROJECTS, REFUNDS};
use super::document::{Documents, document, load as convert};
use super::{
    date, ensure_indexes, index, newest_first_index, observe, owned, set_some, unique_index,
};
use crate::domain::payments::{
    Payment, PaymentStatus, Project, ProjectPatch, ProjectStatus, Refund, net_kept,
};
use crate::domain::{Id, Millis};
use crate::store::{
    ListQuery, OwnerWrite, Page, PaymentFilter, PaymentHold, PaymentOutcome, Payments, RefundMade,
    RefundRecorded, Settled, StoreError, StoreResult,
};

/// Compare-and-set rounds lost to concurrent writers of one payment before giving up (503; the
/// sender retries).
const ATTEMPTS: u32 = 16;

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    ensure_indexes(
        db,
        PROJECTS,
        [newest_first_index(doc! { "teacher": 1 }, "by_teacher")],
    )
    .await?;
    ensure_indexes(
        db,
        PAYMENTS,
        [
            unique_index(doc! { "intentId": 1 }, "intent_unique"),
            newest_first_index(doc! { "project": 1 }, "by_project"),
            newest_first_index(doc! {}, "created_at"),
            index(doc! { "status": 1, "updatedAt": 1 }, "by_status"),
        ],
    )
    .await?;
    ensure_indexes(db, REFUNDS, [index(doc! { "createdAt": 1 }, "created_at")]).await
}

/// On projects: set by the first intent that passed its checks; edits are refused from then on.
const PAYMENT_STARTED: &str = "paymentStarted";

// The stored shapes, one field list each (`document!`). The payment's `credited` marker and
// `refunds` map are the payments' own bookkeeping for exactly-once, so they are stored only.
document! {
    struct ProjectDoc for Project {
        id as "_id": ObjectId,
        teacher: ObjectId,
        title: String,
        description: String,
        class: String,
        goal: i64,
        #[serde(default)]
        picture: Option<String>,
        currency: String,
        status: String,
        raised: i64,
        supporters: i64,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

document! {
    struct PaymentDoc for Payment {
        id as "_id": ObjectId,
        intent_id as "intentId": String,
        project: ObjectId,
        teacher: ObjectId,
        amount: i64,
        fee: i64,
        net: i64,
        currency: String,
        status: String,
        #[serde(default)]
        supporter_name as "supporterName": Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        refunded: i64,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
    }
    stored only {
        /// Whether the project's credit of this payment is known to be applied.
        #[serde(default)]
        credited: bool = |_| false,
        /// `{refundId: {amount, net}}`.
        #[serde(default)]
        refunds: Document = |_| Document::new(),
    }
}

document! {
    struct RefundDoc for Refund {
        id as "_id": String,
        payment: ObjectId,
        amount: i64,
        net: i64,
        created_at as "createdAt": DateTime,
    }
}

/// Stripe's ids are `[A-Za-z0-9_]`; anything else must not become a field name.
fn key_safe(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The plain reads and inserts go through `Documents`; every conditional update (the status
/// gates, the `credited`/`debited` markers, the refund compare-and-set) is written out on the
/// driver's collection (`raw()`), since those are what make the ledger exactly-once.
pub(super) struct MongoPayments {
    projects: Documents<ProjectDoc, Project>,
    payments: Documents<PaymentDoc, Payment>,
    refunds: Documents<RefundDoc, Refund>,
    events: Collection<Document>,
}

impl MongoPayments {
    pub(super) fn new(db: &Database) -> Self {
        MongoPayments {
            projects: Documents::new(db, PROJECTS),
            payments: Documents::new(db, PAYMENTS).unique("a payment", "intentId"),
            refunds: Documents::new(db, REFUNDS),
            events: db.collection(EVENTS),
        }
    }

    async fn by_intent(&self, intent_id: &str) -> StoreResult<Option<PaymentDoc>> {
        observe(
            "payments.by_intent",
            self.payments.raw().find_one(doc! { "intentId": intent_id }),
        )
        .await
    }

    /// Adds a succeeded payment's net to its project once (gated on `credited.<id>`), funds the
    /// project at its goal, then marks the payment credited.
    async fn credit(&self, p: &PaymentDoc, now: Millis) -> StoreResult<()> {
        let key = format!("credited.{}", p.id.to_hex());
        // `updateOne` then a read, not `findAndModify`: jongodb's `findAndModify` does not match
        // and write atomically, so two racing credits could both apply there (docs/decisions.md,
        // "A points move applied twice on jongodb"). The read sees this credit or a later state;
        // either funds the project at its goal.
        observe(
            "payments.credit",
            self.projects.raw().update_one(
                doc! { "_id": p.project, &key: { "$exists": false } },
                doc! {
                    "$inc": { "raised": p.net, "supporters": 1_i64 },
                    "$set": { &key: true, "updatedAt": date(now) },
                },
            ),
        )
        .await?;
        let project = observe(
            "payments.credit",
            self.projects.raw().find_one(doc! { "_id": p.project }),
        )
        .await?;
        if let Some(project) = project
            && project.status == ProjectStatus::Open.as_str()
            && project.raised >= project.goal
        {
            observe(
                "payments.fund",
                self.projects.raw().update_one(
                    doc! { "_id": project.id, "status": ProjectStatus::Open.as_str() },
                    doc! { "$set": { "status": ProjectStatus::Funded.as_str(), "updatedAt": date(now) } },
                ),
            )
            .await?;
        }
        observe(
            "payments.credit",
            self.payments
                .raw()
                .update_one(doc! { "_id": p.id }, doc! { "$set": { "credited": true } }),
        )
        .await?;
        Ok(())
    }

    /// Takes refund `rid`'s net back from the project once (gated on `debited.<rid>`), and makes
    /// sure the refund's own record exists (for the monthly totals).
    async fn debit(
        &self,
        p: &PaymentDoc,
        rid: &str,
        amount: i64,
        net: i64,
        at: DateTime,
    ) -> StoreResult<()> {
        let record = RefundDoc {
            id: rid.to_owned(),
            payment: p.id,
            amount,
            net,
            created_at: at,
        };
        match observe("payments.refund", self.refunds.raw().insert_one(record)).await {
            Ok(_) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
        let key = format!("debited.{rid}");
        observe(
            "payments.refund",
            self.projects.raw().update_one(
                doc! { "_id": p.project, &key: { "$exists": false } },
                doc! { "$inc": { "raised": -net }, "$set": { &key: true, "updatedAt": at } },
            ),
        )
        .await?;
        Ok(())
    }
}

fn get_i64(d: &Document, key: &str) -> i64 {
    match d.get(key) {
        Some(Bson::Int64(v)) => *v,
        Some(Bson::Int32(v)) => *v as i64,
        Some(Bson::Double(v)) => *v as i64,
        _ => 0,
    }
}

/// `createdAt` in `[from, to)`: the months of the admins' totals.
fn created_in(from: Millis, to: Millis) -> Document {
    doc! { "$gte": date(from), "$lt": date(to) }
}

fn oldest_first() -> Document {
    doc! { "createdAt": 1 }
}

#[async_trait::async_trait]
impl Payments for MongoPayments {
    async fn insert_project(&self, project: &Project) -> StoreResult<()> {
        self.projects.insert("projects.insert", project).await
    }

    async fn project(&self, id: &Id) -> StoreResult<Option<Project>> {
        self.projects.by_id("projects.by_id", id).await
    }

    async fn projects_of(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Project>> {
        let filter = doc! { "teacher": teacher.to_object_id() };
        self.projects.page("projects.of", filter, q).await
    }

    async fn update_project(
        &self,
        write: OwnerWrite<'_>,
        patch: &ProjectPatch,
    ) -> StoreResult<Option<Project>> {
        let (op, id, now) = ("projects.update", write.id, write.now);
        let own = owned("teacher", write);
        if observe(op, self.projects.raw().find_one(own.clone()))
            .await?
            .is_none()
        {
            return Ok(None);
        }
        // An intent recorded after this count cannot have been checked against the project as it
        // was before this edit: it marked the project first (`hold_for_payment`), which the
        // update's filter refuses, or its mark fails on the version this edit bumps.
        let payments = observe(
            op,
            self.payments
                .raw()
                .count_documents(doc! { "project": id.to_object_id() }),
        )
        .await?;
        let conflict = StoreError::Conflict {
            entity: "a project",
            field: "payments",
        };
        if payments > 0 {
            return Err(conflict);
        }
        let mut set = doc! { "updatedAt": date(now) };
        set_some(&mut set, "title", patch.title.as_deref());
        set_some(&mut set, "description", patch.description.as_deref());
        set_some(&mut set, "class", patch.class.as_deref());
        set_some(&mut set, "goal", patch.goal);
        set_some(&mut set, "picture", patch.picture.as_deref());
        let mut filter = own;
        filter.insert("status", ProjectStatus::Open.as_str());
        filter.insert("supporters", 0_i64);
        filter.insert(PAYMENT_STARTED, doc! { "$ne": true });
        // `updateOne` then a read: jongodb's `findAndModify` is not atomic (see `credit`), and an
        // edit must never pass a hold that landed between its match and its write.
        let edited = observe(
            op,
            self.projects
                .raw()
                .update_one(filter, doc! { "$set": set, "$inc": { "__v": 1_i64 } }),
        )
        .await?;
        if edited.matched_count == 0 {
            return Err(conflict);
        }
        self.projects.by_id(op, id).await
    }

    async fn hold_for_payment(&self, id: &Id, version: i64) -> StoreResult<PaymentHold> {
        let held = observe(
            "projects.hold_for_payment",
            self.projects.raw().update_one(
                doc! { "_id": id.to_object_id(), "__v": version },
                doc! { "$set": { PAYMENT_STARTED: true } },
            ),
        )
        .await?;
        Ok(if held.matched_count == 1 {
            PaymentHold::Held
        } else {
            PaymentHold::Changed
        })
    }

    async fn set_project_status(
        &self,
        id: &Id,
        from: &[ProjectStatus],
        to: ProjectStatus,
        now: Millis,
    ) -> StoreResult<Option<Project>> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let updated = observe(
            "projects.set_status",
            self.projects
                .raw()
                .find_one_and_update(
                    doc! { "_id": id.to_object_id(), "status": { "$in": from } },
                    doc! {
                        "$set": { "status": to.as_str(), "updatedAt": date(now) },
                        "$inc": { "__v": 1_i64 },
                    },
                )
                .return_document(ReturnDocument::After),
        )
        .await?;
        convert(updated)
    }

    async fn insert_payment(&self, payment: &Payment) -> StoreResult<()> {
        self.payments.insert("payments.insert", payment).await
    }

    async fn payment(&self, id: &Id) -> StoreResult<Option<Payment>> {
        self.payments.by_id("payments.by_id", id).await
    }

    async fn payment_by_intent(&self, intent_id: &str) -> StoreResult<Option<Payment>> {
        convert(self.by_intent(intent_id).await?)
    }

    async fn list_payments(&self, f: &PaymentFilter, q: &ListQuery) -> StoreResult<Page<Payment>> {
        let mut filter = Document::new();
        if let Some(p) = &f.project {
            filter.insert("project", p.to_object_id());
        }
        if let Some(t) = &f.teacher {
            filter.insert("teacher", t.to_object_id());
        }
        if let Some(s) = f.status {
            filter.insert("status", s.as_str());
        }
        let mut range = Document::new();
        if let Some(from) = f.from {
            range.insert("$gte", date(from));
        }
        if let Some(to) = f.to {
            range.insert("$lt", date(to));
        }
        if !range.is_empty() {
            filter.insert("createdAt", range);
        }
        self.payments.page("payments.list", filter, q).await
    }

    async fn settle(
        &self,
        intent_id: &str,
        outcome: PaymentOutcome,
        now: Millis,
    ) -> StoreResult<Settled> {
        for _ in 0..ATTEMPTS {
            let Some(before) = self.by_intent(intent_id).await? else {
                return Ok(Settled {
                    payment: None,
                    newly_succeeded: false,
                });
            };
            let status = PaymentStatus::parse(&before.status)
                .ok_or_else(|| StoreError::backend("unexpected payment status"))?;
            if status == outcome.status && !status.is_final() {
                // A fresh look: the reconciliation job waits its delay before the next one.
                observe(
                    "payments.settle",
                    self.payments.raw().update_one(
                        doc! { "_id": before.id, "status": &before.status },
                        doc! { "$set": { "updatedAt": date(now) } },
                    ),
                )
                .await?;
            }
            if status.is_final() || status == outcome.status {
                // A look at a succeeded payment finishes a credit a crash may have left undone.
                if status == PaymentStatus::Succeeded && !before.credited {
                    self.credit(&before, now).await?;
                }
                return Ok(Settled {
                    payment: Some(before.try_into()?),
                    newly_succeeded: false,
                });
            }
            let moved = self.payments.gate(
                "payments.settle",
                before.id,
                doc! { "status": &before.status },
                doc! { "$set": { "status": outcome.status.as_str(), "updatedAt": date(now) } },
            );
            let Some(after) = moved.await? else {
                continue; // another writer moved it first: read again
            };
            let newly_succeeded = outcome.status == PaymentStatus::Succeeded;
            if newly_succeeded {
                self.credit(&after, now).await?;
            }
            return Ok(Settled {
                payment: Some(after.try_into()?),
                newly_succeeded,
            });
        }
        Err(StoreError::unavailable(
            "payment kept changing while being settled",
        ))
    }

    async fn record_refund(&self, refund: &RefundMade, now: Millis) -> StoreResult<RefundRecorded> {
        let (intent_id, refund_id, amount) = (&refund.intent_id, &refund.refund_id, refund.amount);
        if !key_safe(refund_id) {
            return Ok(RefundRecorded::Refused);
        }
        for _ in 0..ATTEMPTS {
            let Some(before) = self.by_intent(intent_id).await? else {
                return Ok(RefundRecorded::NoSuchPayment);
            };
            if let Ok(seen) = before.refunds.get_document(refund_id) {
                let (a, n) = (get_i64(seen, "amount"), get_i64(seen, "net"));
                let at = seen.get_datetime("at").copied().unwrap_or(date(now));
                self.debit(&before, refund_id, a, n, at).await?;
                return Ok(RefundRecorded::AlreadyApplied(before.try_into()?));
            }
            if before.status != PaymentStatus::Succeeded.as_str()
                || amount <= 0
                || before.refunded + amount > before.amount
            {
                return Ok(RefundRecorded::Refused);
            }
            let net = net_kept(before.amount, before.net, before.refunded)
                - net_kept(before.amount, before.net, before.refunded + amount);
            let key = format!("refunds.{refund_id}");
            let moved = self.payments.gate(
                "payments.refund",
                before.id,
                doc! {
                    "status": PaymentStatus::Succeeded.as_str(),
                    "refunded": before.refunded,
                    &key: { "$exists": false },
                },
                doc! {
                    "$inc": { "refunded": amount },
                    "$set": {
                        &key: { "amount": amount, "net": net, "at": date(now) },
                        "updatedAt": date(now),
                    },
                },
            );
            let Some(after) = moved.await? else {
                continue;
            };
            self.debit(&after, refund_id, amount, net, date(now))
                .await?;
            return Ok(RefundRecorded::Applied(after.try_into()?));
        }
        Err(StoreError::unavailable(
            "payment kept changing while being refunded",
        ))
    }

    async fn refunds_between(&self, from: Millis, to: Millis) -> StoreResult<Vec<Refund>> {
        let filter = doc! { "createdAt": created_in(from, to) };
        let op = "payments.refunds_between";
        self.refunds.sorted(op, filter, oldest_first(), None).await
    }

    async fn succeeded_between(&self, from: Millis, to: Millis) -> StoreResult<Vec<Payment>> {
        let succeeded = PaymentStatus::Succeeded.as_str();
        let filter = doc! { "status": succeeded, "createdAt": created_in(from, to) };
        let op = "payments.succeeded_between";
        self.payments.sorted(op, filter, oldest_first(), None).await
    }

    async fn stale_pending(&self, before: Millis, limit: u64) -> StoreResult<Vec<Payment>> {
        let filter = doc! {
            "status": { "$in": PaymentStatus::pending_names() },
            "updatedAt": { "$lt": date(before) },
        };
        let least_recent = doc! { "updatedAt": 1 };
        self.payments
            .sorted("payments.stale_pending", filter, least_recent, Some(limit))
            .await
    }

    async fn mark_event(&self, event_id: &str, kind: &str, now: Millis) -> StoreResult<bool> {
        let event = doc! { "_id": event_id, "type": kind, "processedAt": date(now) };
        match observe("payments.mark_event", self.events.insert_one(event)).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn event_seen(&self, event_id: &str) -> StoreResult<bool> {
        Ok(observe(
            "payments.event_seen",
            self.events.find_one(doc! { "_id": event_id }),
        )
        .await?
        .is_some())
    }
}
