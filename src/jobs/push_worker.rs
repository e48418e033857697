//! Delivers the push outbox through FCM, in every replica.
//!
//! - **Leases.** A row is sent only by the replica that leased it (a conditional update in the
//!   store), for `PUSH_LEASE_SECS`; a replica that dies holding rows loses them to the others when the
//!   lease ends, and one that stops releases its leases.
//! - **Order.** Rows of one recipient go out oldest first: a round takes each recipient's rows in
//!   order and stops that recipient at the first row it cannot claim (held elsewhere, or waiting
//!   for a retry), so a later notification never overtakes an earlier one.
//! - **Retries.** 429, 5xx and no answer retry with exponential backoff and jitter, never before
//!   FCM's `Retry-After`; past `PUSH_RETRY_DEADLINE_SECS` from the notification the row is
//!   dead-lettered (counted). Devices that took the push are recorded on the row and skipped
//!   by the retry.
//! - **Time.** Due times, leases and deadlines read the injected clock; the polling period and
//!   request timeouts are tokio's (they bound waiting, they are not business time).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::config::PushConfig;
use crate::domain::{Id, Millis};
use crate::ops::metrics;
use crate::push::{Fcm, Outcome, message};
use crate::store::{Lease, OutboxRow, OutboxState, Store, StoreResult};

/// A device is not sent to with less than this left of the lease (a quarter of it at most): a
/// send outliving the lease could meet another replica's send of the same row.
const LEASE_MARGIN: Duration = Duration::from_secs(15);
/// How often the outbox is read.
pub const POLL: Duration = Duration::from_millis(250);
/// Rows read per round.
const BATCH: u64 = 500;
/// Recipients served at once.
const PARALLEL: usize = 8;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

pub struct PushWorker {
    store: Store,
    fcm: Arc<Fcm>,
    clock: SharedClock,
    config: PushConfig,
    /// This replica's name on its leases.
    owner: String,
}

impl PushWorker {
    pub fn new(store: Store, fcm: Arc<Fcm>, clock: SharedClock, config: PushConfig) -> Self {
        PushWorker {
            store,
            fcm,
            clock,
            config,
            owner: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// Runs rounds every [`POLL`] once `ready()` until `stop`; then releases this replica's
    /// leases. A round in progress finishes its current sends first (each bounded by the
    /// request timeout), so the worker stops within the shutdown drain.
    pub async fn run(self, ready: impl Fn() -> bool, stop: CancellationToken) {
        loop {
            if ready() {
                // Each round is a trace of its own (its store and FCM calls are its children).
                let round = async {
                    if let Err(e) = self.round(&stop).await {
                        tracing::warn!(error = %e, "push outbox round failed; will retry");
                    }
                    self.observe_depth().await;
                };
                tracing::Instrument::instrument(round, crate::telemetry::job_span("push_outbox"))
                    .await;
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
        match self.store.push.release_all(&self.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "push outbox leases released"),
            Err(e) => tracing::warn!(error = %e, "could not release push leases; they expire"),
        }
    }

    /// One pass over the pending rows: each recipient's rows in order, recipients in parallel.
    pub async fn round(&self, stop: &CancellationToken) -> StoreResult<()> {
        let rows = self.store.push.pending(BATCH).await?;
        let mut chains: Vec<Vec<OutboxRow>> = Vec::new();
        let mut index: std::collections::HashMap<Id, usize> = Default::default();
        for row in rows {
            let at = *index
                .entry(row.notification.recipient.clone())
                .or_insert_with(|| {
                    chains.push(Vec::new());
                    chains.len() - 1
                });
            chains[at].push(row);
        }
        let results: Vec<StoreResult<()>> = futures_util::stream::iter(chains)
            .map(|chain| self.chain(chain, stop))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn chain(&self, rows: Vec<OutboxRow>, stop: &CancellationToken) -> StoreResult<()> {
        for row in rows {
            if stop.is_cancelled() {
                return Ok(());
            }
            let now = self.clock.now();
            let until = now.plus(self.config.lease);
            let lease = Lease {
                id: &row.notification.id,
                owner: &self.owner,
            };
            if !self.store.push.claim(&lease, now, until).await? {
                // Held by another replica or waiting for its retry: later rows wait behind it.
                return Ok(());
            }
            if !self.deliver(row, until, stop).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Sends one claimed row to every device of its recipient that has not taken it yet.
    /// `true` when the row is finished (sent or dead), so the recipient's next row may go.
    async fn deliver(
        &self,
        row: OutboxRow,
        lease_until: Millis,
        stop: &CancellationToken,
    ) -> StoreResult<bool> {
        let id = row.notification.id.clone();
        let lease = Lease {
            id: &id,
            owner: &self.owner,
        };
        let devices = self
            .store
            .push
            .devices_of(&row.notification.recipient)
            .await?;
        let mut sent_to = row.sent_to.clone();
        let done: HashSet<String> = row.sent_to.iter().cloned().collect();
        let mut retry: Option<Option<Duration>> = None;
        let mut interrupted = false;
        let deadline = row.notification.created_at.plus(self.config.retry_deadline);
        for device in devices.iter().filter(|d| !done.contains(&d.token)) {
            let now = self.clock.now();
            if now.plus(LEASE_MARGIN.min(self.config.lease / 4)) > lease_until {
                // Not enough lease left to send safely: finish the rest on the next claim.
                retry = Some(None);
                break;
            }
            let ttl = Duration::from_millis((deadline.0 - now.0).max(1000) as u64);
            let body = message::body(&row.notification, &device.token, device.platform, ttl, now);
            // Stopping abandons a send in flight (the row is released for the next replica; FCM
            // may have taken it, and the collapse key folds a second copy on the device).
            let outcome = tokio::select! {
                o = self.fcm.send(&body) => o,
                _ = stop.cancelled() => {
                    interrupted = true;
                    break;
                }
            };
            match outcome {
                Outcome::Sent => {
                    metrics::get()
                        .push_messages
                        .with_label_values(&["sent"])
                        .inc();
                    sent_to.push(device.token.clone());
                }
                Outcome::DropToken { why } => {
                    metrics::get()
                        .push_messages
                        .with_label_values(&["failed"])
                        .inc();
                    tracing::info!(reason = %why, "push token no longer valid; device removed");
                    self.store.push.forget_token(&device.token).await?;
                }
                Outcome::Failed { why } => {
                    metrics::get()
                        .push_messages
                        .with_label_values(&["failed"])
                        .inc();
                    tracing::warn!(reason = %why, notification = %id.to_hex(), "push refused for a device");
                    // Never accepted for this device: do not send it again.
                    sent_to.push(device.token.clone());
                }
                Outcome::Retry { after, why } => {
                    metrics::get()
                        .push_messages
                        .with_label_values(&["retried"])
                        .inc();
                    tracing::debug!(reason = %why, "push will be retried");
                    let longest = match retry.flatten() {
                        Some(prev) => after.map(|a| a.max(prev)).or(Some(prev)),
                        None => after,
                    };
                    retry = Some(longest);
                }
            }
        }
        if sent_to.len() != row.sent_to.len()
            && !self.store.push.record_sent(&lease, &sent_to).await?
        {
            return Ok(false);
        }
        if interrupted {
            // Not an attempt: due again at once, for whichever replica runs next.
            self.store
                .push
                .retry_at(&lease, row.attempts, self.clock.now())
                .await?;
            return Ok(false);
        }
        let Some(retry_after) = retry else {
            return self.store.push.finish(&lease, OutboxState::Sent).await;
        };
        let now = self.clock.now();
        let attempts = row.attempts.saturating_add(1);
        let wait =
            backoff(self.config.initial_backoff, attempts).max(retry_after.unwrap_or_default());
        if now.plus(wait) > deadline {
            metrics::get().push_dead_lettered.inc();
            tracing::warn!(notification = %id.to_hex(), attempts, "push dead-lettered past its retry deadline");
            return self.store.push.finish(&lease, OutboxState::Dead).await;
        }
        self.store
            .push
            .retry_at(&lease, attempts, now.plus(wait))
            .await?;
        Ok(false)
    }

    async fn observe_depth(&self) {
        if let Ok((depth, oldest)) = self.store.push.depth().await {
            let m = metrics::get();
            m.push_outbox_depth.set(depth as i64);
            let age = oldest.map_or(0, |t| (self.clock.now().0 - t.0).max(0) / 1000);
            m.push_outbox_age.set(age);
        }
    }
}

/// `initial · 2^(attempts-1)`, capped, with "equal jitter": half fixed, half random, so replicas
/// retrying after one outage spread out.
fn backoff(initial: Duration, attempts: u32) -> Duration {
    let exp = initial
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(20))
        .min(MAX_BACKOFF);
    let half = exp / 2;
    half + Duration::from_millis(rand::rng().random_range(0..=half.as_millis() as u64))
}

trait Plus {
    fn plus(self, d: Duration) -> Millis;
}

impl Plus for Millis {
    fn plus(self, d: Duration) -> Millis {
        Millis(self.0.saturating_add(d.as_millis() as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stays_capped() {
        let base = Duration::from_millis(100);
        for attempts in 1..=6 {
            let full = base * (1 << (attempts - 1));
            let b = backoff(base, attempts);
            assert!(b >= full / 2 && b <= full, "{attempts}: {b:?}");
        }
        assert!(backoff(base, 40) <= MAX_BACKOFF);
    }
}
