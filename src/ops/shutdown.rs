//! The signal that starts an orderly shutdown, shared by every listener and background task.

use tokio_util::sync::CancellationToken;

/// SIGTERM (systemd, container runtimes) and SIGINT (Ctrl-C), listened for from the moment this
/// is created: a signal that arrives while the server is still starting is kept, not fatal (the
/// default action would kill the process with no exit status).
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves on the first signal, then cancels `token` so that every part of the server begins
    /// to stop at once.
    pub async fn cancel_on_signal(mut self, token: CancellationToken) {
        tokio::select! {
            _ = self.term.recv() => tracing::info!("SIGTERM received; shutting down"),
            _ = self.int.recv() => tracing::info!("SIGINT received; shutting down"),
            _ = token.cancelled() => return,
        }
        token.cancel();
    }
}
