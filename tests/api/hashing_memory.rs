//! Password hashing gives its memory back (issue 10, item 23): argon2 needs 19 MiB per hash, and
//! with a fresh allocation per hash glibc kept every block resident (160 concurrent logins left
//! the release binary at 2.1–2.4 GiB). The server now reuses one block per hashing slot. This
//! spawns the real binary, sends 160 concurrent logins and reads its VmRSS.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use crate::support::services::{die_with_parent, free_port};

const EMAIL: &str = "rss-admin@educoin.test";
const PASSWORD: &str = "rss-password-123";
/// The target is 100 MiB; the bound leaves room for a debug build and allocator noise.
const RSS_BOUND_MIB: f64 = 150.0;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_stays_flat_after_160_concurrent_logins() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_educoin"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NODE_ENV", "test")
        .env("IP_ADDRESS", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("METRICS_ADDRESS", "off")
        .env("STATE_DIRECTORY", dir.path())
        .env("LOG_LEVEL", "warn")
        .env("SUPER_ADMIN_EMAIL", EMAIL)
        .env("SUPER_ADMIN_PASSWORD", PASSWORD)
        .env("RATE_LIMIT_MAX_REQUESTS", "100000000")
        .env("LOGIN_RATE_LIMIT_MAX_FAILURES", "100000000")
        .env("LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES", "100000000")
        // Every login waits its turn: this measures memory, not the queue's bound.
        .env("PASSWORD_HASH_QUEUE_WAIT_MS", "600000")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    die_with_parent(&mut cmd);
    let server = Server(cmd.spawn().expect("the server binary starts"));
    let pid = server.0.id();

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .map_or(true, |r| r.status() != 200)
    {
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = || async {
        client
            .post(format!("{base}/auth/login"))
            .json(&json!({"email": EMAIL, "password": PASSWORD}))
            .send()
            .await
            .expect("login answered")
            .status()
            .as_u16()
    };
    assert_eq!(login().await, 200);
    let before = rss_mib(pid);

    let started = Instant::now();
    let statuses = join_all((0..160).map(|_| login())).await;
    let took = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let after = rss_mib(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_mib(pid);
    println!(
        "RSS: {before:.1} MiB before, {after:.1} MiB after 160 concurrent logins ({took:?}), \
         {idle:.1} MiB 2 s later"
    );
    assert!(
        after <= RSS_BOUND_MIB && idle <= RSS_BOUND_MIB,
        "RSS {after:.1} / {idle:.1} MiB"
    );
}
