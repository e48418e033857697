//! A circuit breaker per dependency: once the dependency is known to be down, callers fail (or fall
//! back) at once instead of each waiting for a driver timeout. It is opened by a failed call or a
//! failed probe, and closed only by a successful probe (the readiness probe, or the breaker's own
//! prober, which runs while it is open), so no request ever pays for finding out.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::ops::metrics;

/// How often an open breaker probes its dependency.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How often a watching breaker probes its dependency while closed.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// When the prober runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probing {
    /// Only while open: the callers report failures themselves.
    WhileOpen,
    /// Always (every `WATCH_EVERY` while closed): nothing else reports failures.
    Always,
}

pub type Probe = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

pub struct Breaker {
    name: &'static str,
    open: AtomicBool,
    /// Woken when the breaker closes (the dependency answers again).
    closed: Notify,
    /// Woken when the breaker opens (the prober starts).
    opened: Arc<Notify>,
}

impl Breaker {
    /// A closed breaker, and its prober: while open, `probe` runs every `PROBE_EVERY` (it must
    /// bound its own time) until it succeeds. The prober ends when the breaker is dropped.
    pub fn new(name: &'static str, probing: Probing, probe: Probe) -> Arc<Self> {
        let breaker = Arc::new(Breaker {
            name,
            open: AtomicBool::new(false),
            closed: Notify::new(),
            opened: Arc::new(Notify::new()),
        });
        metrics::get()
            .breaker_open
            .with_label_values(&[name])
            .set(0);
        let weak = Arc::downgrade(&breaker);
        let opened = breaker.opened.clone();
        tokio::spawn(async move {
            loop {
                let wait = opened.notified();
                tokio::pin!(wait);
                wait.as_mut().enable();
                let Some(open) = weak.upgrade().map(|b| b.is_open()) else {
                    return;
                };
                if !open {
                    if probing == Probing::Always {
                        let _ = tokio::time::timeout(WATCH_EVERY, wait).await;
                    } else {
                        // Re-checked now and then so that a dropped breaker ends this task.
                        let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
                        continue;
                    }
                } else {
                    tokio::time::sleep(PROBE_EVERY).await;
                }
                let up = probe().await;
                let Some(b) = weak.upgrade() else { return };
                b.report(up);
            }
        });
        breaker
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Records what a call or a probe found out.
    pub fn report(&self, up: bool) {
        let was_open = self.open.swap(!up, Ordering::AcqRel);
        if was_open != up {
            return;
        }
        metrics::get()
            .breaker_open
            .with_label_values(&[self.name])
            .set(i64::from(!up));
        if up {
            tracing::info!(
                dependency = self.name,
                "dependency answers again; circuit closed"
            );
            self.closed.notify_waiters();
        } else {
            tracing::warn!(
                dependency = self.name,
                "dependency down; circuit open: calls fail fast until a probe succeeds"
            );
            self.opened.notify_waiters();
        }
    }

    /// Resolves when the breaker closes next.
    pub async fn closed(&self) {
        self.closed.notified().await;
    }
}
