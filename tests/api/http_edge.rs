//! The HTTP edge every route shares: envelope, errors, probes, docs, metrics, headers.

use crate::support::{Db, Kv, spawn_app};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_and_readiness_answer_on_the_embedded_default() {
    let app = spawn_app(Db::Sqlite, Kv::Memory).await;
    let (status, body) = app.get_json("/api/v1/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["status"], "ok");

    let (status, body) = app.get_json("/api/v1/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "ready");
    assert_eq!(body["data"]["components"]["database"]["backend"], "sqlite");
    assert_eq!(body["data"]["components"]["database"]["status"], "up");
    assert_eq!(body["data"]["components"]["cache"]["backend"], "memory");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_green_on_mongodb_and_redis() {
    let app = spawn_app(Db::Mongo, Kv::Redis).await;
    let (status, body) = app.get_json("/api/v1/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["components"]["database"]["backend"], "mongodb");
    assert_eq!(body["data"]["components"]["cache"]["backend"], "redis");
    assert_eq!(app.state.store.backend.name(), "mongodb");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_get_the_error_envelope() {
    let app = spawn_app(Db::Sqlite, Kv::Memory).await;
    for path in ["/api/v1/no-such-route", "/nothing-here", "/api/v2/health"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["success"], false);
        assert_eq!(body["message"], "API Not Found");
        assert_eq!(body["errorMessages"][0]["path"], path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_a_500_envelope_without_details() {
    let app = spawn_app(Db::Sqlite, Kv::Memory).await;
    let resp = app.get("/test/panic", None).await;
    assert_eq!(resp.status, 500);
    let text = resp.text;
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["success"], false);
    assert!(!text.contains("deliberate"), "panic message leaked: {text}");
    assert!(!text.contains(".rs"), "source location leaked: {text}");
    // The server is still serving.
    assert_eq!(app.get("/health", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_with_413() {
    let app = crate::support::spawn_app_with(Db::Sqlite, Kv::Memory, |env| {
        env.insert("MAX_BODY_BYTES".into(), "1024".into());
    })
    .await;
    let resp = app
        .client
        .post(app.url("/api/v1/health"))
        .header("content-type", "application/json")
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert!(body["message"].as_str().unwrap().contains("too large"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_and_matches_the_checked_in_one() {
    let app = spawn_app(Db::Sqlite, Kv::Memory).await;
    let (status, spec) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["paths"]["/health/ready"]["get"].is_object());
    assert_eq!(spec["servers"][0]["url"], "/api/v1");

    let checked_in: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/public/openapi.json"))
            .expect("public/openapi.json exists"),
    )
    .unwrap();
    assert_eq!(
        checked_in, spec,
        "public/openapi.json is stale: run `cargo run -- openapi > public/openapi.json`"
    );

    let docs = app.request(Method::GET, "/api/docs/").await;
    assert_eq!(docs.status, 200);
    let html = docs.text;
    assert!(html.contains("swagger"), "Swagger UI page expected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = spawn_app(Db::Sqlite, Kv::Memory).await;
    let resp = app
        .client
        .get(app.url("/api/v1/health"))
        .header("x-request-id", "lb-1234")
        .send()
        .await
        .unwrap();
    let h = resp.headers();
    assert_eq!(h["x-request-id"], "lb-1234");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h.contains_key("content-security-policy"));

    // An id that could inject into logs is replaced.
    let resp = app
        .client
        .get(app.url("/api/v1/health"))
        .header("x-request-id", "bad id\twith tab")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "bad id\twith tab");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_on_their_own_listener_with_route_templates() {
    let app = spawn_app(Db::Sqlite, Kv::Memory).await;
    app.get("/health", None).await;
    app.get("/definitely/not/a/route", None).await;
    let metrics_addr = app.metrics_addr.expect("metrics listener");
    let text = app
        .client
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"educoin_http_requests_total{method="GET",route="/api/v1/health",status="200"}"#
        ),
        "{text}"
    );
    assert!(text.contains("educoin_http_request_duration_seconds_bucket"));
    assert!(text.contains("educoin_http_requests_in_flight"));
    assert!(text.contains("educoin_build_info"));
    assert!(text.contains("educoin_store_operation_duration_seconds"));
    assert!(
        !text.contains("/definitely/not/a/route"),
        "raw paths must not become labels"
    );
    // The API port does not expose them.
    assert_eq!(app.request(Method::GET, "/metrics").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_any_origin_in_development_and_only_configured_ones_otherwise() {
    let app = spawn_app(Db::Sqlite, Kv::Memory).await;
    let resp = app
        .client
        .get(app.url("/api/v1/health"))
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("access-control-allow-origin"));

    let app = crate::support::spawn_app_with(Db::Sqlite, Kv::Memory, |env| {
        env.insert(
            "FRONTEND_URL".into(),
            "https://dashboard.example.com".into(),
        );
    })
    .await;
    let allowed = app
        .client
        .get(app.url("/api/v1/health"))
        .header("origin", "https://dashboard.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://dashboard.example.com"
    );
    let refused = app
        .client
        .get(app.url("/api/v1/health"))
        .header("origin", "https://evil.example.net")
        .send()
        .await
        .unwrap();
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

/// The settings production requires, with generated secrets; no test hooks.
pub fn production(env: &mut std::collections::BTreeMap<String, String>) {
    env.insert("NODE_ENV".into(), "production".into());
    env.remove("EDUCOIN_TEST_HOOKS");
    for name in ["JWT_SECRET", "JWT_REFRESH_SECRET", "PASSCODE_KEY"] {
        let key: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        env.insert(name.into(), key);
    }
    env.insert("EMAIL_HOST".into(), "127.0.0.1".into());
    env.insert("EMAIL_FROM".into(), "noreply@school.test".into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_in_production_without_frontend_url_allows_no_origin() {
    let app = crate::support::spawn_app_with(Db::Sqlite, Kv::Memory, production).await;
    for origin in ["https://evil.example.net", "http://localhost:3000"] {
        let simple = app
            .client
            .get(app.url("/api/v1/health"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert!(
            !simple.headers().contains_key("access-control-allow-origin"),
            "{origin} allowed: {:?}",
            simple.headers()
        );
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert!(
            !preflight
                .headers()
                .contains_key("access-control-allow-origin"),
            "{origin} preflight allowed: {:?}",
            preflight.headers()
        );
    }
    // Requests without an Origin (the mobile app) are served as before.
    assert_eq!(app.get("/health", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_general_rate_limit_answers_429_with_retry_after() {
    for kv in [Kv::Memory, Kv::Redis] {
        let app = crate::support::spawn_app_with(Db::Sqlite, kv, |env| {
            env.insert("RATE_LIMIT_MAX_REQUESTS".into(), "3".into());
            env.insert("RATE_LIMIT_WINDOW_MS".into(), "60000".into());
        })
        .await;
        for _ in 0..3 {
            assert_eq!(app.get("/openapi.json", None).await.status, 200);
        }
        let resp = app.get("/openapi.json", None).await;
        assert_eq!(resp.status, 429, "{kv:?}");
        let retry_after: u64 = resp.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after));
        assert_eq!(resp.body["success"], false);
        // Probes are never throttled.
        assert_eq!(app.get("/health", None).await.status, 200);
        app.stop().await;
    }
}
