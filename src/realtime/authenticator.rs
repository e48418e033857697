//! The port through which a Socket.IO CONNECT is authenticated. Realtime knows tokens only as
//! strings; what a token means (signature, expiry, account, role) is the API's rule, implemented
//! outside this module (`crate::realtime_auth`), so that realtime depends on no HTTP or API code
//! and its connect path can be tested with any authenticator.

/// Who a socket's token authenticated, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The account id; events addressed to it reach the socket.
    pub account: String,
    /// The token's epoch: a revocation ends the sockets of older epochs.
    pub epoch: i64,
    /// The token's `exp`, in seconds since the Unix epoch: the socket ends then.
    pub expires_at: i64,
}

/// Why a token was refused, as the client's `connect_error` shows it (`err.message`,
/// `err.data.status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    /// The HTTP status the API would answer for the same token (400, 401, 403).
    pub status: u16,
}

#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    /// The token in a credential as a client sends it (`Bearer <token>` or the bare token);
    /// `None` when it holds none, so that the next source is tried.
    fn token<'a>(&self, credential: &'a str) -> Option<&'a str>;

    async fn authenticate(&self, token: &str) -> Result<Principal, Refusal>;
}
