//! MongoDB (jongodb) killed and hung: once the breaker knows, requests answer 503 at once instead
//! of each waiting for the driver's 5 s server selection; it heals by itself.

use std::time::{Duration, Instant};

use super::{percentile, signal};
use crate::support::services::{Jongodb, free_port};
use crate::support::{Db, Kv, TestApp, spawn_app_with};

const ROUTE: &str = "/api/v1/rule/privacy-policy";

/// 20 requests, 4 at a time; their statuses and latencies (sorted).
async fn batch(app: &TestApp, token: &str) -> (Vec<u16>, Vec<Duration>) {
    let mut statuses = Vec::new();
    let mut times = Vec::new();
    for _ in 0..5 {
        let rs = futures_util::future::join_all((0..4).map(|_| async {
            let started = Instant::now();
            let status = app
                .client
                .get(app.url(ROUTE))
                .bearer_auth(token)
                .send()
                .await
                .expect("answered")
                .status()
                .as_u16();
            (status, started.elapsed())
        }))
        .await;
        for (s, t) in rs {
            statuses.push(s);
            times.push(t);
        }
    }
    times.sort();
    (statuses, times)
}

async fn until_breaker_opens(app: &TestApp) -> Duration {
    let started = Instant::now();
    while app.state.store.backend.available() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the breaker did not open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

fn assert_fast_503(what: &str, (statuses, times): &(Vec<u16>, Vec<Duration>)) {
    println!(
        "mongodb {what}: 20 requests: p50 {} ms, p99 {} ms, statuses {:?}",
        percentile(times, 0.5).as_millis(),
        percentile(times, 0.99).as_millis(),
        statuses
    );
    assert!(statuses.iter().all(|&s| s == 503), "{statuses:?}");
    // The driver's server selection waits 5 s (12 s after a hang); an open breaker answers at
    // once. 2 s leaves room for a loaded machine.
    assert!(
        percentile(times, 1.0) < Duration::from_secs(2),
        "a request waited for the database: {times:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_fast_while_mongodb_is_killed_or_hung_and_heal() {
    let port = free_port();
    let mut mongo = tokio::task::spawn_blocking(move || Jongodb::start(port))
        .await
        .unwrap();
    let url = format!(
        "mongodb://127.0.0.1:{port}/t_{}",
        uuid::Uuid::new_v4().simple()
    );
    let app = spawn_app_with(Db::Mongo, Kv::Memory, |env| {
        env.insert("DATABASE_URL".into(), url);
    })
    .await;
    let caller = app.stored_teacher("Faulty Teacher").await;
    let (statuses, times) = batch(&app, &caller.token).await;
    println!(
        "mongodb up: p50 {} ms, p99 {} ms",
        percentile(&times, 0.5).as_millis(),
        percentile(&times, 0.99).as_millis()
    );
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");

    let _ = mongo.child.kill();
    let _ = mongo.child.wait();
    let opened = until_breaker_opens(&app).await;
    println!(
        "mongodb killed: breaker open after {} ms",
        opened.as_millis()
    );
    assert_fast_503("killed", &batch(&app, &caller.token).await);

    drop(mongo);
    let mut mongo = tokio::task::spawn_blocking(move || Jongodb::start(port))
        .await
        .unwrap();
    let started = Instant::now();
    app.wait_ready(Duration::from_secs(30)).await;
    println!(
        "mongodb restarted: ready again after {} ms",
        started.elapsed().as_millis()
    );
    // jongodb keeps nothing across a restart: the account is written again.
    let caller = app.stored_teacher("Faulty Teacher").await;
    let (statuses, _) = batch(&app, &caller.token).await;
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");

    signal(mongo.child.id(), libc::SIGSTOP);
    let opened = until_breaker_opens(&app).await;
    println!("mongodb hung: breaker open after {} ms", opened.as_millis());
    assert_fast_503("hung", &batch(&app, &caller.token).await);
    signal(mongo.child.id(), libc::SIGCONT);
    app.wait_ready(Duration::from_secs(40)).await;
    let (statuses, _) = batch(&app, &caller.token).await;
    assert!(statuses.iter().all(|&s| s == 200), "healed: {statuses:?}");
    let _ = mongo.child.kill();
    app.stop().await;
}
