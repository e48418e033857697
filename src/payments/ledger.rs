//! Applying what Stripe says to the ledger: a verified webhook event, or a PaymentIntent re-read
//! by the reconciliation job. Exactly once per event id (a processed id is stored after its
//! effects, and a seen id is answered without doing anything again); every effect is itself
//! idempotent and gated on the payment's status in the store, so concurrent or reordered
//! deliveries end in the same state.

use super::events::{Action, Event};
use super::stripe::StripeError;
use crate::domain::notification::NotificationKind;
use crate::domain::payments::{Payment, PaymentStatus};
use crate::notifications;
use crate::state::AppState;
use crate::store::{PaymentOutcome, RefundMade, RefundRecorded, StoreError};

/// Applies one verified event; `Ok(false)` when its id was processed already.
pub async fn apply(state: &AppState, event: &Event) -> Result<bool, StoreError> {
    let payments = &state.store.payments;
    if payments.event_seen(&event.id).await? {
        return Ok(false);
    }
    match &event.action {
        Action::Intent { intent_id, status } => {
            settle(state, intent_id, *status).await?;
        }
        Action::Refunds { intent_id, refunds } => {
            for (refund_id, amount) in refunds {
                let refund = RefundMade {
                    intent_id: intent_id.clone(),
                    refund_id: refund_id.clone(),
                    amount: *amount,
                };
                match payments.record_refund(&refund, state.clock.now()).await? {
                    RefundRecorded::Applied(_) | RefundRecorded::AlreadyApplied(_) => {}
                    RefundRecorded::Refused | RefundRecorded::NoSuchPayment => tracing::warn!(
                        event = %event.id,
                        refund = %refund_id,
                        "refund event does not fit the ledger; left for an admin"
                    ),
                }
            }
        }
        Action::Ignore => {}
    }
    payments
        .mark_event(&event.id, &event.kind, state.clock.now())
        .await
}

/// Moves a payment to `status` and, for the one call that made it succeed, tells the teacher.
pub async fn settle(
    state: &AppState,
    intent_id: &str,
    status: PaymentStatus,
) -> Result<Option<Payment>, StoreError> {
    let settled = state
        .store
        .payments
        .settle(intent_id, PaymentOutcome { status }, state.clock.now())
        .await?;
    if settled.newly_succeeded
        && let Some(p) = &settled.payment
    {
        notify_teacher(state, p).await;
    }
    Ok(settled.payment)
}

async fn notify_teacher(state: &AppState, p: &Payment) {
    let project = match state.store.payments.project(&p.project).await {
        Ok(Some(project)) => project.title,
        _ => "your project".to_owned(),
    };
    let who = p.supporter_name.as_deref().unwrap_or("A supporter");
    let message = format!(
        "{who} paid {} toward \"{project}\".",
        money(p.amount, &p.currency)
    );
    notifications::send(
        state,
        &p.teacher,
        NotificationKind::PaymentReceived,
        message,
    )
    .await;
}

/// `1234, "usd"` → `12.34 USD` (two decimals: the currencies payments are configured for).
pub fn money(amount: i64, currency: &str) -> String {
    format!(
        "{}.{:02} {}",
        amount / 100,
        amount % 100,
        currency.to_ascii_uppercase()
    )
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Stripe(#[from] StripeError),
}

/// Re-reads the payments still pending after the configured delay from Stripe and settles them
/// (webhooks can be lost; money must not be). Returns how many it looked at and how many of
/// those changed state.
pub async fn reconcile(state: &AppState, limit: u64) -> Result<(u64, u64), ReconcileError> {
    let Some(stripe) = &state.stripe else {
        return Ok((0, 0));
    };
    let now = state.clock.now();
    let wait = state.config.payments.reconcile_after.as_millis() as i64;
    let before = crate::domain::Millis(now.0 - wait);
    let stale = state.store.payments.stale_pending(before, limit).await?;
    let (looked, mut changed) = (stale.len() as u64, 0);
    for p in stale {
        let intent = stripe.payment_intent(&p.intent_id).await?;
        let status = PaymentStatus::parse(&intent.status).unwrap_or(p.status);
        // The same pending status is recorded as a fresh look: the next one waits another delay.
        settle(state, &p.intent_id, status).await?;
        if status != p.status {
            changed += 1;
        }
    }
    Ok((looked, changed))
}
