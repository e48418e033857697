//! Engine.IO v4 sessions and the Socket.IO main namespace on top of them.
//!
//! A session starts with an HTTP long-polling handshake (the dashboard) or directly on a WebSocket
//! (the mobile app, `transports: ['websocket']`). A polling session may upgrade to a WebSocket:
//! probe (`2probe` → `3probe`), the pending poll is released with a noop, the client sends `5`,
//! and from then on the WebSocket carries everything. Every session has one outbound queue; the
//! active transport drains it (the pending GET, or the WebSocket writer).
//!
//! The server pings every `ping_interval` and closes a session whose pong does not come within
//! `ping_timeout`. A session that has not joined the namespace within `connect_timeout`, or whose
//! queue overflows, is closed too; a client that reconnects fetches what it missed from the API.
//!
//! Sessions are counted in two pools. Until its socket signs in, a session is *pending*: anyone can
//! open one, so the pending pool is capped per client address and in all, and when full it drops
//! its oldest session instead of refusing the new one (a signed-in user's handshake always gets a
//! session, and sends its CONNECT within milliseconds). Signed-in sessions have their own cap,
//! which anonymous handshakes cannot fill.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poem::web::websocket::{CloseCode, Message, WebSocketStream};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::hub::Hub;
use super::protocol::{self, EngineKind, SocketPacket};
use crate::app::AppState;
use crate::http::auth::{ALL_ROLES, authenticate_token, bearer_value};

/// The protocol limits (docs/decisions.md, "Realtime").
#[derive(Clone, Debug)]
pub struct Limits {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// The largest HTTP body or WebSocket message a client may send, in bytes.
    pub max_payload: usize,
    /// Time from the Engine.IO handshake to the Socket.IO CONNECT.
    pub connect_timeout: Duration,
    /// Time from the WebSocket upgrade request to the `5` that completes it.
    pub upgrade_timeout: Duration,
    /// Sessions whose socket signed in (`REALTIME_MAX_SESSIONS`).
    pub max_sessions: usize,
    /// Sessions not signed in yet, in all (`REALTIME_MAX_PENDING_SESSIONS`).
    pub max_pending: usize,
    /// Sessions not signed in yet, from one address (`REALTIME_MAX_PENDING_PER_ADDRESS`).
    pub max_pending_per_address: usize,
    /// Sockets of one user on this process; a new one ends the oldest.
    pub max_sockets_per_user: usize,
    /// Packets waiting for a slow client before its session is closed.
    pub max_queued_packets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            max_payload: 64 * 1024,
            connect_timeout: Duration::from_secs(5),
            upgrade_timeout: Duration::from_secs(10),
            max_sessions: 10_000,
            max_pending: 1_000,
            max_pending_per_address: 32,
            max_sockets_per_user: 16,
            max_queued_packets: 256,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Polling,
    WebSocket,
}

/// Why a session ended (for the logs, and the WebSocket close code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent the close packet.
    ClientClose,
    /// The WebSocket closed or failed.
    TransportClose,
    PingTimeout,
    ConnectTimeout,
    /// A pending session dropped to make room for a newer handshake.
    Displaced,
    /// A second concurrent GET or POST on a polling session.
    Overlap,
    /// More queued packets than `max_queued_packets`.
    Overflow,
    ParseError,
    PayloadTooLarge,
    /// The server is stopping: WebSockets get close code 1001 (going away).
    Shutdown,
}

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

/// The Engine.IO sessions of this process and the sockets on them.
pub struct Engine {
    pub limits: Limits,
    pub legacy_broadcast: bool,
    sessions: Mutex<Sessions>,
    pub hub: Hub<Arc<Session>>,
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
        self.unpend(seq, session.address);
        Some(session)
    }
}

pub struct Session {
    pub sid: String,
    /// The order of its handshake, and the client address it came from (pending-pool caps).
    seq: u64,
    address: IpAddr,
    engine: Weak<Engine>,
    handshake: Handshake,
    state: Mutex<State>,
    /// The queue or the state changed: the active transport looks again.
    wake: Notify,
    pong: Notify,
    closed: CancellationToken,
}

struct State {
    transport: Transport,
    /// A WebSocket has asked to take over this polling session.
    upgrade_claimed: bool,
    /// The probe succeeded: polling answers noop until the upgrade completes.
    upgrading: bool,
    queue: VecDeque<Arc<str>>,
    get_pending: bool,
    post_pending: bool,
    awaiting_pong: bool,
    /// The id of the Socket.IO socket of the main namespace, once connected.
    socket: Option<String>,
    /// The token epoch the socket was authenticated under (`None`: anonymous, legacy broadcast).
    socket_epoch: Option<i64>,
    connecting: bool,
    close: Option<CloseReason>,
}

/// A random id in URL-safe base64 (128 bits).
fn random_id() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a session cannot be opened.
#[derive(Debug)]
pub enum OpenError {
    Stopping,
}

impl Engine {
    pub fn new(limits: Limits, legacy_broadcast: bool) -> Arc<Self> {
        Arc::new(Engine {
            hub: Hub::new(limits.max_sockets_per_user),
            limits,
            legacy_broadcast,
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
            let session = self.new_session(transport, handshake, seq, address);
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
        tokio::spawn(heartbeat(session.clone(), self.limits.clone()));
        tokio::spawn(connect_timeout(
            session.clone(),
            self.limits.connect_timeout,
        ));
        Ok(session)
    }

    /// Moves a pending session whose socket signed in to the signed-in pool; `false` when that
    /// pool is full (or the session is gone). A session already signed in stays.
    fn admit(&self, session: &Session) -> bool {
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
        sessions.unpend(session.seq, session.address);
        sessions.signed_in += 1;
        true
    }

    fn new_session(
        self: &Arc<Self>,
        transport: Transport,
        handshake: Handshake,
        seq: u64,
        address: IpAddr,
    ) -> Arc<Session> {
        Arc::new(Session {
            sid: random_id(),
            seq,
            address,
            engine: Arc::downgrade(self),
            handshake,
            state: Mutex::new(State {
                transport,
                upgrade_claimed: false,
                upgrading: false,
                queue: VecDeque::new(),
                get_pending: false,
                post_pending: false,
                awaiting_pong: false,
                socket: None,
                socket_epoch: None,
                connecting: false,
                close: None,
            }),
            wake: Notify::new(),
            pong: Notify::new(),
            closed: CancellationToken::new(),
        })
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
            let target = {
                let st = session.state();
                match (&st.socket, st.socket_epoch, below_epoch) {
                    (Some(id), Some(epoch), Some(below)) if epoch < below => Some(id.clone()),
                    (Some(id), _, None) => Some(id.clone()),
                    _ => None,
                }
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

    fn forget(&self, session: &Session) {
        let mut sessions = self.sessions();
        if sessions.all.remove(&session.sid).is_some()
            && !sessions.unpend(session.seq, session.address)
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

/// What a polling GET answers.
pub enum Poll {
    /// The packets, joined for the response body.
    Packets(String),
    /// The session is not (or no longer) on polling.
    WrongTransport,
    /// Another GET is pending: the session is closed (as engine.io does).
    Overlap,
}

/// Why a polling POST was refused.
pub enum PostError {
    WrongTransport,
    Overlap,
}

/// Resets the pending-request flag when the request ends, even when the client goes away.
struct Pending<'a> {
    session: &'a Session,
    get: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut st = self.session.state();
        if self.get {
            st.get_pending = false;
        } else {
            st.post_pending = false;
        }
    }
}

impl Session {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.upgrade()
    }

    pub fn transport(&self) -> Transport {
        self.state().transport
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Queues one packet for the client. A client that lets `max_queued_packets` pile up is
    /// closed rather than allowed to grow the server's memory.
    pub fn push(&self, packet: Arc<str>) {
        let overflow = {
            let mut st = self.state();
            if st.close.is_some() {
                return;
            }
            let max = self
                .engine()
                .map_or(usize::MAX, |e| e.limits.max_queued_packets);
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

    fn push_str(&self, packet: String) {
        self.push(packet.into());
    }

    /// Ends the session once: unregisters its socket, forgets it, wakes its transport.
    pub fn close(&self, reason: CloseReason) {
        let socket = {
            let mut st = self.state();
            if st.close.is_some() {
                return;
            }
            st.close = Some(reason);
            st.socket.take()
        };
        if let Some(engine) = self.engine() {
            if let Some(id) = socket {
                engine.hub.unregister(&id);
            }
            engine.forget(self);
        }
        tracing::debug!(sid = %self.sid, reason = ?reason, "realtime session closed");
        self.closed.cancel();
        self.wake.notify_waiters();
        self.pong.notify_waiters();
    }

    fn close_reason(&self) -> Option<CloseReason> {
        self.state().close
    }

    /// Takes every queued packet.
    fn drain(&self) -> Vec<Arc<str>> {
        self.state().queue.drain(..).collect()
    }

    /// The long-polling GET: waits until there is something to send, then sends all of it.
    pub async fn poll(&self) -> Poll {
        let _pending = {
            let mut st = self.state();
            if st.transport != Transport::Polling {
                return Poll::WrongTransport;
            }
            if st.get_pending {
                drop(st);
                self.close(CloseReason::Overlap);
                return Poll::Overlap;
            }
            st.get_pending = true;
            Pending {
                session: self,
                get: true,
            }
        };
        loop {
            let notified = self.wake.notified();
            {
                let mut st = self.state();
                if st.close.is_some() {
                    // Tells the client that the server ended the session (it reconnects).
                    return Poll::Packets(protocol::CLOSE.to_owned());
                }
                if st.transport != Transport::Polling {
                    return Poll::Packets(protocol::NOOP.to_owned());
                }
                if !st.queue.is_empty() {
                    let packets: Vec<Arc<str>> = st.queue.drain(..).collect();
                    return Poll::Packets(protocol::join_payload(&packets));
                }
                if st.upgrading {
                    // Releases the client's pending poll so that it can pause polling and upgrade.
                    return Poll::Packets(protocol::NOOP.to_owned());
                }
            }
            notified.await;
        }
    }

    /// The long-polling POST: handles the packets of one request body.
    pub async fn post(self: &Arc<Self>, app: &AppState, body: &str) -> Result<(), PostError> {
        let _pending = {
            let mut st = self.state();
            if st.transport != Transport::Polling {
                return Err(PostError::WrongTransport);
            }
            if st.post_pending {
                drop(st);
                self.close(CloseReason::Overlap);
                return Err(PostError::Overlap);
            }
            st.post_pending = true;
            Pending {
                session: self,
                get: false,
            }
        };
        for packet in protocol::split_payload(body) {
            self.on_packet(app, packet).await;
            if self.is_closed() {
                break;
            }
        }
        Ok(())
    }

    /// Handles one Engine.IO packet from the client, on any transport.
    pub async fn on_packet(self: &Arc<Self>, app: &AppState, text: &str) {
        let packet = match protocol::decode_engine(text) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(sid = %self.sid, error = %e, "realtime: bad Engine.IO packet");
                self.close(CloseReason::ParseError);
                return;
            }
        };
        match packet.kind {
            EngineKind::Close => self.close(CloseReason::ClientClose),
            EngineKind::Pong => {
                self.state().awaiting_pong = false;
                self.pong.notify_waiters();
            }
            EngineKind::Message => self.on_message(app, packet.data).await,
            // Engine.IO v4 clients do not ping (the probe is handled by the upgrade); the rest
            // carries nothing for the server.
            EngineKind::Ping | EngineKind::Open | EngineKind::Upgrade | EngineKind::Noop => {}
        }
    }

    async fn on_message(self: &Arc<Self>, app: &AppState, data: &str) {
        match protocol::decode_socket(data) {
            Ok(SocketPacket::Connect { namespace, auth }) => {
                self.on_connect(app, namespace, auth).await
            }
            Ok(SocketPacket::Disconnect { namespace }) => {
                if namespace == protocol::MAIN_NAMESPACE {
                    let socket = {
                        let mut st = self.state();
                        st.socket_epoch = None;
                        st.socket.take()
                    };
                    if let (Some(id), Some(engine)) = (socket, self.engine()) {
                        engine.hub.unregister(&id);
                        tokio::spawn(connect_timeout(self.clone(), engine.limits.connect_timeout));
                    }
                }
            }
            // Our clients emit nothing; events, acks and binary packets are ignored.
            Ok(SocketPacket::Other) => {}
            Err(e) => {
                tracing::debug!(sid = %self.sid, error = %e, "realtime: bad Socket.IO packet");
                self.close(CloseReason::ParseError);
            }
        }
    }

    /// The Socket.IO CONNECT of the main namespace: authenticates, registers the socket under its
    /// user, answers `40{"sid"}`; or answers `44{"message"}` (the client's `connect_error`).
    async fn on_connect(self: &Arc<Self>, app: &AppState, namespace: &str, auth: Option<Value>) {
        let Some(engine) = self.engine() else { return };
        if namespace != protocol::MAIN_NAMESPACE {
            self.push_str(protocol::connect_error(
                namespace,
                "Invalid namespace",
                Some(json!({"status": 404})),
            ));
            return;
        }
        {
            let mut st = self.state();
            if st.socket.is_some() || st.connecting || st.close.is_some() {
                return;
            }
            st.connecting = true;
        }
        let outcome = self.authenticate(app, auth.as_ref()).await.map(Some);
        let outcome = match outcome {
            Err(_) if engine.legacy_broadcast => Ok(None),
            other => other,
        };
        let outcome = match outcome {
            Ok(_) if !engine.admit(self) => Err((
                "The server has too many connections. Please try again later.".to_owned(),
                503,
            )),
            other => other,
        };
        let (reply, evicted) = {
            let mut st = self.state();
            st.connecting = false;
            if st.close.is_some() {
                return;
            }
            match outcome {
                Ok(who) => {
                    let id = random_id();
                    let user = who.as_ref().map(|w| w.user.as_str());
                    // Registered under the session's lock, so that a concurrent close either sees
                    // the socket (and unregisters it) or runs before it exists.
                    let evicted = engine.hub.register(&id, user, self.clone());
                    st.socket = Some(id.clone());
                    st.socket_epoch = who.as_ref().map(|w| w.epoch);
                    if let Some(w) = &who {
                        tokio::spawn(expire_socket(self.clone(), id.clone(), w.expires_at));
                    }
                    (protocol::connect_ok(&id), evicted)
                }
                Err((message, status)) => (
                    protocol::connect_error(
                        protocol::MAIN_NAMESPACE,
                        &message,
                        Some(json!({"status": status})),
                    ),
                    Vec::new(),
                ),
            }
        };
        self.push_str(reply);
        for (id, other) in evicted {
            other.evict(&id);
        }
    }

    /// The user of the handshake's token: `auth.token`, else the `token` query parameter, else the
    /// `Authorization` header. Err is the message and status for the client's `connect_error`.
    async fn authenticate(
        &self,
        app: &AppState,
        auth: Option<&Value>,
    ) -> Result<Authenticated, (String, u16)> {
        let from_auth = auth
            .and_then(|a| a.get("token"))
            .and_then(Value::as_str)
            .map(bearer_value)
            .filter(|t| !t.is_empty());
        let token = from_auth
            .or(self.handshake.query_token.as_deref())
            .or(self.handshake.header_token.as_deref());
        let Some(token) = token else {
            return Err((
                "Authentication required: connect with your access token (auth.token).".into(),
                401,
            ));
        };
        match authenticate_token(app, token, ALL_ROLES).await {
            Ok((_, claims)) => match claims.account_id() {
                Some(id) => Ok(Authenticated {
                    user: id.to_hex(),
                    epoch: claims.epoch,
                    expires_at: claims.exp,
                }),
                None => Err((
                    "The access token is not valid. Please log in again.".into(),
                    401,
                )),
            },
            Err(e) => Err((e.to_string(), e.status().as_u16())),
        }
    }

    /// Ends socket `id` if it is still this session's socket: unregisters it and sends `41` (the
    /// client does not reconnect by itself; the app connects again with a fresh token). The
    /// Engine.IO session is given `connect_timeout` to join again or go.
    pub fn end_socket(self: &Arc<Self>, id: &str) {
        let ours = {
            let mut st = self.state();
            if st.socket.as_deref() == Some(id) {
                st.socket = None;
                st.socket_epoch = None;
                true
            } else {
                false
            }
        };
        if !ours {
            return;
        }
        if let Some(engine) = self.engine() {
            engine.hub.unregister(id);
            tokio::spawn(connect_timeout(self.clone(), engine.limits.connect_timeout));
        }
        self.push_str(protocol::disconnect(protocol::MAIN_NAMESPACE));
    }

    /// Ends socket `id` that the hub already removed (its user opened too many): `41`, so that
    /// this client does not reconnect by itself.
    fn evict(self: &Arc<Self>, id: &str) {
        let was_ours = {
            let mut st = self.state();
            if st.socket.as_deref() == Some(id) {
                st.socket = None;
                st.socket_epoch = None;
                true
            } else {
                false
            }
        };
        if was_ours {
            // Without a socket the session would keep a signed-in place for nothing.
            if let Some(engine) = self.engine() {
                tokio::spawn(connect_timeout(self.clone(), engine.limits.connect_timeout));
            }
            self.push_str(protocol::disconnect(protocol::MAIN_NAMESPACE));
        }
    }

    /// Claims this polling session for a WebSocket upgrade; `false` when it cannot be upgraded.
    pub fn claim_upgrade(&self) -> bool {
        let mut st = self.state();
        if st.transport != Transport::Polling || st.upgrade_claimed || st.close.is_some() {
            return false;
        }
        st.upgrade_claimed = true;
        true
    }
}

/// Pings every `ping_interval`; closes the session when a pong does not come within `ping_timeout`.
async fn heartbeat(session: Arc<Session>, limits: Limits) {
    loop {
        tokio::select! {
            _ = session.closed.cancelled() => return,
            _ = tokio::time::sleep(limits.ping_interval) => {}
        }
        session.state().awaiting_pong = true;
        session.push(protocol::PING.into());
        let answered = tokio::time::timeout(limits.ping_timeout, async {
            loop {
                let notified = session.pong.notified();
                if !session.state().awaiting_pong || session.is_closed() {
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

/// Who a socket's token authenticated, and until when.
struct Authenticated {
    user: String,
    epoch: i64,
    /// The token's `exp`, in seconds since the epoch.
    expires_at: i64,
}

/// Ends socket `id` when its token expires: a socket is authenticated once, and must not outlive
/// the token that let it in.
async fn expire_socket(session: Arc<Session>, id: String, expires_at: i64) {
    let left_ms = expires_at
        .saturating_mul(1000)
        .saturating_sub(crate::domain::Millis::now().0)
        .max(0);
    tokio::select! {
        _ = session.closed.cancelled() => {}
        _ = tokio::time::sleep(Duration::from_millis(left_ms as u64)) => {
            tracing::debug!(sid = %session.sid, "realtime socket's token expired");
            session.end_socket(&id);
        }
    }
}

/// Closes a session that has not joined the namespace in time.
async fn connect_timeout(session: Arc<Session>, within: Duration) {
    tokio::select! {
        _ = session.closed.cancelled() => {}
        _ = tokio::time::sleep(within) => {
            let idle = {
                let st = session.state();
                st.socket.is_none() && !st.connecting
            };
            if idle {
                session.close(CloseReason::ConnectTimeout);
            }
        }
    }
}

/// A WebSocket that opens a session of its own (`transport=websocket` without `sid`).
pub async fn run_new_websocket(
    engine: Arc<Engine>,
    app: AppState,
    handshake: Handshake,
    ws: WebSocketStream,
) {
    let (mut sink, stream) = ws.split();
    let session = match engine.open(Transport::WebSocket, handshake) {
        Ok(s) => s,
        Err(e) => {
            let (code, why) = match e {
                OpenError::Stopping => (CloseCode::Away, "server shutting down"),
            };
            let _ = sink.send(Message::Close(Some((code, why.into())))).await;
            return;
        }
    };
    let open = engine.open_packet(&session.sid, Transport::WebSocket);
    if sink.send(Message::Text(open)).await.is_err() {
        session.close(CloseReason::TransportClose);
        return;
    }
    serve_websocket(&app, &session, sink, stream).await;
}

/// A WebSocket that takes over polling session `session` (`transport=websocket&sid=...`).
pub async fn run_upgrade(
    engine: Arc<Engine>,
    app: AppState,
    session: Arc<Session>,
    ws: WebSocketStream,
) {
    let (mut sink, mut stream) = ws.split();
    let probe = async {
        match stream.next().await {
            Some(Ok(Message::Text(t))) if t == protocol::PING_PROBE => {}
            _ => return false,
        }
        if sink
            .send(Message::Text(protocol::PONG_PROBE.into()))
            .await
            .is_err()
        {
            return false;
        }
        session.state().upgrading = true;
        session.wake.notify_waiters();
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(t))) if t == "5" => return true,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return false,
            }
        }
    };
    let upgraded = tokio::select! {
        _ = session.closed.cancelled() => false,
        r = tokio::time::timeout(engine.limits.upgrade_timeout, probe) => r.unwrap_or(false),
    };
    {
        let mut st = session.state();
        st.upgrading = false;
        if upgraded && st.close.is_none() {
            st.transport = Transport::WebSocket;
        } else {
            st.upgrade_claimed = false;
        }
    }
    // A poll still pending answers noop (upgraded) or goes on waiting (not upgraded).
    session.wake.notify_waiters();
    if !upgraded || session.is_closed() {
        let code = if session.close_reason() == Some(CloseReason::Shutdown) {
            CloseCode::Away
        } else {
            CloseCode::Normal
        };
        let _ = sink.send(Message::Close(Some((code, String::new())))).await;
        return;
    }
    serve_websocket(&app, &session, sink, stream).await;
}

/// The active WebSocket of a session: sends the queue, handles incoming packets, and on close
/// sends a close frame (1001 going away when the server stops) and waits briefly for the reply.
async fn serve_websocket<Si, St>(
    app: &AppState,
    session: &Arc<Session>,
    mut sink: Si,
    mut stream: St,
) where
    Si: futures_util::Sink<Message> + Unpin,
    St: futures_util::Stream<Item = std::io::Result<Message>> + Unpin,
{
    loop {
        let notified = session.wake.notified();
        if session.is_closed() {
            break;
        }
        let packets = session.drain();
        if !packets.is_empty() {
            let mut failed = false;
            for p in packets {
                if sink.feed(Message::Text(p.to_string())).await.is_err() {
                    failed = true;
                    break;
                }
            }
            if failed || sink.flush().await.is_err() {
                session.close(CloseReason::TransportClose);
                return;
            }
        }
        tokio::select! {
            _ = notified => {}
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => session.on_packet(app, &text).await,
                // No client of ours sends binary; WebSocket pings are answered by the library.
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    session.close(CloseReason::TransportClose);
                    return;
                }
            },
        }
    }
    let reason = session.close_reason();
    if reason == Some(CloseReason::TransportClose) {
        return;
    }
    let code = match reason {
        Some(CloseReason::Shutdown) => CloseCode::Away,
        Some(CloseReason::ParseError) => CloseCode::Protocol,
        Some(CloseReason::PayloadTooLarge) => CloseCode::Size,
        Some(CloseReason::Overflow) => CloseCode::Policy,
        _ => CloseCode::Normal,
    };
    if sink
        .send(Message::Close(Some((code, String::new()))))
        .await
        .is_err()
    {
        return;
    }
    // The closing handshake: wait (briefly) for the client's close frame.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> Limits {
        Limits {
            ping_interval: Duration::from_millis(50),
            ping_timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(60),
            max_sessions: 2,
            max_queued_packets: 3,
            ..Limits::default()
        }
    }

    async fn eventually(what: &str, check: impl Fn() -> bool) {
        for _ in 0..200 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what} did not happen");
    }

    #[tokio::test]
    async fn a_session_that_misses_its_pong_expires_and_one_that_answers_lives() {
        let engine = Engine::new(quick(), false);
        let silent = engine
            .open(Transport::Polling, Handshake::default())
            .unwrap();
        let lively = engine
            .open(Transport::Polling, Handshake::default())
            .unwrap();
        let pong = {
            let lively = lively.clone();
            tokio::spawn(async move {
                // Answers every ping, as a client would.
                while !lively.is_closed() {
                    if let Poll::Packets(body) = lively.poll().await
                        && body.split('\x1e').any(|p| p == protocol::PING)
                    {
                        lively.state().awaiting_pong = false;
                        lively.pong.notify_waiters();
                    }
                }
            })
        };
        eventually("the silent session's expiry", || silent.is_closed()).await;
        assert_eq!(silent.close_reason(), Some(CloseReason::PingTimeout));
        assert!(engine.session(&silent.sid).is_none());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!lively.is_closed(), "a session that answers pings stays");
        lively.close(CloseReason::ClientClose);
        pong.await.unwrap();
    }

    #[tokio::test]
    async fn pending_sessions_make_room_and_signed_in_ones_are_capped_apart() {
        let limits = Limits {
            max_sessions: 2,
            max_pending: 3,
            max_pending_per_address: 2,
            ..quick()
        };
        let engine = Engine::new(limits, false);
        let from = |last: u8| Handshake {
            address: IpAddr::from([10, 0, 0, last]),
            ..Handshake::default()
        };
        let open = |h: Handshake| engine.open(Transport::Polling, h).unwrap();
        let (a1, a2) = (open(from(1)), open(from(1)));
        // One address over its share: its own oldest goes.
        let a3 = open(from(1));
        assert_eq!(a1.close_reason(), Some(CloseReason::Displaced));
        assert!(!a2.is_closed());
        let b1 = open(from(2));
        // The pool over its total: the oldest of all goes.
        let b2 = open(from(2));
        assert_eq!(a2.close_reason(), Some(CloseReason::Displaced));
        assert_eq!((engine.pending_count(), engine.session_count()), (3, 3));

        // Signing in leaves the pending pool; the signed-in pool has its own cap.
        assert!(engine.admit(&a3));
        assert!(engine.admit(&b1));
        assert!(!engine.admit(&b2), "the signed-in pool is full");
        assert_eq!(engine.pending_count(), 1);
        a3.close(CloseReason::ClientClose);
        assert!(
            engine.admit(&b2),
            "a closed signed-in session frees its place"
        );
        // Any number of anonymous handshakes displaces pending sessions only.
        let flood: Vec<_> = (0..50).map(|_| open(from(3))).collect();
        assert!(!b1.is_closed() && !b2.is_closed());
        assert_eq!(engine.pending_count(), 2);
        assert_eq!(
            flood.iter().filter(|s| s.is_closed()).count(),
            48,
            "all but the address's share were displaced"
        );
        assert!(!engine.admit(&a1), "a displaced session cannot sign in");

        engine.shutdown(Duration::from_millis(100)).await;
        assert_eq!(b1.close_reason(), Some(CloseReason::Shutdown));
        assert_eq!(engine.session_count(), 0);
        assert!(matches!(
            engine.open(Transport::Polling, Handshake::default()),
            Err(OpenError::Stopping)
        ));
    }

    #[tokio::test]
    async fn a_slow_client_is_closed_instead_of_queueing_without_bound() {
        let engine = Engine::new(quick(), false);
        let s = engine
            .open(Transport::WebSocket, Handshake::default())
            .unwrap();
        for i in 0..3 {
            s.push(format!("4{i}").into());
        }
        assert!(!s.is_closed());
        s.push("4x".into());
        assert_eq!(s.close_reason(), Some(CloseReason::Overflow));
    }

    #[tokio::test]
    async fn a_long_poll_waits_for_packets_and_a_second_one_is_refused() {
        let engine = Engine::new(Limits::default(), false);
        let s = engine
            .open(Transport::Polling, Handshake::default())
            .unwrap();
        let first = tokio::spawn({
            let s = s.clone();
            async move {
                match s.poll().await {
                    Poll::Packets(body) => body,
                    _ => panic!("the first poll is served"),
                }
            }
        });
        eventually("the first poll pending", || s.state().get_pending).await;
        s.push("42[\"a\",1]".into());
        s.push("42[\"b\",2]".into());
        // Either both packets in one answer, or the first alone (the poll woke in between).
        let body = first.await.unwrap();
        assert!(body.starts_with("42[\"a\",1]"), "{body}");

        let pending = tokio::spawn({
            let s = s.clone();
            async move { s.poll().await }
        });
        eventually("the second poll pending", || s.state().get_pending).await;
        assert!(matches!(s.poll().await, Poll::Overlap));
        // The overlap ends the session; the pending poll answers with the close packet.
        match pending.await.unwrap() {
            Poll::Packets(body) => assert_eq!(body, protocol::CLOSE),
            _ => panic!("the pending poll is answered"),
        }
        assert_eq!(s.close_reason(), Some(CloseReason::Overlap));
    }

    #[tokio::test]
    async fn a_session_that_never_joins_the_namespace_is_closed() {
        let limits = Limits {
            connect_timeout: Duration::from_millis(50),
            ..Limits::default()
        };
        let engine = Engine::new(limits, false);
        let s = engine
            .open(Transport::Polling, Handshake::default())
            .unwrap();
        eventually("the connect timeout", || s.is_closed()).await;
        assert_eq!(s.close_reason(), Some(CloseReason::ConnectTimeout));
    }

    #[tokio::test]
    async fn a_user_over_the_socket_limit_has_the_oldest_socket_disconnected() {
        let limits = Limits {
            max_sockets_per_user: 1,
            ..Limits::default()
        };
        let engine = Engine::new(limits, false);
        let old = engine
            .open(Transport::Polling, Handshake::default())
            .unwrap();
        let new = engine
            .open(Transport::Polling, Handshake::default())
            .unwrap();
        old.state().socket = Some("s-old".into());
        assert!(
            engine
                .hub
                .register("s-old", Some("u1"), old.clone())
                .is_empty()
        );
        let evicted = engine.hub.register("s-new", Some("u1"), new.clone());
        new.state().socket = Some("s-new".into());
        for (id, session) in evicted {
            session.evict(&id);
        }
        assert_eq!(old.state().socket, None);
        assert_eq!(
            old.drain()
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>(),
            ["41"]
        );
        assert_eq!(engine.hub.of_user("u1").len(), 1);
        // Closing the evicted session does not unregister the new socket.
        old.close(CloseReason::ClientClose);
        assert_eq!(engine.hub.of_user("u1").len(), 1);
        new.close(CloseReason::ClientClose);
        assert!(engine.hub.is_empty());
    }
}
