//! One Engine.IO session: its phase, its outbound queue, and the signals its transport and timers
//! wait on. Every session has one queue; the active transport drains it (the pending GET, or the
//! WebSocket writer). What a session does with packets lives in `transport` (Engine.IO) and
//! `namespace` (Socket.IO); when it times out, in `timers`.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::hub::Hub;
use super::limits::Limits;
use super::phase::{CloseReason, Phase, Transport};
use crate::domain::Millis;

/// What the session's handshake request carried that may authenticate its socket, and where it
/// came from.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The `token` query parameter.
    pub query_token: Option<String>,
    /// The token of the `Authorization` header.
    pub header_token: Option<String>,
    /// The client address (behind `TRUSTED_PROXIES`, the forwarded one).
    pub address: IpAddr,
}

impl Default for Handshake {
    fn default() -> Self {
        Handshake {
            query_token: None,
            header_token: None,
            address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        }
    }
}

/// The pool a session belongs to (the engine), as the session sees it: what its socket is
/// registered in, its limits, and the pools it is counted in. A trait, so that the session does not
/// depend on the engine that holds it.
pub(super) trait Owner: Send + Sync {
    fn limits(&self) -> &Limits;
    /// Every notification goes to every socket, and a socket without a valid token is admitted.
    fn legacy_broadcast(&self) -> bool;
    fn hub(&self) -> &Hub<Arc<Session>>;
    /// Wall time from the injected clock (when a socket's token expires).
    fn now(&self) -> Millis;
    /// Moves the session, whose socket signed in, to the signed-in pool; `false` when that pool is
    /// full or the session is gone.
    fn admit(&self, session: &Session) -> bool;
    /// The session closed: it leaves every pool.
    fn forget(&self, session: &Session);
}

pub struct Session {
    pub sid: String,
    /// The order of its handshake (pending-pool caps).
    pub(super) seq: u64,
    owner: Weak<dyn Owner>,
    pub(super) handshake: Handshake,
    state: Mutex<State>,
    /// The queue or the phase changed: the active transport looks again.
    pub(super) wake: Notify,
    pub(super) pong: Notify,
    pub(super) closed: CancellationToken,
}

pub(super) struct State {
    pub phase: Phase,
    pub queue: VecDeque<Arc<str>>,
}

/// A random id in URL-safe base64 (128 bits).
pub(super) fn random_id() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Session {
    pub(super) fn new(
        owner: Weak<dyn Owner>,
        transport: Transport,
        handshake: Handshake,
        seq: u64,
    ) -> Session {
        Session {
            sid: random_id(),
            seq,
            owner,
            handshake,
            state: Mutex::new(State {
                phase: Phase::new(transport),
                queue: VecDeque::new(),
            }),
            wake: Notify::new(),
            pong: Notify::new(),
            closed: CancellationToken::new(),
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn owner(&self) -> Option<Arc<dyn Owner>> {
        self.owner.upgrade()
    }

    /// The client address it came from (pending-pool caps).
    pub fn address(&self) -> IpAddr {
        self.handshake.address
    }

    /// `None` once closed.
    pub fn transport(&self) -> Option<Transport> {
        self.state().phase.transport()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.state().phase.close_reason()
    }

    /// Queues one packet for the client. A client that lets `max_queued_packets` pile up is
    /// closed rather than allowed to grow the server's memory.
    pub fn push(&self, packet: Arc<str>) {
        let overflow = {
            let mut st = self.state();
            if st.phase.is_closed() {
                return;
            }
            let max = self
                .owner()
                .map_or(usize::MAX, |o| o.limits().max_queued_packets);
            if st.queue.len() >= max {
                true
            } else {
                st.queue.push_back(packet);
                false
            }
        };
        if overflow {
            tracing::warn!(sid = %self.sid, "realtime client too slow; closing its session");
            self.close(CloseReason::Overflow);
        } else {
            self.wake.notify_waiters();
        }
    }

    pub(super) fn push_str(&self, packet: String) {
        self.push(packet.into());
    }

    /// Ends the session once: unregisters its socket, forgets it, wakes its transport.
    pub fn close(&self, reason: CloseReason) {
        let Some(socket) = self.state().phase.close(reason) else {
            return;
        };
        if let Some(owner) = self.owner() {
            if let Some(id) = socket {
                owner.hub().unregister(&id);
            }
            owner.forget(self);
        }
        tracing::debug!(sid = %self.sid, reason = ?reason, "realtime session closed");
        self.closed.cancel();
        self.wake.notify_waiters();
        self.pong.notify_waiters();
    }

    /// Takes every queued packet.
    pub(super) fn drain(&self) -> Vec<Arc<str>> {
        self.state().queue.drain(..).collect()
    }

    /// The client answered a ping.
    pub(super) fn on_pong(&self) {
        self.state().phase.pong();
        self.pong.notify_waiters();
    }

    /// Claims this polling session for a WebSocket upgrade; `false` when it cannot be upgraded.
    pub fn claim_upgrade(&self) -> bool {
        self.state().phase.claim_upgrade()
    }
}
