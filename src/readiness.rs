//! Readiness: can this instance serve real traffic now? The database and the cache must answer
//! within a deadline, and the schema must be in place.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cache::Cache;
use crate::store::Store;

/// How long one probe may take before the component counts as down. Readiness must answer well
/// within a load balancer's or systemd's patience even when a dependency hangs.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentState {
    Up,
    Down,
    Timeout,
    /// Reachable, but start-up migrations have not finished.
    Migrating,
}

impl ComponentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Up => "up",
            ComponentState::Down => "down",
            ComponentState::Timeout => "timeout",
            ComponentState::Migrating => "migrating",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ComponentReport {
    pub name: &'static str,
    pub backend: &'static str,
    pub state: ComponentState,
    pub latency: Duration,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub components: Vec<ComponentReport>,
}

impl Report {
    pub fn is_ready(&self) -> bool {
        self.components
            .iter()
            .all(|c| c.state == ComponentState::Up)
    }
}

pub struct Readiness {
    store: Store,
    cache: Arc<dyn Cache>,
    migrated: AtomicBool,
}

/// Runs a probe on its own task and waits at most `PROBE_TIMEOUT`. On timeout the probe is left to
/// finish by itself rather than cancelled mid-operation (the drivers' own timeouts end it).
async fn probe<E: std::fmt::Display + Send + 'static>(
    name: &'static str,
    fut: impl Future<Output = Result<(), E>> + Send + 'static,
) -> (ComponentState, Duration) {
    let started = Instant::now();
    let state = match tokio::time::timeout(PROBE_TIMEOUT, tokio::spawn(fut)).await {
        Ok(Ok(Ok(()))) => ComponentState::Up,
        Ok(Ok(Err(e))) => {
            tracing::warn!(component = name, error = %e, "readiness probe failed");
            ComponentState::Down
        }
        Ok(Err(_)) => ComponentState::Down,
        Err(_) => {
            tracing::warn!(component = name, "readiness probe timed out");
            ComponentState::Timeout
        }
    };
    (state, started.elapsed())
}

impl Readiness {
    pub fn new(store: Store, cache: Arc<dyn Cache>) -> Self {
        Readiness {
            store,
            cache,
            migrated: AtomicBool::new(false),
        }
    }

    pub fn mark_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }

    /// Whether the migrations ran (jobs that need the schema wait for it).
    pub fn is_migrated(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    pub async fn check(&self) -> Report {
        let backend = self.store.backend.clone();
        let cache = self.cache.clone();
        let ((mut db_state, db_latency), (mut cache_state, cache_latency)) = tokio::join!(
            probe("database", async move { backend.ping().await }),
            probe("cache", async move { cache.ping().await }),
        );
        if db_state == ComponentState::Up && !self.migrated.load(Ordering::Acquire) {
            db_state = ComponentState::Migrating;
        }
        // Redis answers but our pub/sub subscription is not back yet: realtime events from other
        // replicas would be lost, so this instance is not ready.
        if cache_state == ComponentState::Up && !self.cache.subscribed() {
            cache_state = ComponentState::Down;
        }
        Report {
            components: vec![
                ComponentReport {
                    name: "database",
                    backend: self.store.backend.name(),
                    state: db_state,
                    latency: db_latency,
                },
                ComponentReport {
                    name: "cache",
                    backend: self.cache.name(),
                    state: cache_state,
                    latency: cache_latency,
                },
            ],
        }
    }
}
