//! The cache contract: the in-process and Redis adapters behave the same.

use std::sync::Arc;
use std::time::Duration;

use educoin::cache::{self, Cache};
use educoin::clock::{SystemClock, TestClock};
use educoin::config::CacheConfig;
use secrecy::SecretString;

use crate::on_both_caches;
use crate::support::{Kv, services};

async fn open(kv: Kv) -> Arc<dyn Cache> {
    open_timed(kv).await.0
}

/// How a test lets time pass: the in-process cache reads the injected clock, which the test
/// moves; Redis keeps time itself, so only waiting makes its keys expire.
struct Pass(Kv, Arc<TestClock>);

impl Pass {
    async fn by(&self, d: Duration) {
        match self.0 {
            Kv::Memory => self.1.advance(d),
            Kv::Redis => tokio::time::sleep(d).await,
        }
    }
}

async fn open_timed(kv: Kv) -> (Arc<dyn Cache>, Pass) {
    let clock = Arc::new(TestClock::new());
    let config = match kv {
        Kv::Memory => CacheConfig::Memory,
        Kv::Redis => CacheConfig::Redis {
            url: SecretString::from(services::redis_url()),
        },
    };
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let c = cache::open(&config, &prefix, clock.clone()).await.unwrap();
    (c, Pass(kv, clock))
}

async fn counts_hits_in_a_fixed_window(kv: Kv) {
    let (c, pass) = open_timed(kv).await;
    let window = Duration::from_millis(600);
    for expected in 1..=3 {
        let w = c.hit("ip:1.2.3.4", window).await.unwrap();
        assert_eq!(w.count, expected);
        assert!(w.resets_in <= window && !w.resets_in.is_zero());
    }
    assert_eq!(
        c.hit("ip:5.6.7.8", window).await.unwrap().count,
        1,
        "keys are independent"
    );
    pass.by(window + Duration::from_millis(100)).await;
    assert_eq!(
        c.hit("ip:1.2.3.4", window).await.unwrap().count,
        1,
        "a new window starts"
    );
}

async fn values_expire_and_take_is_single_use(kv: Kv) {
    let (c, pass) = open_timed(kv).await;
    c.put("otp:a", "1234", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(c.get("otp:a").await.unwrap().as_deref(), Some("1234"));
    assert_eq!(c.take("otp:a").await.unwrap().as_deref(), Some("1234"));
    assert_eq!(c.take("otp:a").await.unwrap(), None, "taken once");
    assert_eq!(c.get("otp:a").await.unwrap(), None);

    c.put("short", "x", Duration::from_millis(200))
        .await
        .unwrap();
    pass.by(Duration::from_millis(350)).await;
    assert_eq!(c.get("short").await.unwrap(), None, "expired");

    c.put("gone", "x", Duration::from_secs(5)).await.unwrap();
    c.delete("gone").await.unwrap();
    assert_eq!(c.get("gone").await.unwrap(), None);
}

async fn take_is_single_use_under_races(kv: Kv) {
    let c = open(kv).await;
    c.put("token", "t", Duration::from_secs(5)).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.take("token").await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// 100 concurrent hits on one key count 1..=100, each once: the counter is the reservation every
/// brute-force limit relies on.
async fn concurrent_hits_count_each_once(kv: Kv) {
    let c = open(kv).await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.hit("burst", Duration::from_secs(30)).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap().count);
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=100).collect::<Vec<_>>());
}

/// `release` takes one hit back, never below zero, keeps the window, and creates nothing.
async fn release_takes_back_one_hit(kv: Kv) {
    let c = open(kv).await;
    let window = Duration::from_secs(30);
    c.hit("r", window).await.unwrap();
    c.hit("r", window).await.unwrap();
    c.release("r").await.unwrap();
    let w = c.peek("r").await.unwrap().expect("window still open");
    assert_eq!(w.count, 1);
    assert!(w.resets_in <= window && !w.resets_in.is_zero());
    c.release("r").await.unwrap();
    c.release("r").await.unwrap();
    assert_eq!(c.peek("r").await.unwrap().map(|w| w.count), Some(0));
    assert_eq!(c.hit("r", window).await.unwrap().count, 1);
    c.release("absent").await.unwrap();
    assert_eq!(
        c.peek("absent").await.unwrap(),
        None,
        "release creates nothing"
    );
}

async fn published_messages_reach_subscribers(kv: Kv) {
    let c = open(kv).await;
    let mut rx = c.subscribe();
    // Redis subscribes in the background; publish until the first message makes it through.
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            c.publish("notifications", "hello").await.unwrap();
            match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                Ok(Ok(m)) => return m,
                _ => continue,
            }
        }
    })
    .await
    .expect("a message within 10 s");
    assert_eq!(received.channel, "notifications");
    assert_eq!(received.payload, "hello");
    c.ping().await.unwrap();
}

on_both_caches!(
    counts_hits_in_a_fixed_window,
    values_expire_and_take_is_single_use,
    take_is_single_use_under_races,
    concurrent_hits_count_each_once,
    release_takes_back_one_hit,
    published_messages_reach_subscribers,
);

/// Client-made keys cannot grow the in-process cache without bound (issue 10, item 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_cache_is_bounded() {
    let c = educoin::cache::memory::MemoryCache::with_capacity(1_000, Arc::new(SystemClock));
    for i in 0..20_000u32 {
        c.hit(
            &format!("login:fail:acct:{i}@x.test"),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    }
    let held = c.len();
    println!("entries held after 20,000 distinct keys with a bound of 1,000: {held}");
    assert!(held <= 1_000, "{held} entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_redis_clients_share_pub_sub_and_counters() {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let config = CacheConfig::Redis {
        url: SecretString::from(services::redis_url()),
    };
    let a = cache::open(&config, &prefix, Arc::new(SystemClock))
        .await
        .unwrap();
    let b = cache::open(&config, &prefix, Arc::new(SystemClock))
        .await
        .unwrap();
    a.hit("shared", Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        b.hit("shared", Duration::from_secs(5)).await.unwrap().count,
        2
    );

    let mut rx = b.subscribe();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            a.publish("events", "from-a").await.unwrap();
            if let Ok(Ok(m)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                return m;
            }
        }
    })
    .await
    .expect("b hears a");
    assert_eq!(got.payload, "from-a");
}
