//! The Engine.IO sessions of this process: opening them, the two pools they are counted in, and
//! what reaches many of them at once (delivery, revocation, shutdown).
//!
//! Sessions are counted in two pools. Until its socket signs in, a session is *pending*: anyone can
//! open one, so the pending pool is capped per client address and in all, and when full it drops
//! its oldest session instead of refusing the new one (a signed-in user's handshake always gets a
//! session, and sends its CONNECT within milliseconds). Signed-in sessions have their own cap,
//! which anonymous handshakes cannot fill.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::hub::Hub;
pub use super::limits::Limits;
use super::phase::{CloseReason, Transport};
use super::protocol;
use super::session::{Handshake, Owner, Session};
use super::timers;
use crate::clock::SharedClock;
use crate::domain::Millis;

/// The Engine.IO sessions of this process and the sockets on them.
pub struct Engine {
    pub limits: Limits,
    pub legacy_broadcast: bool,
    sessions: Mutex<Sessions>,
    pub hub: Hub<Arc<Session>>,
    clock: SharedClock,
    stopping: CancellationToken,
    websockets: TaskTracker,
}

/// Every session, and which of them are pending (not signed in), oldest first.
#[derive(Default)]
struct Sessions {
    all: HashMap<String, Arc<Session>>,
    /// Pending sessions by the order of their handshakes.
    pending: BTreeMap<u64, String>,
    /// The pending sessions of each address, oldest first.
    pending_by_address: HashMap<IpAddr, VecDeque<u64>>,
    signed_in: usize,
    next_seq: u64,
}

impl Sessions {
    fn unpend(&mut self, seq: u64, address: IpAddr) -> bool {
        if self.pending.remove(&seq).is_none() {
            return false;
        }
        if let Some(queue) = self.pending_by_address.get_mut(&address) {
            queue.retain(|s| *s != seq);
            if queue.is_empty() {
                self.pending_by_address.remove(&address);
            }
        }
        true
    }

    /// Takes the oldest pending session (of `address`, or of all) out of the sessions.
    fn displace(&mut self, address: Option<IpAddr>) -> Option<Arc<Session>> {
        let seq = match address {
            Some(a) => *self.pending_by_address.get(&a)?.front()?,
            None => *self.pending.keys().next()?,
        };
        let sid = self.pending.get(&seq)?.clone();
        // Out of both maps at once, so that its close (which forgets it) counts nothing twice.
        let session = self.all.remove(&sid)?;
        self.unpend(seq, session.address());
        Some(session)
    }
}

/// Why a session cannot be opened.
#[derive(Debug)]
pub enum OpenError {
    Stopping,
}

impl Engine {
    pub fn new(limits: Limits, legacy_broadcast: bool, clock: SharedClock) -> Arc<Self> {
        Arc::new(Engine {
            hub: Hub::new(limits.max_sockets_per_user),
            limits,
            legacy_broadcast,
            clock,
            sessions: Mutex::new(Sessions::default()),
            stopping: CancellationToken::new(),
            websockets: TaskTracker::new(),
        })
    }

    fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn session(&self, sid: &str) -> Option<Arc<Session>> {
        self.sessions().all.get(sid).cloned()
    }

    pub fn session_count(&self) -> usize {
        self.sessions().all.len()
    }

    /// Sessions not signed in yet.
    pub fn pending_count(&self) -> usize {
        self.sessions().pending.len()
    }

    /// Whether a new session would be refused now.
    pub fn check_capacity(&self) -> Result<(), OpenError> {
        if self.stopping.is_cancelled() {
            return Err(OpenError::Stopping);
        }
        Ok(())
    }

    /// Opens a pending session from `address` and starts its timers (heartbeat, connect
    /// timeout). When the pending pool (of the address, or in all) is full, its oldest session
    /// makes room.
    pub fn open(
        self: &Arc<Self>,
        transport: Transport,
        handshake: Handshake,
    ) -> Result<Arc<Session>, OpenError> {
        let address = handshake.address;
        let mut displaced = Vec::new();
        let session = {
            // Checked under the lock, so that concurrent handshakes cannot exceed the caps and none
            // slips in after the shutdown has collected the sessions to close.
            let mut sessions = self.sessions();
            if self.stopping.is_cancelled() {
                return Err(OpenError::Stopping);
            }
            while sessions
                .pending_by_address
                .get(&address)
                .is_some_and(|q| q.len() >= self.limits.max_pending_per_address)
            {
                let Some(old) = sessions.displace(Some(address)) else {
                    break;
                };
                displaced.push(old);
            }
            while sessions.pending.len() >= self.limits.max_pending {
                let Some(old) = sessions.displace(None) else {
                    break;
                };
                displaced.push(old);
            }
            let seq = sessions.next_seq;
            sessions.next_seq += 1;
            let owner: std::sync::Weak<dyn Owner> = Arc::downgrade(self) as _;
            let session = Arc::new(Session::new(owner, transport, handshake, seq));
            sessions.all.insert(session.sid.clone(), session.clone());
            sessions.pending.insert(seq, session.sid.clone());
            sessions
                .pending_by_address
                .entry(address)
                .or_default()
                .push_back(seq);
            session
        };
        // Closed outside the lock: closing forgets the session, which takes the lock.
        for old in displaced {
            old.close(CloseReason::Displaced);
        }
        tokio::spawn(timers::heartbeat(session.clone(), self.limits.clone()));
        tokio::spawn(timers::connect_timeout(
            session.clone(),
            self.limits.connect_timeout,
        ));
        Ok(session)
    }

    /// Moves a pending session whose socket signed in to the signed-in pool; `false` when that
    /// pool is full (or the session is gone). A session already signed in stays.
    pub(super) fn admit(&self, session: &Session) -> bool {
        let mut sessions = self.sessions();
        if !sessions.all.contains_key(&session.sid) {
            return false;
        }
        if !sessions.pending.contains_key(&session.seq) {
            return true;
        }
        if sessions.signed_in >= self.limits.max_sessions {
            return false;
        }
        sessions.unpend(session.seq, session.address());
        sessions.signed_in += 1;
        true
    }

    /// The open packet for a session on `transport`.
    pub fn open_packet(&self, sid: &str, transport: Transport) -> String {
        let upgrades: &[&str] = match transport {
            Transport::Polling => &["websocket"],
            Transport::WebSocket => &[],
        };
        protocol::open_packet(
            sid,
            upgrades,
            self.limits.ping_interval.as_millis() as u64,
            self.limits.ping_timeout.as_millis() as u64,
            self.limits.max_payload,
        )
    }

    /// Delivers the event `notification::<recipient>` to the recipient's sockets on this process
    /// (to every socket with the legacy broadcast).
    pub fn deliver(&self, recipient: &str, data: &Value) {
        let targets = if self.legacy_broadcast {
            self.hub.everyone()
        } else {
            self.hub.of_user(recipient)
        };
        if targets.is_empty() {
            return;
        }
        let packet: Arc<str> = protocol::event(&format!("notification::{recipient}"), data).into();
        for session in targets {
            session.push(packet.clone());
        }
    }

    /// Disconnects the sockets of `user` on this process that were authenticated under a token
    /// epoch below `below_epoch` (all of them with `None`).
    pub fn revoke(&self, user: &str, below_epoch: Option<i64>) {
        for session in self.hub.of_user(user) {
            let target = match (session.state().phase.socket(), below_epoch) {
                (Some((id, Some(epoch))), Some(below)) if epoch < below => Some(id.to_owned()),
                (Some((id, _)), None) => Some(id.to_owned()),
                _ => None,
            };
            if let Some(id) = target {
                session.end_socket(&id);
            }
        }
    }

    /// Refuses new sessions, closes every session (WebSockets with 1001 going away, pending polls
    /// with the close packet), and waits up to `within` for the WebSockets to finish closing.
    pub async fn shutdown(&self, within: Duration) {
        let all: Vec<Arc<Session>> = {
            let sessions = self.sessions();
            self.stopping.cancel();
            sessions.all.values().cloned().collect()
        };
        for session in &all {
            session.close(CloseReason::Shutdown);
        }
        self.websockets.close();
        if tokio::time::timeout(within, self.websockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSockets did not finish closing in time");
        }
    }

    pub(super) fn forget(&self, session: &Session) {
        let mut sessions = self.sessions();
        if sessions.all.remove(&session.sid).is_some()
            && !sessions.unpend(session.seq, session.address())
        {
            sessions.signed_in -= 1;
        }
    }

    /// Runs `fut` (a WebSocket's life) so that shutdown can wait for it.
    pub fn track<F: Future>(&self, fut: F) -> tokio_util::task::task_tracker::TrackedFuture<F> {
        self.websockets.track_future(fut)
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }
}

impl Owner for Engine {
    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn legacy_broadcast(&self) -> bool {
        self.legacy_broadcast
    }

    fn hub(&self) -> &Hub<Arc<Session>> {
        &self.hub
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    fn admit(&self, session: &Session) -> bool {
        Engine::admit(self, session)
    }

    fn forget(&self, session: &Session) {
        Engine::forget(self, session)
    }
}
