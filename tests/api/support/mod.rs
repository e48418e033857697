//! Helpers shared by every test: the services, and a real server started in-process per test.

pub mod accounts;
pub mod google;
pub mod http;
pub mod services;
pub mod shapes;
pub mod socket;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use educoin::app::AppState;
use educoin::clock::TestClock;
use educoin::config::Config;
use educoin::ops::systemd::ActivatedSockets;
use educoin::serve::{self, Running};

/// Which storage adapter a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Mongo,
}

/// Which cache adapter a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kv {
    Memory,
    Redis,
}

pub use accounts::{User, session};
pub use http::Res;

/// A server started in-process, and the client of every request a test sends it (`http.rs`).
pub struct TestApp {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    pub client: reqwest::Client,
    /// Plain secrets (passwords, codes) that must never appear in a response.
    secrets: Mutex<Vec<String>>,
    clock: Arc<TestClock>,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

/// Settings for a test server: loopback, ephemeral ports, an isolated database and key prefix.
pub fn test_env(db: Db, kv: Kv, dir: &std::path::Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set("NODE_ENV", "test".into());
    set("IP_ADDRESS", "127.0.0.1".into());
    set("PORT", "0".into());
    set("METRICS_ADDRESS", "127.0.0.1:0".into());
    set("EDUCOIN_TEST_HOOKS", "1".into());
    set("SHUTDOWN_TIMEOUT_SECS", "5".into());
    set("LOG_LEVEL", "warn".into());
    set("STATE_DIRECTORY", dir.display().to_string());
    match db {
        Db::Sqlite => set(
            "DATABASE_URL",
            format!("sqlite://{}/educoin.db", dir.display()),
        ),
        Db::Mongo => set("DATABASE_URL", services::fresh_mongodb_url()),
    }
    if kv == Kv::Redis {
        set("REDIS_URL", services::redis_url());
        set(
            "REDIS_KEY_PREFIX",
            format!("test:{}:", uuid::Uuid::new_v4().simple()),
        );
    }
    env
}

pub async fn spawn_app(db: Db, kv: Kv) -> TestApp {
    spawn_app_with(db, kv, |_| {}).await
}

/// Starts a server with the test settings changed by `adjust`, and waits until it is ready.
pub async fn spawn_app_with(
    db: Db,
    kv: Kv,
    adjust: impl FnOnce(&mut BTreeMap<String, String>),
) -> TestApp {
    let app = start_app_with(db, kv, adjust).await;
    app.wait_ready(Duration::from_secs(20)).await;
    app
}

/// Starts a server without waiting for readiness (for tests of a dependency that is down).
pub async fn start_app_with(
    db: Db,
    kv: Kv,
    adjust: impl FnOnce(&mut BTreeMap<String, String>),
) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(db, kv, dir.path());
    adjust(&mut env);
    let config = Config::from_source(&env).expect("test configuration is valid");
    let clock = Arc::new(TestClock::new());
    let running = serve::start_with_clock(config, ActivatedSockets::default(), clock.clone())
        .await
        .expect("server starts");
    TestApp {
        addr: running.http_addr,
        metrics_addr: running.metrics_addr,
        state: running.state.clone(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        secrets: Mutex::new(vec![accounts::SUPER_PASSWORD.to_owned()]),
        clock,
        running: Some(running),
        _dir: dir,
    }
}

fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let level = std::env::var("TEST_LOG").unwrap_or_else(|_| "off".into());
        educoin::ops::telemetry::init(educoin::config::Environment::Test, &level);
    });
}

impl TestApp {
    /// A student as the server's store holds it (balances, class), read past the API.
    pub async fn stored_student(&self, id: &educoin::domain::Id) -> educoin::domain::Student {
        let found = self.state.store.students.by_id(id).await.unwrap();
        found.expect("the student is stored")
    }

    /// The server's clock: follows real time until a test moves it (`advance`, `set`).
    pub fn clock(&self) -> &TestClock {
        &self.clock
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A GET from the server root: status and JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.request(reqwest::Method::GET, path).await;
        assert!(!res.body.is_null(), "a JSON body: {}", res.text);
        (res.status, res.body)
    }

    pub async fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.get("/health/ready", None).await.status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server not ready within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
            r.finished().await.expect("clean shutdown");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(r) = &self.running {
            r.shutdown();
        }
    }
}

/// Runs `$body` (an async fn taking `Db`) once per storage adapter, as two tests.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Db::Sqlite).await;
                }
            )*
        }
        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Db::Mongo).await;
                }
            )*
        }
    };
}

/// Runs `$body` (an async fn taking `Kv`) once per cache adapter, as two tests.
#[macro_export]
macro_rules! on_both_caches {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Kv::Memory).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Kv::Redis).await;
                }
            )*
        }
    };
}
