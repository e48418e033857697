//! The layers every request passes through, outermost first: `Observe` (request id, tracing span,
//! metrics, access log, security headers, the WebSocket `Origin` rule), CORS, then `Guard` (the
//! shared state, panics to a 500, path normalisation, errors to the envelope, rate limit, database
//! gate, body limit), then the routes. The layers of our own are folded into these two endpoints,
//! one `async fn` each, rather than a stack of `around` closures or poem's `AddData` and
//! `CatchPanic`: every layer's future held the next layer's future and a `Request`, so each request
//! moved kilobytes of futures through the stack (16% of `/health`'s CPU in issue 13's profile,
//! then 38% of its instructions in `memcpy`). `Observe` boxes what is below it once, so the
//! wrappers around it (the span, the panic marker, its own state) move a pointer.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;

use ipnet::IpNet;
use poem::PathPattern;
use poem::error::ReadBodyError;
use poem::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};

use super::client_ip::client_ip;
use super::error::{ApiError, into_envelope};
use crate::cache::Cache;
use crate::config::RateLimitConfig;
use crate::ops::metrics;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client-supplied id is kept when it is short and plain (so a proxy's id links the logs);
/// anything else is replaced, so that logs cannot be injected through it. Returned twice: as the
/// text of the logs and as the response header (the client's own header is reused, not copied).
fn request_id(req: &Request) -> (String, HeaderValue) {
    let supplied = req.headers().get(&REQUEST_ID).filter(|v| {
        let v = v.as_bytes();
        !v.is_empty()
            && v.len() <= 64
            && v.iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if let Some(value) = supplied
        && let Ok(text) = value.to_str()
    {
        return (text.to_owned(), value.clone());
    }
    // A v4 UUID from the thread's CSPRNG: `Uuid::new_v4` asks the kernel (a getrandom call) per
    // request, and an id needs to be unique, not a secret.
    let mut buf = uuid::Uuid::encode_buffer();
    let text = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut buf);
    let value = HeaderValue::from_str(text).expect("a UUID is a valid header value");
    (text.to_owned(), value)
}

/// Decrements the in-flight gauge even when the client goes away and the future is dropped.
struct InFlight;

impl InFlight {
    fn start() -> Self {
        metrics::get().http_in_flight.inc();
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::get().http_in_flight.dec();
    }
}

/// The outermost layer: request id, tracing span, in-flight gauge, metrics and access log; the
/// security headers on every response the layers below produced; the WebSocket `Origin` rule.
/// Errors that reach it (CORS refusals) become the envelope, without the security headers.
pub struct Observe<E> {
    inner: E,
}

impl<E> Observe<E> {
    pub fn new(inner: E) -> Self {
        Observe { inner }
    }
}

impl<E: Endpoint> Endpoint for Observe<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let (id, id_header) = request_id(&req);
        let method = req.method().clone();
        // A clone of the URI shares its bytes; kept for the envelope of an error from below.
        let uri = req.uri().clone();
        // The path only: query strings may carry tokens (the Socket.IO handshake does).
        let path = uri.path();
        // The request span (and its trace parent), or only its fields: src/telemetry/context.rs.
        let request_id = crate::telemetry::sentry::enabled().then(|| id.clone());
        let scope = crate::telemetry::request_span(req.headers(), id, method.as_str(), path);
        let _in_flight = InFlight::start();
        let started = Instant::now();
        let is_docs = path.starts_with("/api/docs");
        drop_websocket_origin(&mut req);

        // A panic inside is reported with this request (src/telemetry/sentry.rs). Boxed once:
        // otherwise the future of every layer below is copied at each wrapper and await.
        let called = crate::telemetry::sentry::InRequest(Box::pin(self.inner.call(req)));
        let mut resp = match scope.instrument(called).await {
            Ok(r) => {
                let mut resp = r.into_response();
                security_headers(&mut resp, is_docs);
                resp
            }
            Err(e) => into_envelope(e, path),
        };

        let elapsed = started.elapsed();
        let status = resp.status();
        // Route templates, not raw paths, keep the label set bounded.
        let route = resp.data::<PathPattern>().map_or("unmatched", |p| &*p.0);
        let m = metrics::get();
        m.http_requests
            .with_label_values(&[method.as_str(), route, status.as_str()])
            .inc();
        m.http_duration
            .with_label_values(&[method.as_str(), route])
            .observe(elapsed.as_secs_f64());
        // Tracing and error reporting: nothing to do unless a collector or Sentry is configured.
        if crate::telemetry::exporting() || request_id.is_some() {
            let route = match route {
                "unmatched" if status.is_server_error() => path,
                r => r,
            };
            let served = crate::telemetry::sentry::Served {
                method: method.as_str(),
                route,
                request_id: request_id.as_deref().unwrap_or_default(),
                status: status.as_u16(),
            };
            let panic = resp
                .data::<crate::telemetry::sentry::PanicReport>()
                .cloned();
            crate::telemetry::finish_request(&scope.span(), &served, panic);
        }
        let served = crate::telemetry::access::Served {
            status: status.as_u16(),
            route,
            latency_ms: elapsed.as_secs_f64() * 1000.0,
        };
        crate::telemetry::access::log(&scope, served);
        resp.headers_mut().insert(REQUEST_ID, id_header);
        Ok(resp)
    }
}

/// Browsers do not apply CORS to WebSockets, and React Native sends its own `Origin` on them: a
/// WebSocket upgrade of `/socket.io` is not a CORS request, so its `Origin` is removed before the
/// CORS layer (which would refuse an origin outside `FRONTEND_URL`). The socket authenticates with
/// an explicit token, never a cookie, so a foreign page gains nothing by opening one.
fn drop_websocket_origin(req: &mut Request) {
    if !req.headers().contains_key(header::ORIGIN) {
        return;
    }
    let is_socket_io = req.uri().path().trim_end_matches('/') == crate::realtime::PATH;
    let is_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_socket_io && is_upgrade {
        req.headers_mut().remove(header::ORIGIN);
    }
}

/// Headers for an API that serves JSON and images, never pages; Swagger UI needs its scripts.
/// Constants, so that each response copies a value built at compile time (`from_static` checks its
/// bytes when it runs).
fn security_headers(resp: &mut Response, is_docs: bool) {
    const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
    const DENY: HeaderValue = HeaderValue::from_static("DENY");
    const NO_REFERRER: HeaderValue = HeaderValue::from_static("no-referrer");
    const CSP: HeaderValue = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    h.insert(header::X_FRAME_OPTIONS, DENY);
    h.insert(header::REFERRER_POLICY, NO_REFERRER);
    // A page that sets its own policy (the payment page, `api::fund_page`) keeps it.
    if !is_docs && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, CSP);
    }
}

/// What `Guard` needs: the application's state for the routes, the body limit, the database's
/// state and the rate limiter's.
#[derive(Clone)]
pub struct GuardConfig {
    pub state: crate::state::AppState,
    pub body_limit: usize,
    pub backend: Arc<dyn crate::store::Backend>,
    pub cache: Arc<dyn Cache>,
    /// Counts hits while `cache` is down (see `rate_limit`).
    pub local: Arc<dyn Cache>,
    pub limits: RateLimitConfig,
    pub trusted: Arc<[IpNet]>,
}

/// The layer just outside the routes, in this order: the shared state is attached; a panic below
/// becomes the envelope's 500 (as poem's `CatchPanic` made it); the path is normalised; errors (its
/// own and the routes') become the envelope, so that the layers outside (CORS, metrics) see an
/// ordinary response; the rate limit, the database gate and the body limit refuse what they must.
pub struct Guard<E> {
    inner: E,
    config: GuardConfig,
}

impl<E> Guard<E> {
    pub fn new(inner: E, config: GuardConfig) -> Self {
        Guard { inner, config }
    }
}

impl<E: Endpoint> Endpoint for Guard<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let c = &self.config;
        req.set_data(c.state.clone());
        let guarded = async {
            normalize_path(&mut req);
            // Kept for the error envelope and the `Allow` header, which name the normalised path.
            let uri = req.uri().clone();
            let result = async {
                rate_limit(&req, &*c.cache, &*c.local, &c.limits, &c.trusted).await?;
                database_gate(&req, &*c.backend)?;
                body_limit(&mut req, c.body_limit).await?;
                Ok(self.inner.call(req).await?.into_response())
            }
            .await;
            result.unwrap_or_else(|e| error_envelope(e, uri.path()))
        };
        Ok(AssertUnwindSafe(guarded)
            .catch_unwind()
            .await
            .unwrap_or_else(|_| panicked()))
    }
}

/// The answer to a request whose handling panicked: the envelope's 500, which says nothing of the
/// panic; the panic's error report rides along for `Observe` to finish with the route
/// (src/telemetry/sentry.rs).
fn panicked() -> Response {
    let mut resp =
        poem::error::ResponseError::as_response(&ApiError::Internal("handler panicked".into()));
    if let Some(report) = crate::telemetry::sentry::take_panic() {
        resp.set_data(report);
    }
    resp
}

/// An error from below as the envelope, keeping the route template for the metrics.
fn error_envelope(e: poem::Error, path: &str) -> Response {
    let pattern = e.data::<PathPattern>().cloned();
    let mut resp = into_envelope(e, path);
    if let Some(p) = pattern {
        resp.set_data(p);
    }
    // RFC 9110: a 405 says which methods the route has.
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && let Some(allow) = crate::api::allowed_methods(path)
    {
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    resp
}

/// The old clients call `/teacher/profile/` with a trailing slash and build `//images/...` URLs: one
/// trailing slash is dropped and leading slashes collapse, so that every route has one spelling.
fn normalize_path(req: &mut Request) {
    let path = req.uri().path();
    let trimmed = {
        let p = path.trim_end_matches('/');
        let p = if p.is_empty() { "/" } else { p };
        let leading = p.len() - p.trim_start_matches('/').len();
        if leading > 1 { &p[leading - 1..] } else { p }
    };
    if trimmed != path {
        let query = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("{trimmed}{query}").parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
}

/// Refuses bodies over `limit` bytes with the envelope's 413: at once when `Content-Length` says
/// so; a body without it (chunked) is read here, up to the limit, because a stream that fails
/// inside a handler's extractor would come out as poem-openapi's 400 ("io: ...") instead.
async fn body_limit(req: &mut Request, limit: usize) -> poem::Result<()> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "The request body is too large (at most {} KiB)",
            limit / 1024
        ))
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large().into());
    }
    if declared.is_none() {
        let body = req.take_body();
        // A GET has no body: nothing to read (reading and replacing it cost as much as the
        // rest of this layer).
        if body.is_empty() {
            req.set_body(body);
            return Ok(());
        }
        let body = match body.into_bytes_limit(limit).await {
            Ok(bytes) => bytes,
            Err(ReadBodyError::PayloadTooLarge) => return Err(too_large().into()),
            Err(e) => return Err(e.into()),
        };
        req.set_body(Body::from_bytes(body));
    }
    Ok(())
}

/// The general per-address limit (`RATE_LIMIT_WINDOW_MS` / `RATE_LIMIT_MAX_REQUESTS`), counted in
/// the cache so that every replica shares it. Health and metrics are exempt: probes must not be
/// throttled. When the cache is down (it fails fast then: `src/ops/breaker.rs`) the hit is counted
/// in `local`, this process's memory: an outage of the limiter must not become an outage of the
/// API, nor switch the limit off.
async fn rate_limit(
    req: &Request,
    cache: &dyn Cache,
    local: &dyn Cache,
    limits: &RateLimitConfig,
    trusted: &[IpNet],
) -> poem::Result<()> {
    if req.uri().path().starts_with("/api/v1/health") {
        return Ok(());
    }
    let Some(ip) = client_ip(req, trusted) else {
        return Ok(());
    };
    let key = crate::auth::limits::address_key("rl:ip:", ip);
    let counted = match cache.hit(&key, limits.window).await {
        Ok(w) => Ok(w),
        Err(_) => local.hit(&key, limits.window).await,
    };
    match counted {
        Ok(w) if w.count > limits.max_requests => {
            metrics::get().rate_limited.with_label_values(&["ip"]).inc();
            Err(ApiError::RateLimited {
                retry_after: w.resets_in,
            }
            .into())
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "rate limiter unavailable; request allowed");
            Ok(())
        }
    }
}

/// While the database is known to be down (`Backend::available`), requests that need it are
/// answered 503 at once rather than each waiting for the driver's timeout. Health probes, the API
/// documents and the default avatar do not need it.
fn database_gate(req: &Request, backend: &dyn crate::store::Backend) -> poem::Result<()> {
    let path = req.uri().path();
    let exempt = path.starts_with("/api/v1/health")
        || path.starts_with("/api/docs")
        || path == "/api/v1/openapi.json";
    if !exempt && !backend.available() {
        return Err(
            ApiError::Unavailable(format!("{} is down (circuit open)", backend.name())).into(),
        );
    }
    Ok(())
}
