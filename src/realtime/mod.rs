//! Realtime delivery of notifications to connected clients (CLIENT-CONTRACT §5): a Socket.IO v4
//! server (Engine.IO v4, Socket.IO protocol v5) on the API port at `/socket.io/`.
//!
//! Handlers call [`Realtime::notify`] after a notification is stored. The event goes through the
//! cache's pub/sub (Redis in production); one fan-out task per process hears every event and
//! emits it to the recipient's sockets it holds, so that every replica delivers to its own.
//!
//! - `protocol`: the packets (encoding, decoding).
//! - `phase`: where a session is in its life (transport, upgrade, socket, closed), as one enum.
//! - `session`: one Engine.IO session: its phase, its outbound queue, closing it.
//! - `engine`: the sessions of this process, their pools and caps, delivery, revocation, shutdown.
//! - `transport`: Engine.IO over long-polling and WebSocket, the upgrade, the HTTP endpoint.
//! - `namespace`: the Socket.IO main namespace: CONNECT with authentication, DISCONNECT.
//! - `authenticator`: the port through which a CONNECT's token is checked; the implementation
//!   lives outside (`crate::realtime_auth`), so that realtime depends on no HTTP or API code.
//! - `timers`: heartbeat, connect timeout, token expiry.
//! - `limits`: the protocol limits and session caps.
//! - `hub`: the sockets of this process by user.

pub mod authenticator;
pub mod engine;
pub mod hub;
pub mod limits;
mod namespace;
pub mod phase;
pub mod protocol;
pub mod session;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod timers;
pub mod transport;

pub use authenticator::{Authenticator, Principal, Refusal};
pub use transport::http::{ClientAddress, PATH, SocketIo};

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::clock::SharedClock;
use crate::config::RealtimeSessionsConfig;
use crate::domain::Id;
use engine::Engine;
use limits::Limits;

/// The pub/sub channel that carries notifications between replicas.
pub const CHANNEL: &str = "realtime:notification";
/// The pub/sub channel that tells every replica to disconnect an account's sockets.
pub const REVOKE_CHANNEL: &str = "realtime:revoke";

pub struct Realtime {
    cache: Arc<dyn Cache>,
    engine: Arc<Engine>,
}

impl Realtime {
    /// `legacy_broadcast`: emit every notification to every socket (`REALTIME_LEGACY_BROADCAST`).
    pub fn new(
        cache: Arc<dyn Cache>,
        legacy_broadcast: bool,
        sessions: &RealtimeSessionsConfig,
        clock: SharedClock,
    ) -> Self {
        let limits = Limits {
            max_sessions: sessions.max_sessions,
            max_pending: sessions.max_pending,
            max_pending_per_address: sessions.max_pending_per_address,
            ..Limits::default()
        };
        Realtime {
            cache,
            engine: Engine::new(limits, legacy_broadcast, clock),
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The endpoint at [`PATH`]: sockets are authenticated by `authenticator`, and pending
    /// sessions counted by `client_address`.
    pub fn endpoint(
        &self,
        authenticator: Arc<dyn Authenticator>,
        client_address: ClientAddress,
    ) -> SocketIo {
        SocketIo::new(self.engine.clone(), authenticator, client_address)
    }

    /// Delivers `notification` (the stored document, as JSON) to every socket of `recipient`, on
    /// every replica, as the event `notification::<recipient>`. Best effort: the notification is
    /// already stored, so a failure here is logged and never fails the request.
    pub async fn notify(&self, recipient: &Id, notification: serde_json::Value) {
        let payload = serde_json::json!({ "recipient": recipient.to_hex(), "data": notification });
        if let Err(e) = self.cache.publish(CHANNEL, &payload.to_string()).await {
            tracing::warn!(error = %e, "could not publish a realtime notification");
        }
    }

    /// Disconnects `account`'s sockets on every replica: those authenticated with a token of an
    /// epoch below `epoch` (the account's new one), or all of them with `None`. This replica acts
    /// at once, whether or not the cache carries the message to the others (then it is logged).
    pub async fn revoke(&self, account: &Id, epoch: Option<i64>) {
        self.engine.revoke(&account.to_hex(), epoch);
        let payload = serde_json::json!({ "account": account.to_hex(), "epoch": epoch });
        if let Err(e) = self
            .cache
            .publish(REVOKE_CHANNEL, &payload.to_string())
            .await
        {
            tracing::warn!(error = %e, "could not tell other replicas to disconnect an account's sockets");
        }
    }

    /// Starts the fan-out: every notification published by any replica is emitted to the
    /// recipient's sockets on this one. Runs until `stop`.
    pub fn spawn_fanout(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        // Subscribed before the task starts, so that nothing published after `start` returns is missed.
        let mut messages = self.cache.subscribe();
        let engine = self.engine.clone();
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    _ = stop.cancelled() => return,
                    m = messages.recv() => m,
                };
                match message {
                    Ok(m) if m.channel == CHANNEL => deliver(&engine, &m.payload),
                    Ok(m) if m.channel == REVOKE_CHANNEL => revoke(&engine, &m.payload),
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "realtime fan-out fell behind; events dropped")
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }

    /// Closes every socket (WebSockets with 1001 going away) and refuses new ones; waits up to
    /// `within` for the WebSockets to finish closing.
    pub async fn shutdown(&self, within: Duration) {
        self.engine.shutdown(within).await;
    }

    /// Connected Socket.IO sockets on this process.
    pub fn connected_sockets(&self) -> usize {
        self.engine.hub.len()
    }
}

fn revoke(engine: &Engine, payload: &str) {
    #[derive(serde::Deserialize)]
    struct Revoked {
        account: String,
        epoch: Option<i64>,
    }
    match serde_json::from_str::<Revoked>(payload) {
        Ok(r) => engine.revoke(&r.account, r.epoch),
        Err(e) => tracing::warn!(error = %e, "ignoring a malformed realtime revocation"),
    }
}

fn deliver(engine: &Engine, payload: &str) {
    #[derive(serde::Deserialize)]
    struct Published {
        recipient: String,
        data: serde_json::Value,
    }
    match serde_json::from_str::<Published>(payload) {
        Ok(p) => engine.deliver(&p.recipient, &p.data),
        Err(e) => tracing::warn!(error = %e, "ignoring a malformed realtime message"),
    }
}
