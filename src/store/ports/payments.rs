//! Classroom projects, their payments ledger and the processed Stripe events.

use crate::domain::{Id, Millis};
use crate::store::StoreResult;

use super::{ListQuery, OwnerWrite, Page};

/// How a webhook or a re-read from Stripe moves a payment (docs/decisions.md, "Payments").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentOutcome {
    pub status: crate::domain::payments::PaymentStatus,
}

/// What [`Payments::settle`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    /// The payment after the call; `None` when no payment has this intent id.
    pub payment: Option<crate::domain::payments::Payment>,
    /// `true` only for the one call that moved the payment to `succeeded` (it notifies).
    pub newly_succeeded: bool,
}

/// A refund Stripe made: `amount` (gross) back from the payment of `intent_id`, under Stripe's
/// `refund_id`, which makes recording it idempotent.
#[derive(Clone, Debug, PartialEq)]
pub struct RefundMade {
    pub intent_id: String,
    pub refund_id: String,
    pub amount: i64,
}

/// What [`Payments::record_refund`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum RefundRecorded {
    /// Applied now (or finished now after an interrupted first attempt).
    Applied(crate::domain::payments::Payment),
    /// This refund id was already applied; nothing changed.
    AlreadyApplied(crate::domain::payments::Payment),
    /// More than what is left of the payment, or the payment did not succeed.
    Refused,
    NoSuchPayment,
}

/// What [`Payments::hold_for_payment`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentHold {
    /// The project is still at the version read: it is marked, and edits are refused from now on.
    Held,
    /// It changed since it was read (edited, closed, funded) or is gone; nothing was written.
    Changed,
}

/// Filters of the admin's payment list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaymentFilter {
    pub project: Option<Id>,
    pub teacher: Option<Id>,
    pub status: Option<crate::domain::payments::PaymentStatus>,
    /// `createdAt` in `[from, to)`.
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

/// Classroom projects, their payments ledger and the processed Stripe events. Exactly once and
/// order-independent: SQLite applies each change in one transaction; MongoDB gates each on the
/// payment's status and records applied credits and refunds by key on the project (see
/// `store/mongo/payments.rs`).
#[async_trait::async_trait]
pub trait Payments: Send + Sync {
    async fn insert_project(&self, project: &crate::domain::payments::Project) -> StoreResult<()>;
    async fn project(&self, id: &Id) -> StoreResult<Option<crate::domain::payments::Project>>;
    /// A teacher's projects, newest first.
    async fn projects_of(
        &self,
        teacher: &Id,
        q: &ListQuery,
    ) -> StoreResult<Page<crate::domain::payments::Project>>;
    /// Applies `patch` to the teacher's open project while it has no payment at all (not even an
    /// unfinished intent, nor one being prepared: [`Payments::hold_for_payment`]). `Ok(None)`: no such project of this teacher; `Err(Conflict)` (entity
    /// "a project", field "payments"): it has payments or is not open.
    async fn update_project(
        &self,
        write: OwnerWrite<'_>,
        patch: &crate::domain::payments::ProjectPatch,
    ) -> StoreResult<Option<crate::domain::payments::Project>>;
    /// Marks the project as taking a payment if it is still at `version` (the one an intent's
    /// amount was checked against), so that no edit lands between that check and the payment's
    /// insert. Does not change the version: racing intents on one project all pass.
    async fn hold_for_payment(&self, id: &Id, version: i64) -> StoreResult<PaymentHold>;
    /// Moves the project from one of `from` to `to`; `None` when it is not in one of `from` (or
    /// does not exist).
    async fn set_project_status(
        &self,
        id: &Id,
        from: &[crate::domain::payments::ProjectStatus],
        to: crate::domain::payments::ProjectStatus,
        now: Millis,
    ) -> StoreResult<Option<crate::domain::payments::Project>>;
    /// Records a new intent; `Conflict` when its intent id is recorded already.
    async fn insert_payment(&self, payment: &crate::domain::payments::Payment) -> StoreResult<()>;
    async fn payment(&self, id: &Id) -> StoreResult<Option<crate::domain::payments::Payment>>;
    async fn payment_by_intent(
        &self,
        intent_id: &str,
    ) -> StoreResult<Option<crate::domain::payments::Payment>>;
    /// Newest first.
    async fn list_payments(
        &self,
        filter: &PaymentFilter,
        q: &ListQuery,
    ) -> StoreResult<Page<crate::domain::payments::Payment>>;
    /// Moves the payment of `intent_id` to `outcome` unless it is final; on the move to
    /// `succeeded`, adds its net to the project's `raised` and one supporter, and funds the project
    /// when the goal is reached, exactly once however often or concurrently it is called.
    async fn settle(
        &self,
        intent_id: &str,
        outcome: PaymentOutcome,
        now: Millis,
    ) -> StoreResult<Settled>;
    /// Records the refund on its succeeded payment and takes its net share back from `raised`,
    /// exactly once per refund id.
    async fn record_refund(&self, refund: &RefundMade, now: Millis) -> StoreResult<RefundRecorded>;
    /// Refunds with `createdAt` in `[from, to)`.
    async fn refunds_between(
        &self,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<crate::domain::payments::Refund>>;
    /// Succeeded (possibly refunded) payments created in `[from, to)`.
    async fn succeeded_between(
        &self,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<crate::domain::payments::Payment>>;
    /// Payments still pending (processing, requires_*) last updated before `before`, oldest first.
    async fn stale_pending(
        &self,
        before: Millis,
        limit: u64,
    ) -> StoreResult<Vec<crate::domain::payments::Payment>>;
    /// Records a processed Stripe event id; `false` when it was recorded already.
    async fn mark_event(&self, event_id: &str, kind: &str, now: Millis) -> StoreResult<bool>;
    async fn event_seen(&self, event_id: &str) -> StoreResult<bool>;
}
