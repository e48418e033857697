//! What ends a session or a socket when nothing happens: the heartbeat (a ping every
//! `ping_interval`, closed without a pong within `ping_timeout`), the connect timeout (no
//! Socket.IO CONNECT in time), and the token's expiry (a socket must not outlive the token that
//! let it in).

use std::sync::Arc;
use std::time::Duration;

use super::limits::Limits;
use super::phase::CloseReason;
use super::protocol;
use super::session::Session;
use crate::domain::Millis;

/// Pings every `ping_interval`; closes the session when a pong does not come within `ping_timeout`.
pub(super) async fn heartbeat(session: Arc<Session>, limits: Limits) {
    loop {
        tokio::select! {
            _ = session.closed.cancelled() => return,
            _ = tokio::time::sleep(limits.ping_interval) => {}
        }
        session.state().phase.expect_pong();
        session.push(protocol::PING.into());
        let answered = tokio::time::timeout(limits.ping_timeout, async {
            loop {
                let notified = session.pong.notified();
                if !session.state().phase.awaiting_pong() || session.is_closed() {
                    return;
                }
                notified.await;
            }
        })
        .await;
        if session.is_closed() {
            return;
        }
        if answered.is_err() {
            session.close(CloseReason::PingTimeout);
            return;
        }
    }
}

/// Closes a session that has not joined the namespace in time.
pub(super) async fn connect_timeout(session: Arc<Session>, within: Duration) {
    tokio::select! {
        _ = session.closed.cancelled() => {}
        _ = tokio::time::sleep(within) => {
            let idle = session.state().phase.is_idle();
            if idle {
                session.close(CloseReason::ConnectTimeout);
            }
        }
    }
}

/// Ends socket `id` when its token expires (`expires_at`, seconds since the Unix epoch), as the
/// injected clock tells it is `now`: the same time the token's own expiry check reads.
pub(super) async fn expire_socket(session: Arc<Session>, id: String, expires_at: i64, now: Millis) {
    let left_ms = expires_at.saturating_mul(1000).saturating_sub(now.0).max(0);
    tokio::select! {
        _ = session.closed.cancelled() => {}
        _ = tokio::time::sleep(Duration::from_millis(left_ms as u64)) => {
            tracing::debug!(sid = %session.sid, "realtime socket's token expired");
            session.end_socket(&id);
        }
    }
}
