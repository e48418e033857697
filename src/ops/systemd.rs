//! systemd integration: readiness and status (`sd_notify`), the watchdog, and socket activation.
//! Outside systemd (no `NOTIFY_SOCKET`, no `LISTEN_FDS`) every function here is a no-op.

use std::net::TcpListener;
use std::os::fd::{FromRawFd, RawFd};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

/// `READY=1`: the listeners are bound and the dependencies answered.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    notify(&[NotifyState::Status(status)]);
}

/// `STOPPING=1`: shutdown has begun; systemd now waits up to `TimeoutStopSec`.
pub fn stopping() {
    notify(&[
        NotifyState::Stopping,
        NotifyState::Status("draining in-flight requests"),
    ]);
}

/// Asks systemd for more start-up time while a long migration runs.
pub fn extend_start_timeout(by: Duration) {
    let usec = u32::try_from(by.as_micros()).unwrap_or(u32::MAX);
    notify(&[NotifyState::ExtendTimeoutUsec(usec)]);
}

/// The watchdog interval asked for by systemd (`WATCHDOG_USEC`), if it is meant for this process.
/// Like `sd_watchdog_enabled`, a missing `WATCHDOG_PID` means "this process".
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Pings `WATCHDOG=1` at half the interval, but only while the runtime still schedules work
/// promptly: a wedged process stops pinging and systemd restarts it.
pub fn spawn_watchdog(interval: Duration, stop: CancellationToken) {
    let period = interval / 2;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(period) => {}
            }
            // The liveness check: a fresh task must be scheduled and finish within a quarter of
            // the interval. A runtime whose workers are all blocked fails it.
            let probe = tokio::time::timeout(interval / 4, tokio::spawn(async {})).await;
            match probe {
                Ok(Ok(())) => notify(&[NotifyState::Watchdog]),
                _ => tracing::warn!(
                    "runtime did not answer the liveness probe; skipping watchdog ping"
                ),
            }
        }
    });
}

/// Sockets handed over by systemd socket activation (`LISTEN_FDS`).
#[derive(Debug, Default)]
pub struct ActivatedSockets {
    pub http: Option<TcpListener>,
    pub metrics: Option<TcpListener>,
}

/// Takes the sockets passed by systemd. With `LISTEN_FDNAMES` (`FileDescriptorName=` in the socket
/// unit) the names `http` and `metrics` decide; without names the first socket is the API and the
/// second the metrics. Call once.
pub fn activated_sockets() -> anyhow::Result<ActivatedSockets> {
    const FIRST_FD: RawFd = 3;
    let Some(count) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<RawFd>().ok())
    else {
        return Ok(ActivatedSockets::default());
    };
    if let Ok(pid) = std::env::var("LISTEN_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return Ok(ActivatedSockets::default());
    }
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .map(|n| n.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut sockets = ActivatedSockets::default();
    for i in 0..count {
        let fd = FIRST_FD + i;
        // SAFETY: systemd passes these descriptors to us alone (LISTEN_PID matched) and we take
        // each exactly once, here.
        let listener = unsafe { TcpListener::from_raw_fd(fd) };
        listener
            .local_addr()
            .map_err(|e| anyhow::anyhow!("LISTEN_FDS: descriptor {fd} is not a TCP socket: {e}"))?;
        listener.set_nonblocking(true)?;
        let slot = match names.get(i as usize).map(String::as_str) {
            Some("metrics") => &mut sockets.metrics,
            Some("http") => &mut sockets.http,
            _ if i == 0 => &mut sockets.http,
            _ if i == 1 => &mut sockets.metrics,
            other => anyhow::bail!("LISTEN_FDS: unexpected socket {fd} named {other:?}"),
        };
        if slot.replace(listener).is_some() {
            anyhow::bail!("LISTEN_FDS: two sockets for the same listener");
        }
    }
    Ok(sockets)
}
