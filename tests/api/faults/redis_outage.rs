//! Redis killed and hung under load: requests keep their speed (the general limiter counts in
//! memory while the breaker is open), and realtime fan-out resubscribes as soon as Redis is back.

use reqwest::Method;
use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{OwnRedis, signal};
use crate::support::{Db, Kv, TestApp, spawn_app_with};

const ROUTE: &str = "/api/v1/rule/privacy-policy"; // 401 without a token: limiter, gate, auth

/// Requests answered per second by 8 workers during `during`; panics on any 5xx or error.
async fn throughput(app: &TestApp, during: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url(ROUTE));
            let (stop, done) = (stop.clone(), done.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let status = client.get(&url).send().await.expect("answered").status();
                    assert_eq!(status, 401, "the outage leaks into the answer");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(during).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn until_ready(app: &TestApp) -> Duration {
    let started = Instant::now();
    app.wait_ready(Duration::from_secs(30)).await;
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_holds_while_redis_is_killed_or_hung() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = spawn_app_with(Db::Sqlite, Kv::Redis, |env| {
        env.insert("REDIS_URL".into(), url);
        env.insert("RATE_LIMIT_MAX_REQUESTS".into(), "100000000".into());
    })
    .await;
    let phase = Duration::from_secs(2);

    let up = throughput(&app, phase).await;
    redis.kill();
    let killed = throughput(&app, phase).await;
    redis.restart();
    let healed = until_ready(&app).await;
    signal(redis.pid(), libc::SIGSTOP);
    let hung = throughput(&app, phase).await;
    signal(redis.pid(), libc::SIGCONT);
    let healed_hung = until_ready(&app).await;

    println!(
        "redis outage: {up:.0} req/s up; killed {killed:.0} req/s ({:.2} of up); hung {hung:.0} \
         req/s ({:.2} of up); ready again {} ms after restart, {} ms after SIGCONT",
        killed / up,
        hung / up,
        healed.as_millis(),
        healed_hung.as_millis()
    );
    // Before the breaker: 45 to 160 times slower. A tenth of the speed is far from that.
    assert!(killed / up > 0.1, "Redis killed slows every request");
    assert!(hung / up > 0.1, "Redis hung slows every request");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_general_limit_is_counted_locally_while_redis_is_down() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = spawn_app_with(Db::Sqlite, Kv::Redis, |env| {
        env.insert("REDIS_URL".into(), url);
        env.insert("RATE_LIMIT_MAX_REQUESTS".into(), "30".into());
    })
    .await;
    redis.kill();
    // The first request finds Redis down and opens the breaker; it is counted locally too.
    assert_eq!(app.request(Method::GET, ROUTE).await.status, 401);
    let statuses = futures_util::future::join_all(
        (0..59).map(|_| app.request(Method::GET, ROUTE).into_future()),
    )
    .await;
    let limited = statuses.iter().filter(|r| r.status == 429).count();
    println!("redis outage: {limited} of 60 concurrent requests over a limit of 30 refused");
    assert_eq!(limited, 30, "the limit must hold while Redis is down");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_events_flow_as_soon_as_readiness_is_green_after_a_redis_restart() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = spawn_app_with(Db::Sqlite, Kv::Redis, |env| {
        env.insert("REDIS_URL".into(), url);
    })
    .await;
    let mut events = app.state.cache.subscribe();

    redis.kill();
    // Long enough for an exponential resubscribe backoff to have grown past 5 s.
    let down_until = Instant::now() + Duration::from_secs(7);
    while Instant::now() < down_until {
        let _ = app.get("/health/ready", None).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let restarted = Instant::now();
    redis.restart();
    app.wait_ready(Duration::from_secs(30)).await;
    let ready_after = restarted.elapsed();

    app.state
        .cache
        .publish("faults", "after-restart")
        .await
        .expect("published once ready");
    let received = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.recv().await {
                Ok(m) if m.payload == "after-restart" => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
    println!(
        "redis restart: ready (subscribed) {} ms after Redis came back; event delivered: {}",
        ready_after.as_millis(),
        received.is_ok()
    );
    assert!(
        received.is_ok(),
        "an event published once ready was lost: the subscription was not back"
    );
    app.stop().await;
}
