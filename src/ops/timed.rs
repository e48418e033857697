//! The timing and failure count every client call (store, cache) records, under its own span.

use std::time::Instant;

use prometheus::{HistogramVec, IntCounterVec};

/// A pair of metric families labelled by backend and operation: latency, and failures.
pub(crate) struct Families<'a> {
    pub duration: &'a HistogramVec,
    pub errors: &'a IntCounterVec,
}

/// Runs `fut` in a client span named after `backend` and `op`, records its latency, and counts
/// it (and marks the span) as failed when `fails` says its error is one.
pub(crate) async fn timed<T, E>(
    families: Families<'_>,
    (backend, op): (&'static str, &'static str),
    fut: impl Future<Output = Result<T, E>>,
    fails: impl FnOnce(&E) -> bool,
) -> Result<T, E> {
    let started = Instant::now();
    let span = crate::telemetry::client_span(backend, op);
    let result = tracing::Instrument::instrument(fut, span.clone()).await;
    let labels = [backend, op];
    families
        .duration
        .with_label_values(&labels)
        .observe(started.elapsed().as_secs_f64());
    if let Err(e) = &result
        && fails(e)
    {
        families.errors.with_label_values(&labels).inc();
        crate::telemetry::mark_error(&span);
    }
    result
}
