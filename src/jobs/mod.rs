//! Work the server does on its own, on a schedule, in every replica (each job is safe to race).

pub mod push_worker;
pub mod reconcile;
pub mod repeat_tasks;
pub mod settle_points;

use std::fmt::Display;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `once` now and then every `interval` until `stop`. Each run is a trace of its own named
/// `name` (its store calls are its children); `report` logs a run that did something, and a failed
/// run is logged as `failed` and left to the next one.
pub(crate) async fn every<E: Display, Run: Future<Output = Result<u64, E>>>(
    name: &'static str,
    interval: Duration,
    stop: CancellationToken,
    once: impl Fn() -> Run,
    report: impl Fn(u64),
    failed: &'static str,
) {
    loop {
        match tracing::Instrument::instrument(once(), crate::telemetry::job_span(name)).await {
            Ok(0) => {}
            Ok(n) => report(n),
            Err(e) => tracing::warn!(error = %e, "{failed}"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Runs `round` until a round finds fewer than `batch` items (so a backlog is worked off in one
/// run), and sums what the rounds did. A round answers how many items it found and how many of
/// them it did.
pub(crate) async fn in_batches<Round, E>(
    batch: u64,
    mut round: impl FnMut() -> Round,
) -> Result<u64, E>
where
    Round: Future<Output = Result<(u64, u64), E>>,
{
    let mut done = 0;
    loop {
        let (found, did) = round().await?;
        done += did;
        if found < batch {
            return Ok(done);
        }
    }
}
