//! The signal that starts an orderly shutdown, shared by every listener and background task.

use std::time::Duration;

use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use tokio_util::sync::CancellationToken;

/// Resolves on SIGTERM (systemd, container runtimes) or SIGINT (Ctrl-C), then cancels `token` so
/// that every part of the server begins to stop at once.
pub async fn on_signal(token: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot listen for shutdown signals");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
        _ = int.recv() => tracing::info!("SIGINT received; shutting down"),
        _ = token.cancelled() => return,
    }
    token.cancel();
}

/// How long a connection accepted just before the signal has to deliver its request before the
/// graceful shutdown begins: hyper closes a connection that has not sent a byte yet as idle
/// (hyperium/hyper#2730), which would lose a request across a socket-activated restart.
pub const ACCEPT_GRACE: Duration = Duration::from_millis(300);

/// An acceptor that stops accepting (and closes its listener) once `stop` is cancelled. Under socket
/// activation systemd keeps its own copy of the listening socket, so connections that arrive from
/// then on wait in the kernel backlog for the next process instead of being cut off by this one.
pub struct StopAcceptor {
    inner: Option<TcpAcceptor>,
    addrs: Vec<LocalAddr>,
    stop: CancellationToken,
}

impl StopAcceptor {
    pub fn new(inner: TcpAcceptor, stop: CancellationToken) -> Self {
        let addrs = inner.local_addr();
        Self {
            inner: Some(inner),
            addrs,
            stop,
        }
    }
}

impl Acceptor for StopAcceptor {
    type Io = <TcpAcceptor as Acceptor>::Io;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.addrs.clone()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        if let Some(inner) = self.inner.as_mut() {
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => {}
                res = inner.accept() => return res,
            }
            self.inner = None; // close our copy of the listener
        }
        std::future::pending().await
    }
}
