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
    loop {
        // Each run is a trace of its own (its store and Stripe calls are its children).
        let run = run_once(&state);
        match tracing::Instrument::instrument(run, crate::telemetry::job_span("reconcile_payments"))
            .await
        {
            Ok(0) => {}
            Ok(n) => {
                crate::ops::metrics::get().payments_reconciled.inc_by(n);
                tracing::info!(settled = n, "pending payments reconciled with Stripe")
            }
            Err(e) => tracing::warn!(error = %e, "reconciling payments failed; will retry"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
}
