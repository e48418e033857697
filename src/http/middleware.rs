//! The layers every request passes through, outermost first: `observe` (request id, tracing span,
//! metrics, access log), `security_headers`, `websocket_origin`, CORS, catch-panic, `errors_to_envelope`, `rate_limit`,
//! `body_limit`, then the routes.

use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;
use poem::PathPattern;
use poem::error::ReadBodyError;
use poem::http::{HeaderName, HeaderValue, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use super::client_ip::client_ip;
use super::error::{ApiError, into_envelope};
use crate::cache::Cache;
use crate::config::RateLimitConfig;
use crate::ops::metrics;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, for handlers that want to mention it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// A client-supplied id is kept when it is short and plain (so a proxy's id links the logs);
/// anything else is replaced, so that logs cannot be injected through it.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
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

pub async fn observe<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let id = request_id(&req);
    req.set_data(RequestId(id.clone()));
    let method = req.method().clone();
    // The path only: query strings may carry tokens (the Socket.IO handshake does).
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let _in_flight = InFlight::start();
    let started = Instant::now();

    let mut resp = match ep.call(req).instrument(span.clone()).await {
        Ok(r) => r.into_response(),
        Err(e) => into_envelope(e, &path),
    };

    let elapsed = started.elapsed();
    let status = resp.status();
    // Route templates, not raw paths, keep the label set bounded.
    let route = resp
        .data::<PathPattern>()
        .map(|p| p.0.to_string())
        .unwrap_or_else(|| "unmatched".to_owned());
    let m = metrics::get();
    m.http_requests
        .with_label_values(&[method.as_str(), &route, status.as_str()])
        .inc();
    m.http_duration
        .with_label_values(&[method.as_str(), &route])
        .observe(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            route = %route,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request served"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(resp)
}

/// The old clients call `/teacher/profile/` with a trailing slash and build `//images/...` URLs: one
/// trailing slash is dropped and leading slashes collapse, so that every route has one spelling.
pub async fn normalize_path<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
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
        if let Ok(uri) = format!("{trimmed}{query}").parse() {
            *req.uri_mut() = uri;
        }
    }
    Ok(ep.call(req).await?.into_response())
}

/// Browsers do not apply CORS to WebSockets, and React Native sends its own `Origin` on them: a
/// WebSocket upgrade of `/socket.io` is not a CORS request, so its `Origin` is removed before the
/// CORS layer (which would refuse an origin outside `FRONTEND_URL`). The socket authenticates with
/// an explicit token, never a cookie, so a foreign page gains nothing by opening one.
pub async fn websocket_origin<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let is_socket_io = req.uri().path().trim_end_matches('/') == crate::realtime::PATH;
    let is_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_socket_io && is_upgrade {
        req.headers_mut().remove(header::ORIGIN);
    }
    Ok(ep.call(req).await?.into_response())
}

/// Headers for an API that serves JSON and images, never pages; Swagger UI needs its scripts.
pub async fn security_headers<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let is_docs = req.uri().path().starts_with("/api/docs");
    let mut resp = ep.call(req).await?.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !is_docs {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    Ok(resp)
}

/// Errors raised by the layers inside this one (and by the routes) become the envelope here, so
/// that the layers outside (CORS, metrics) see an ordinary response.
pub async fn errors_to_envelope<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    match ep.call(req).await {
        Ok(r) => Ok(r.into_response()),
        Err(e) => {
            let pattern = e.data::<PathPattern>().cloned();
            let mut resp = into_envelope(e, &path);
            if let Some(p) = pattern {
                resp.set_data(p);
            }
            // RFC 9110: a 405 says which methods the route has.
            if resp.status() == StatusCode::METHOD_NOT_ALLOWED
                && let Some(allow) = crate::api::allowed_methods(&path)
            {
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Ok(resp)
        }
    }
}

/// Refuses bodies over `limit` bytes with the envelope's 413: at once when `Content-Length` says
/// so; a body without it (chunked) is read here, up to the limit, because a stream that fails
/// inside a handler's extractor would come out as poem-openapi's 400 ("io: ...") instead.
pub async fn body_limit<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    limit: usize,
) -> poem::Result<Response> {
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
        let body = match req.take_body().into_bytes_limit(limit).await {
            Ok(bytes) => bytes,
            Err(ReadBodyError::PayloadTooLarge) => return Err(too_large().into()),
            Err(e) => return Err(e.into()),
        };
        req.set_body(Body::from_bytes(body));
    }
    Ok(ep.call(req).await?.into_response())
}

/// The general per-address limit (`RATE_LIMIT_WINDOW_MS` / `RATE_LIMIT_MAX_REQUESTS`), counted in
/// the cache so that every replica shares it. Health and metrics are exempt: probes must not be
/// throttled. When the cache is down (it fails fast then: `src/ops/breaker.rs`) the hit is counted
/// in `local`, this process's memory: an outage of the limiter must not become an outage of the
/// API, nor switch the limit off.
pub async fn rate_limit<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    cache: Arc<dyn Cache>,
    local: Arc<dyn Cache>,
    limits: RateLimitConfig,
    trusted: Arc<[IpNet]>,
) -> poem::Result<Response> {
    let path = req.uri().path();
    if path.starts_with("/api/v1/health") {
        return Ok(ep.call(req).await?.into_response());
    }
    if let Some(ip) = client_ip(&req, &trusted) {
        let bucket = crate::auth::limits::address_bucket(ip);
        let key = format!("rl:ip:{bucket}");
        let counted = match cache.hit(&key, limits.window).await {
            Ok(w) => Ok(w),
            Err(_) => local.hit(&key, limits.window).await,
        };
        match counted {
            Ok(w) if w.count > limits.max_requests => {
                metrics::get().rate_limited.with_label_values(&["ip"]).inc();
                return Err(ApiError::RateLimited {
                    retry_after: w.resets_in,
                }
                .into());
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rate limiter unavailable; request allowed"),
        }
    }
    Ok(ep.call(req).await?.into_response())
}

/// While the database is known to be down (`Backend::available`), requests that need it are
/// answered 503 at once rather than each waiting for the driver's timeout. Health probes, the API
/// documents and the default avatar do not need it.
pub async fn database_gate<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    backend: Arc<dyn crate::store::Backend>,
) -> poem::Result<Response> {
    let path = req.uri().path();
    let exempt = path.starts_with("/api/v1/health")
        || path.starts_with("/api/docs")
        || path == "/api/v1/openapi.json";
    if !exempt && !backend.available() {
        return Err(
            ApiError::Unavailable(format!("{} is down (circuit open)", backend.name())).into(),
        );
    }
    Ok(ep.call(req).await?.into_response())
}
