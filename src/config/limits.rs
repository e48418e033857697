//! The limits that keep one client or one flood from starving the others: request and login rates,
//! Socket.IO sessions, HTTP connections.

use std::time::Duration;

use super::settings::Settings;

#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    pub window: Duration,
    pub max_requests: u64,
    /// The window of the login limits below.
    pub login_window: Duration,
    /// Failed logins from one address (any account) before it must wait.
    pub login_failures_per_address: u64,
    /// Failed logins on one account (any address) before it must wait.
    pub login_failures_per_account: u64,
    /// Past the address budget, one password attempt per this period (slowed, not shut out).
    pub login_slow_down: Duration,
    /// Failed passcode logins from one address (an IPv6 /64) per window.
    pub passcode_failures_per_address: u64,
    /// Failed passcode logins from one network (IPv4 /24, IPv6 /48) per window.
    pub passcode_failures_per_network: u64,
    /// Past the passcode address budget, one attempt per this period.
    pub passcode_slow_down: Duration,
    /// Failed passcode logins across all addresses per window; past it, only addresses with no
    /// failure in the window are checked (docs/decisions.md, "Brute-force limits").
    pub passcode_failures_global: u64,
    /// Teacher sign-ups from one address per login window (each costs an argon2 hash).
    pub signups_per_address: u64,
    /// How long a request waits for a password-hashing slot before it is answered 503.
    pub hash_queue_wait: Duration,
    /// Payment intents from one address per login window (the public payment route).
    pub payment_intents_per_address: u64,
    /// Payment intents toward one project per login window.
    pub payment_intents_per_project: u64,
}

/// Socket.IO session caps per process (docs/decisions.md, "Socket.IO handshake floods").
#[derive(Clone, Debug)]
pub struct RealtimeSessionsConfig {
    /// Sessions whose socket has signed in.
    pub max_sessions: usize,
    /// Sessions that have not signed in yet, from all addresses; beyond it the oldest is dropped.
    pub max_pending: usize,
    /// Sessions that have not signed in yet, from one client address; beyond it that address's
    /// oldest is dropped.
    pub max_pending_per_address: usize,
}

/// Limits on every HTTP connection (`src/http/server.rs`; why these figures: `docs/decisions.md`).
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// How long a connection may wait for its next request, and take to send a request head.
    pub idle_timeout: Duration,
    /// How long a request body may stall, or a response wait for the client to read it.
    pub io_timeout: Duration,
    /// Open connections (WebSockets included); more wait in the kernel's backlog.
    pub max_connections: usize,
}

/// Zero would stop every connection or session; one is the least that works. Applied to the
/// settings themselves, so that the listing shows what is in force.
pub(super) fn at_least_one(s: &mut Settings) {
    s.http_idle_timeout = s.http_idle_timeout.max(Duration::from_secs(1));
    s.http_io_timeout = s.http_io_timeout.max(Duration::from_secs(1));
    s.max_connections = s.max_connections.max(1);
    s.realtime_max_sessions = s.realtime_max_sessions.max(1);
    s.realtime_max_pending_sessions = s.realtime_max_pending_sessions.max(1);
    s.realtime_max_pending_per_address = s.realtime_max_pending_per_address.max(1);
}

pub(super) fn rate_limit(s: &Settings) -> RateLimitConfig {
    RateLimitConfig {
        window: s.rate_limit_window,
        max_requests: s.rate_limit_max_requests,
        login_window: s.login_rate_limit_window,
        login_failures_per_address: s.login_rate_limit_max_failures,
        login_failures_per_account: s.login_rate_limit_max_account_failures,
        login_slow_down: s.login_rate_limit_slow_down,
        passcode_failures_per_address: s.passcode_rate_limit_max_attempts,
        passcode_failures_per_network: s.passcode_rate_limit_max_network_failures,
        passcode_slow_down: s.passcode_rate_limit_slow_down,
        passcode_failures_global: s.passcode_rate_limit_max_failures,
        signups_per_address: s.signup_rate_limit_max,
        hash_queue_wait: s.password_hash_queue_wait,
        payment_intents_per_address: s.payment_rate_limit_per_address.max(1),
        payment_intents_per_project: s.payment_rate_limit_per_project.max(1),
    }
}

pub(super) fn http(s: &Settings) -> HttpLimits {
    HttpLimits {
        idle_timeout: s.http_idle_timeout,
        io_timeout: s.http_io_timeout,
        max_connections: s.max_connections,
    }
}

pub(super) fn realtime_sessions(s: &Settings) -> RealtimeSessionsConfig {
    RealtimeSessionsConfig {
        max_sessions: s.realtime_max_sessions,
        max_pending: s.realtime_max_pending_sessions,
        max_pending_per_address: s.realtime_max_pending_per_address,
    }
}
