//! Settles payments whose webhook never came (docs/decisions.md, "Payments: reconciliation"):
//! every [`INTERVAL`], payments still `processing` or `requires_*` for longer than
//! `PAYMENT_RECONCILE_AFTER_SECS` (by the injected clock) are re-read from Stripe. Safe to race
//! with webhooks and other replicas: settling is gated on the payment's status.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::payments::ledger::{self, ReconcileError};
use crate::state::AppState;

pub const INTERVAL: Duration = Duration::from_secs(60);

/// Payments re-read per store query; a run goes on until fewer are found.
const BATCH: u64 = 50;

/// Re-reads every stale pending payment once; returns how many changed state.
pub async fn run_once(state: &AppState) -> Result<u64, ReconcileError> {
    let mut changed = 0;
    // Each re-read stamps the payment, so the next query finds the next ones; bounded anyway.
    for _ in 0..100 {
        let (looked, n) = ledger::reconcile(state, BATCH).await?;
        changed += n;
        if looked < BATCH {
            break;
        }
    }
    Ok(changed)
}

/// Runs [`run_once`] every [`INTERVAL`] until `stop` (nothing to do without Stripe).
pub async fn run(state: AppState, stop: CancellationToken) {
    if state.stripe.is_none() {
        return;
    }
    // Its Stripe calls are children of the run's trace too.
    super::every(
        "reconcile_payments",
        INTERVAL,
        stop,
        || run_once(&state),
        |n| {
            crate::ops::metrics::get().payments_reconciled.inc_by(n);
            tracing::info!(settled = n, "pending payments reconciled with Stripe")
        },
        "reconciling payments failed; will retry",
    )
    .await
}
