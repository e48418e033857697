//! What the realtime unit tests share: waiting for something asynchronous, and an authenticator
//! that knows a fixed set of tokens (the real one needs the whole application; its rules are
//! tested through HTTP in tests/api/realtime.rs).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::authenticator::{Authenticator, Principal, Refusal};
use super::engine::{Engine, Limits};
use super::phase::Transport;
use super::session::{Handshake, Session};
use crate::clock::{SharedClock, TestClock};

/// A test clock, as the engine's: wall time a test may move.
pub fn clock() -> SharedClock {
    Arc::new(TestClock::new())
}

/// An engine with `limits` on a test clock (no legacy broadcast).
pub fn engine(limits: Limits) -> Arc<Engine> {
    Engine::new(limits, false, clock())
}

/// A session on `engine` over `transport`, opened with no handshake details.
pub fn session(engine: &Arc<Engine>, transport: Transport) -> Arc<Session> {
    engine.open(transport, Handshake::default()).unwrap()
}

pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen");
}

/// Accepts the tokens it was given; refuses any other with 401.
#[derive(Default)]
pub struct Tokens(HashMap<String, Principal>);

impl Tokens {
    /// `token` signs in `account` under `epoch`, valid for an hour.
    pub fn with(mut self, token: &str, account: &str, epoch: i64) -> Self {
        let expires_at = chrono::Utc::now().timestamp() + 3600;
        self.0.insert(
            token.to_owned(),
            Principal {
                account: account.to_owned(),
                epoch,
                expires_at,
            },
        );
        self
    }
}

#[async_trait::async_trait]
impl Authenticator for Tokens {
    fn token<'a>(&self, credential: &'a str) -> Option<&'a str> {
        Some(
            credential
                .strip_prefix("Bearer ")
                .unwrap_or(credential)
                .trim(),
        )
        .filter(|t| !t.is_empty())
    }

    async fn authenticate(&self, token: &str) -> Result<Principal, Refusal> {
        self.0.get(token).cloned().ok_or_else(|| Refusal {
            message: "The access token is not valid. Please log in again.".into(),
            status: 401,
        })
    }
}
