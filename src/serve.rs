//! The server's life: bind, serve, bootstrap the dependencies, announce readiness, and on a signal
//! stop accepting, drain in-flight requests and exit cleanly.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::app;
use crate::cache;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{CacheConfig, Config};
use crate::http;
use crate::ops::shutdown;
use crate::ops::systemd;
use crate::state::AppState;
use crate::store::Store;

/// How long the shutdown waits for WebSockets to complete their closing handshake.
const SOCKET_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A running server, as tests and `main` see it.
pub struct Running {
    pub http_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Starts an orderly shutdown, as SIGTERM would.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Resolves when every listener has drained.
    pub async fn finished(self) -> anyhow::Result<()> {
        self.task.await?
    }
}

fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for {what}: {e}"))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn warn_about_setup(config: &Config) {
    if matches!(config.cache, CacheConfig::Memory) {
        tracing::warn!(
            "REDIS_URL is not set: rate limits, one-time codes and realtime events live in this \
             process only. Run a single instance, or set REDIS_URL."
        );
    }
    for name in &config.generated_secrets {
        tracing::warn!(
            secret = name,
            "no secret configured; generated one for this process (tokens will not survive a restart)"
        );
    }
    for off in config.disabled_integrations() {
        tracing::warn!(
            integration = off.name,
            settings = off.settings,
            "optional integration disabled: {}",
            off.effect
        );
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    if config.realtime_legacy_broadcast {
        tracing::warn!(
            "REALTIME_LEGACY_BROADCAST is on: every notification is sent to every connected socket, \
             signed in or not. Turn it off once every app connects with its access token."
        );
    }
    if config.environment.is_production() && config.frontend_origins.is_empty() {
        tracing::warn!(
            "FRONTEND_URL is not set: CORS allows no origin, so no browser dashboard can call the \
             API. Set FRONTEND_URL to the dashboard's origin."
        );
    }
    if config.google.allow_legacy_login {
        tracing::warn!(
            "GOOGLE_ALLOW_LEGACY_LOGIN is on: teachers can sign in with an unverified email. \
             Turn it off once every app sends idToken."
        );
    }
}

/// Opens the configured dependencies and starts serving on the given (or configured) sockets.
/// Returns once the listeners are bound; readiness follows when the dependencies answer.
pub async fn start(config: Config, sockets: systemd::ActivatedSockets) -> anyhow::Result<Running> {
    start_with_clock(config, sockets, Arc::new(SystemClock)).await
}

/// [`start`] on a given clock (tests move a `TestClock`).
pub async fn start_with_clock(
    config: Config,
    sockets: systemd::ActivatedSockets,
    clock: SharedClock,
) -> anyhow::Result<Running> {
    let config = Arc::new(config);
    warn_about_setup(&config);
    crate::ops::disk::register(&config.observability.state_directory);
    let store = Store::open(&config.database).await?;
    let cache = cache::open(&config.cache, &config.redis_key_prefix, clock.clone()).await?;
    let state = AppState::new(config.clone(), store, cache, clock)?;

    let http_listener = match sockets.http {
        Some(l) => l,
        None => bind(config.http_address(), "the API")?,
    };
    let metrics_listener = match (sockets.metrics, config.metrics_address) {
        (Some(l), _) => Some(l),
        (None, Some(addr)) => Some(bind(addr, "metrics")?),
        (None, None) => None,
    };
    let http_addr = http_listener.local_addr()?;
    let metrics_addr = metrics_listener
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;

    let token = CancellationToken::new();
    let deadline = config.shutdown_timeout;
    let api = http::server::serve(
        http_listener,
        app::build(state.clone()),
        "api",
        config.http,
        token.clone(),
        deadline,
    );
    let metrics = metrics_listener.map(|l| {
        http::server::serve(
            l,
            app::build_metrics(),
            "metrics",
            config.http,
            token.clone(),
            deadline,
        )
    });
    tracing::info!(http = %http_addr, metrics = %metrics_addr.map_or_else(|| "off".to_owned(), |a| a.to_string()), backend = state.store.backend.name(),
        cache = state.cache.name(), "listening");

    let bootstrap = tokio::spawn(bootstrap(state.clone(), token.clone()));
    let fanout = state.realtime.spawn_fanout(token.clone());
    let push_worker = spawn_push_worker(&state, token.clone());
    let task_token = token.clone();
    let realtime = state.realtime.clone();
    let task = tokio::spawn(async move {
        let metrics = async {
            match metrics {
                Some(m) => m.await,
                None => Ok(()),
            }
        };
        let stopping = async {
            task_token.cancelled().await;
            systemd::stopping();
            tracing::info!("stopping: no new connections; draining in-flight requests");
            // Upgraded WebSockets are not requests: the graceful drain would not wait for them,
            // nor end them. Close them (1001 going away) and end the pending long polls now.
            realtime.shutdown(SOCKET_CLOSE_GRACE).await;
            // The push worker finishes its current sends and releases its leases.
            if let Some(worker) = push_worker
                && tokio::time::timeout(deadline, worker).await.is_err()
            {
                tracing::warn!("the push worker did not stop within the drain; its leases expire");
            }
        };
        let (api, metrics, ()) = tokio::join!(api, metrics, stopping);
        bootstrap.abort();
        fanout.abort();
        api?;
        metrics?;
        tracing::info!("stopped");
        Ok(())
    });
    Ok(Running {
        http_addr,
        metrics_addr,
        state,
        shutdown: token,
        task,
    })
}

/// Starts delivering the push outbox (when push is on) once the migrations ran.
fn spawn_push_worker(
    state: &AppState,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let fcm = state.push.clone()?;
    let worker = crate::jobs::push_worker::PushWorker::new(
        state.store.clone(),
        fcm,
        state.clock.clone(),
        state.config.push.clone(),
    );
    let readiness = state.readiness.clone();
    Some(tokio::spawn(
        worker.run(move || readiness.is_migrated(), stop),
    ))
}

/// Waits for the database and the cache, runs the migrations, then tells systemd we are ready.
/// Retries with backoff: a dependency that is down at start delays readiness, it does not crash
/// the process (liveness keeps answering meanwhile).
async fn bootstrap(state: AppState, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(250);
    loop {
        systemd::status("waiting for the database and the cache");
        let db = state.store.backend.ping().await;
        let cache_up = state.cache.ping().await;
        match (db, cache_up) {
            (Ok(()), Ok(())) => {
                systemd::status("running migrations");
                systemd::extend_start_timeout(Duration::from_secs(120));
                match state.store.backend.migrate().await {
                    Ok(()) => match seed_super_admin(&state).await {
                        Ok(()) => break,
                        Err(e) => {
                            tracing::error!(error = %e, "seeding the super admin failed; retrying")
                        }
                    },
                    Err(e) => tracing::error!(error = %e, "migrations failed; retrying"),
                }
            }
            (db, cache_up) => {
                if let Err(e) = db {
                    tracing::warn!(error = %e, "database not reachable yet");
                }
                if let Err(e) = cache_up {
                    tracing::warn!(error = %e, "cache not reachable yet");
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    state.readiness.mark_migrated();
    let status = format!(
        "serving on {}:{} ({} + {})",
        state.config.ip_address,
        state.config.port,
        state.store.backend.name(),
        state.cache.name()
    );
    tracing::info!(status = %status, "ready");
    systemd::ready(&status);
    tokio::spawn(crate::jobs::repeat_tasks::run(
        state.store.clone(),
        state.clock.clone(),
        stop.clone(),
    ));
    tokio::spawn(crate::jobs::settle_points::run(
        state.store.clone(),
        state.clock.clone(),
        stop.clone(),
    ));
    tokio::spawn(crate::jobs::reconcile::run(state.clone(), stop.clone()));
    if let Some(interval) = systemd::watchdog_interval() {
        tracing::info!(
            interval_ms = interval.as_millis() as u64,
            "systemd watchdog enabled"
        );
        systemd::spawn_watchdog(interval, stop);
    }
}

/// Creates the super admin of `SUPER_ADMIN_EMAIL` once. Idempotent across restarts and replicas (the
/// unique email decides a race), and it never resets a password that was changed since.
async fn seed_super_admin(state: &AppState) -> anyhow::Result<()> {
    let Some(seed) = &state.config.super_admin else {
        return Ok(());
    };
    let email = crate::domain::account::normalize_email(&seed.email);
    if state.store.admins.by_email(&email).await?.is_some() {
        return Ok(());
    }
    let now = state.clock.now();
    let admin = crate::domain::Admin {
        id: crate::domain::Id::generate(),
        name: "Super Admin".into(),
        email,
        contact: String::new(),
        location: String::new(),
        profile: None,
        role: crate::domain::AdminRole::SuperAdmin,
        password_hash: state
            .auth
            .passwords
            .hash(seed.password.expose_secret())
            .await
            .map_err(|_| anyhow::anyhow!("no password-hashing slot for the super admin"))?,
        created_at: now,
        updated_at: now,
        version: 0,
        token_epoch: 0,
    };
    match state.store.admins.insert(&admin).await {
        Ok(()) => tracing::info!(email = %admin.email, "super admin created"),
        Err(crate::store::StoreError::Conflict { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// `educoin serve`: runs until SIGTERM/SIGINT, then drains and returns.
pub async fn run(config: Config, sockets: systemd::ActivatedSockets) -> anyhow::Result<()> {
    let signals = shutdown::Signals::install()?;
    let running = start(config, sockets).await?;
    tokio::spawn(signals.cancel_on_signal(running.shutdown.clone()));
    running.finished().await
}

/// `educoin migrate`: applies the migrations and exits.
pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database).await?;
    store.backend.migrate().await?;
    tracing::info!(backend = store.backend.name(), "migrations applied");
    Ok(())
}
