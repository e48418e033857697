//! The signal that starts an orderly shutdown, shared by every listener and background task.

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
