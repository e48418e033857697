//! Prometheus metrics, served as text on their own listener (default `0.0.0.0:9464`) so the API port
//! never exposes them.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    pub registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub http_in_flight: IntGauge,
    pub store_duration: HistogramVec,
    pub store_errors: IntCounterVec,
    pub cache_duration: HistogramVec,
    pub cache_errors: IntCounterVec,
    pub login_failures: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub sockets_connected: IntGauge,
    pub breaker_open: IntGaugeVec,
    /// Push through FCM (`jobs::push_worker`): messages by outcome, and the outbox.
    pub push_messages: IntCounterVec,
    pub push_dead_lettered: IntCounter,
    pub push_outbox_depth: IntGauge,
    pub push_outbox_age: IntGauge,
    /// Stripe webhook deliveries by [`WEBHOOK_OUTCOMES`] (`api::payments_webhook`).
    pub payments_webhooks: IntCounterVec,
    /// Payments the reconcile job settled from Stripe because their webhook never came.
    pub payments_reconciled: IntCounter,
}

/// The closed set of `payments_webhooks_total{outcome}` values (docs/decisions.md): `processed`
/// (applied now), `duplicate` (event id seen before), `bad_signature` (refused, 400),
/// `invalid` (signed but not an event, 400), `unconfigured` (no Stripe, 503), `failed` (the
/// store failed while applying it: Stripe retries).
pub const WEBHOOK_OUTCOMES: &[&str] = &[
    "processed",
    "duplicate",
    "bad_signature",
    "invalid",
    "unconfigured",
    "failed",
];

/// The `push_messages_total{result}` values (`jobs::push_worker`).
pub const PUSH_RESULTS: &[&str] = &["sent", "failed", "retried"];

/// Latency buckets from 1 ms to 10 s: API calls are expected in the low milliseconds, logins
/// (argon2) around 50–100 ms.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Registers `c` and hands it back, so each metric is declared in one expression.
fn registered<C>(registry: &Registry, c: C) -> Result<C, prometheus::Error>
where
    C: prometheus::core::Collector + Clone + 'static,
{
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("educoin".into()), None)?;
    let counter = |name: &str, help: &str, labels: &[&str]| {
        registered(
            &registry,
            IntCounterVec::new(Opts::new(name, help), labels)?,
        )
    };
    let histogram = |name: &str, help: &str, labels: &[&str]| {
        let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
        registered(&registry, HistogramVec::new(opts, labels)?)
    };
    let gauge = |name: &str, help: &str| registered(&registry, IntGauge::new(name, help)?);
    let total = |name: &str, help: &str| registered(&registry, IntCounter::new(name, help)?);

    let build_info = IntGaugeVec::new(
        Opts::new(
            "build_info",
            "Version of the running server (value is always 1)",
        ),
        &["version"],
    )?;
    build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
    registry.register(Box::new(build_info))?;
    #[cfg(target_os = "linux")]
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;

    let metrics = Metrics {
        http_requests: counter(
            "http_requests_total",
            "HTTP requests by method, route template and status",
            &["method", "route", "status"],
        )?,
        http_duration: histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template",
            &["method", "route"],
        )?,
        http_in_flight: gauge("http_requests_in_flight", "HTTP requests being served")?,
        store_duration: histogram(
            "store_operation_duration_seconds",
            "Database operation latency",
            &["backend", "operation"],
        )?,
        store_errors: counter(
            "store_operation_errors_total",
            "Database operations that failed",
            &["backend", "operation"],
        )?,
        cache_duration: histogram(
            "cache_operation_duration_seconds",
            "Cache operation latency",
            &["backend", "operation"],
        )?,
        cache_errors: counter(
            "cache_operation_errors_total",
            "Cache operations that failed",
            &["backend", "operation"],
        )?,
        login_failures: counter(
            "login_failures_total",
            "Failed logins by kind of account",
            &["kind"],
        )?,
        rate_limited: counter(
            "rate_limit_rejections_total",
            "Requests refused by a rate limit",
            &["scope"],
        )?,
        sockets_connected: gauge("realtime_sockets_connected", "Connected Socket.IO clients")?,
        breaker_open: registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "dependency_circuit_open",
                    "1 while calls to the dependency fail fast (src/ops/breaker.rs)",
                ),
                &["dependency"],
            )?,
        )?,
        push_messages: counter(
            "push_messages_total",
            "FCM sends by result: sent, failed (token dropped or refused), retried",
            &["result"],
        )?,
        push_dead_lettered: total(
            "push_dead_lettered_total",
            "Outbox rows given up past PUSH_RETRY_DEADLINE_SECS",
        )?,
        push_outbox_depth: gauge("push_outbox_depth", "Outbox rows waiting to be pushed")?,
        push_outbox_age: gauge(
            "push_outbox_oldest_age_seconds",
            "Age of the oldest outbox row waiting to be pushed (0 when none)",
        )?,
        payments_webhooks: counter(
            "payments_webhooks_total",
            "Stripe webhook deliveries by outcome: processed, duplicate, bad_signature, invalid, unconfigured, failed",
            &["outcome"],
        )?,
        payments_reconciled: total(
            "payments_reconciled_total",
            "Payments settled by the reconcile job (their webhook never came)",
        )?,
        registry,
    };
    // Every label value exists at 0 from start, so alerts and rate() see a series before the
    // first event (and a scrape of an idle instance names every family).
    for outcome in WEBHOOK_OUTCOMES {
        metrics.payments_webhooks.with_label_values(&[outcome]);
    }
    for result in PUSH_RESULTS {
        metrics.push_messages.with_label_values(&[result]);
    }
    Ok(metrics)
}

static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| build().expect("metric names and labels are static and valid"));

pub fn get() -> &'static Metrics {
    &METRICS
}

/// The Prometheus text exposition of every metric.
pub fn render() -> String {
    let mut out = Vec::new();
    // Encoding into a Vec fails only on invalid metric names, which are static here.
    let _ = TextEncoder::new().encode(&METRICS.registry.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}
