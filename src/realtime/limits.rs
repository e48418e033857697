//! The protocol limits of the realtime server (docs/decisions.md, "Realtime" and "Socket.IO
//! handshake floods"); the three session caps come from the configuration.

use std::time::Duration;

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
