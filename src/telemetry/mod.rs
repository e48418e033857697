//! Traces and error reports: OpenTelemetry spans exported over OTLP/HTTP (`export.rs`), W3C trace
//! context in and out (`propagation.rs`), Sentry for panics and 5xx answers (`sentry.rs`), and the
//! log lines that carry each span's `trace_id`/`span_id` (`logs.rs`, `ids.rs`).
//!
//! Spans: the request span is made by `http::middleware::Observe`; every store and cache call
//! gets a client span from `store::observe`/`cache::observe` through [`client_span`]; outbound
//! HTTP calls inject the context with [`propagation::inject`]; background jobs start a new trace
//! with [`job_span`]. A new integration (payments, push) wraps each call the same way:
//!
//! ```ignore
//! crate::telemetry::client_span("stripe", "payment_intents.create").in_scope(...)
//! // or, for a future:
//! fut.instrument(crate::telemetry::client_span("fcm", "send")).await
//! ```
//!
//! With no collector configured these helpers return `Span::none()` (one relaxed atomic load), so
//! a request pays nothing for tracing beyond the request span the logs already had.

pub mod access;
pub mod batch;
pub mod context;
pub mod export;
pub mod ids;
pub mod line;
pub mod logs;
pub mod propagation;
pub mod sentry;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TraceContextExt;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::Config;

/// The subscriber every layer sits on: the registry and the level filter.
pub type Base =
    tracing_subscriber::layer::Layered<tracing_subscriber::EnvFilter, tracing_subscriber::Registry>;
/// A layer added by the trace exporter or Sentry, before the log output.
pub type Extra = Box<dyn tracing_subscriber::Layer<Base> + Send + Sync>;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (a collector is configured and the layer installed).
#[inline]
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// A span around one call to a dependency (`system`: sqlite, mongodb, redis, memory, smtp,
/// google, stripe, fcm...; `operation`: what is called). A child of the current span.
#[inline]
pub fn client_span(system: &'static str, operation: &'static str) -> Span {
    if !exporting() {
        return Span::none();
    }
    tracing::info_span!(
        "client",
        otel.name = operation,
        otel.kind = "client",
        peer.service = system,
        otel.status_code = tracing::field::Empty,
    )
}

/// A span for one run of a background job: the root of a trace of its own.
#[inline]
pub fn job_span(job: &'static str) -> Span {
    if !exporting() {
        return Span::none();
    }
    tracing::info_span!(parent: None, "job", otel.name = job, otel.kind = "internal", job = job)
}

/// Marks the current span failed (the exporter then shows it as an error).
pub fn mark_error(span: &Span) {
    if exporting() {
        span.record("otel.status_code", "ERROR");
    }
}

/// Records the caller's role on the request span (never the token or the account).
pub fn record_role(role: &'static str) {
    if exporting() {
        Span::current().record("user.role", role);
    }
}

/// What `init` started; dropped (or `shutdown`) at exit, it sends what is still queued.
pub struct Telemetry {
    traces: Option<export::Pipeline>,
    sentry: Option<::sentry::ClientInitGuard>,
}

impl Telemetry {
    /// Sends the spans and reports still queued, each within `within`.
    pub fn shutdown(&mut self, within: std::time::Duration) {
        if let Some(p) = self.traces.take() {
            p.shutdown(within);
        }
        if let Some(guard) = self.sentry.take() {
            guard.flush(Some(within));
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shutdown(std::time::Duration::from_secs(2));
    }
}

/// Installs logging, and trace export and Sentry when configured (each warns at start when not).
pub fn init(config: &Config) -> Telemetry {
    export::register_metrics();
    let obs = &config.observability;
    let mut extra: Vec<Extra> = Vec::new();
    let traces = obs.tracing.traces_url.as_ref().map(|url| {
        let (pipeline, layer) = export::start(&obs.tracing, url);
        extra.push(layer);
        pipeline
    });
    let sentry = obs
        .sentry_dsn
        .as_ref()
        .and_then(|dsn| sentry::start(dsn, config.environment, &obs.tracing.service_name));
    if sentry.is_some() {
        extra.push(sentry::layer());
    }
    logs::install(
        config.environment,
        &config.log_level,
        &obs.log_format,
        extra,
    );
    tracing::dispatcher::get_default(|d| {
        let _ = export::LOGGER.set(d.clone());
    });
    if traces.is_some() {
        EXPORTING.store(true, Ordering::Relaxed);
        propagation::install();
        let t = &obs.tracing;
        if let Some(jaeger) = &t.mapped_from_jaeger {
            tracing::info!(
                jaeger_endpoint = %jaeger,
                otlp_traces_url = t.traces_url.as_deref().unwrap_or_default(),
                "JAEGER_ENDPOINT mapped to OTLP/HTTP (Jaeger ingests OTLP on port 4318; Thrift is not spoken)"
            );
        }
        tracing::info!(
            traces_url = t.traces_url.as_deref().unwrap_or_default(),
            service = %t.service_name,
            parent_based = t.parent_based,
            ratio = t.ratio,
            "exporting traces over OTLP/HTTP"
        );
    } else {
        tracing::warn!(
            integration = "tracing export",
            settings = "OTEL_EXPORTER_OTLP_ENDPOINT (or JAEGER_ENDPOINT)",
            "optional integration disabled: no spans are exported (logs still carry request ids)"
        );
    }
    if sentry.is_none() {
        tracing::warn!(
            integration = "error reporting",
            settings = "SENTRY_DSN",
            "optional integration disabled: panics and 5xx answers are only logged"
        );
    }
    Telemetry { traces, sentry }
}

/// The span of one HTTP request: the logs' `request_id`, `method` and `path` (never the query,
/// which may carry tokens), and for the trace the route, status and caller's role once known. Its
/// parent is the caller's `traceparent`, when it sent one and traces are exported. When only the
/// log output would read the span, its fields without the span (`context`).
pub fn request_span(
    headers: &poem::http::HeaderMap,
    id: String,
    method: &str,
    path: &str,
) -> context::Scope {
    if context::light() {
        return context::Scope::Light(context::RequestFields {
            request_id: id,
            method: method.to_owned(),
            path: path.to_owned(),
        });
    }
    let make = || new_request_span(&id, method, path);
    if !exporting() {
        return context::Scope::Span(make());
    }
    // tracing-opentelemetry parents a span without a tracing parent under the current
    // OpenTelemetry context: the caller's, attached just for the creation.
    let _caller = propagation::extract(headers).attach();
    context::Scope::Span(make())
}

/// The request span itself.
pub(crate) fn new_request_span(id: &str, method: &str, path: &str) -> Span {
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        path = %path,
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        user.role = tracing::field::Empty,
    )
}

/// Records the outcome on the request span (when exported) and reports a 5xx to Sentry.
pub fn finish_request(
    span: &Span,
    served: &sentry::Served<'_>,
    panic: Option<sentry::PanicReport>,
) {
    if exporting() {
        // The span has started by now: its name changes on the OpenTelemetry span itself.
        let name = format!("{} {}", served.method, served.route);
        span.context().span().update_name(name);
        span.record("http.route", served.route);
        span.record("http.response.status_code", served.status);
        if served.status >= 500 {
            span.record("otel.status_code", "ERROR");
        }
    }
    sentry::report(served, panic);
}
