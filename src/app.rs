//! The composition root: assembles the HTTP application (routes, static files, Socket.IO,
//! middleware) over the shared state, and wires the parts that must not know each other
//! (realtime's `Authenticator` is `auth::principal`'s check, in `realtime_auth`). No logic lives here.

use std::sync::Arc;

use poem::endpoint::BoxEndpoint;
use poem::error::NotFoundError;
use poem::http::Method;
use poem::middleware::Cors;
use poem::{EndpointExt, IntoResponse, Route};

use crate::config::Config;
use crate::http::middleware;
/// Also here, the path tests and tools have used for it.
pub use crate::state::AppState;
use crate::{api, ops::metrics};

fn cors(config: &Config) -> Cors {
    let cors = Cors::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(["authorization", "content-type", "x-request-id"])
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(600);
    // Production answers only the configured dashboards; development answers any origin so that
    // a local dashboard or Expo web build works without setup.
    if !config.frontend_origins.is_empty() {
        cors.allow_origins(config.frontend_origins.iter().map(String::as_str))
    } else if config.environment.is_production() {
        // poem's Cors allows every origin when its list is empty, so "none configured" must be
        // said with a predicate; the mobile app sends no CORS requests and keeps working.
        cors.allow_origins_fn(|_| false)
    } else {
        cors
    }
}

/// Where the API is mounted.
const API_PREFIX: &str = api::BASE;

/// The API application on the public port.
pub fn build(state: AppState) -> BoxEndpoint<'static> {
    let service = api::service();
    let mut routes = Route::new()
        .at(
            format!("{API_PREFIX}/openapi.json"),
            service.spec_endpoint(),
        )
        .nest("/api/docs", service.swagger_ui());
    // Every operation at its full path, in this one tree (src/http/operations.rs); a path under
    // the prefix that no operation has is the prefix's 404, labelled with it for the metrics.
    routes = crate::http::operations::mount(routes, API_PREFIX, api::apis());
    routes = routes.nest(
        API_PREFIX,
        poem::endpoint::make_sync(|_| Err::<(), _>(NotFoundError)),
    );
    if state.config.test_hooks {
        routes = routes.nest(format!("{API_PREFIX}/test"), api::test_hooks::routes());
    }
    // Uploaded images and the default avatar, served from the root (CLIENT-CONTRACT §1, §6).
    routes = routes.at("/images/:file", poem::get(crate::http::images::serve));
    // The public payment page (docs/decisions.md, "Payments").
    routes = routes.at("/fund/:id", poem::get(api::fund_page::serve));
    // Socket.IO (CLIENT-CONTRACT §5): outside the OpenAPI service, so out of its document.
    routes = routes.at(
        crate::realtime::PATH,
        crate::realtime_auth::endpoint(&state),
    );

    let config = state.config.clone();
    let guard = middleware::GuardConfig {
        state: state.clone(),
        body_limit: config.max_body_bytes,
        backend: state.store.backend.clone(),
        cache: state.cache.clone(),
        local: Arc::new(crate::cache::memory::MemoryCache::new(state.clock.clone())),
        limits: config.rate_limit.clone(),
        trusted: config.trusted_proxies.clone().into(),
    };
    // Our own layers are two endpoints (src/http/middleware.rs), around poem's CORS; `Guard`
    // attaches the state and catches panics (poem's `AddData` and `CatchPanic` were two more layers).
    let guarded = middleware::Guard::new(routes, guard).with(cors(&config));
    middleware::Observe::new(guarded).boxed()
}

/// The metrics application on its own port: Prometheus text at `/metrics`.
pub fn build_metrics() -> BoxEndpoint<'static> {
    Route::new()
        .at(
            "/metrics",
            poem::get(poem::endpoint::make_sync(|_| {
                metrics::render()
                    .with_content_type("text/plain; version=0.0.4; charset=utf-8")
                    .into_response()
            })),
        )
        .boxed()
}
