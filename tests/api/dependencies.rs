//! A dependency that is down never crashes the server: liveness stays green, readiness says which
//! component is down within 3 s, and everything heals by itself when it returns.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::services::{Jongodb, die_with_parent, free_port};
use crate::support::{Db, Kv, start_app_with};

async fn assert_not_ready_naming(app: &crate::support::TestApp, component: &str) {
    let started = Instant::now();
    let (status, body) = app.get_json("/api/v1/health/ready").await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(took < Duration::from_secs(3), "readiness took {took:?}");
    assert_eq!(body["success"], false);
    let state = body["data"]["components"][component]["status"]
        .as_str()
        .unwrap();
    assert!(["down", "timeout"].contains(&state), "{component}: {body}");
    let (status, _) = app.get_json("/api/v1/health").await;
    assert_eq!(status, 200, "liveness stays green");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_mongodb_is_reported_and_readiness_heals_when_it_returns() {
    let port = free_port();
    let app = start_app_with(Db::Mongo, Kv::Memory, |env| {
        env.insert(
            "DATABASE_URL".into(),
            format!("mongodb://127.0.0.1:{port}/educoin"),
        );
    })
    .await;
    assert_not_ready_naming(&app, "database").await;
    assert_not_ready_naming(&app, "database").await;

    let _mongo = tokio::task::spawn_blocking(move || Jongodb::start(port))
        .await
        .unwrap();
    app.wait_ready(Duration::from_secs(40)).await;
    let (_, body) = app.get_json("/api/v1/health/ready").await;
    assert_eq!(body["data"]["components"]["database"]["status"], "up");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_redis_port_is_reported_and_readiness_heals_when_it_opens() {
    let port = free_port();
    let app = start_app_with(Db::Sqlite, Kv::Redis, |env| {
        env.insert("REDIS_URL".into(), format!("redis://127.0.0.1:{port}"));
    })
    .await;
    assert_not_ready_naming(&app, "cache").await;

    let mut cmd = Command::new("redis-server");
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    die_with_parent(&mut cmd);
    let mut redis = cmd.spawn().expect("redis-server is installed");
    app.wait_ready(Duration::from_secs(40)).await;
    app.stop().await;
    let _ = redis.kill();
    let _ = redis.wait();
}
