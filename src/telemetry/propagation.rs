//! W3C trace context (`traceparent`, `tracestate`): read from each request, so a trace continues
//! through a proxy or a client that traces; written on our outbound HTTP calls (Google's keys,
//! later Stripe and FCM), so the trace continues into them.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use poem::http::{HeaderMap, HeaderName, HeaderValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The propagator, W3C trace context only (no baggage: it would carry whatever a client put in).
static PROPAGATOR: std::sync::LazyLock<TraceContextPropagator> =
    std::sync::LazyLock::new(TraceContextPropagator::new);

/// Also installed as the global propagator, for libraries that look there.
pub fn install() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The caller's trace context, or an empty one (a malformed `traceparent` is ignored, as the
/// W3C specification says: the request starts a new trace).
pub fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    PROPAGATOR.extract(&Headers(headers))
}

/// Writes the current span's context into outbound request headers (nothing when not exporting).
pub fn inject(headers: &mut HeaderMap) {
    if !super::exporting() {
        return;
    }
    let cx = tracing::Span::current().context();
    PROPAGATOR.inject_context(&cx, &mut HeadersMut(headers));
}

/// Sends a request with the current span's trace context on it (W3C traceparent): call it inside
/// the client span (or instrument the future with it), so that the traceparent names that span.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let (client, request) = request.build_split();
    let mut request = request?;
    inject(request.headers_mut());
    client.execute(request).await
}
