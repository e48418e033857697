//! What the realtime server needs from the rest of the application, plugged in at the
//! composition root: `auth::principal`'s token check behind `realtime::Authenticator`, and the
//! client address as the HTTP middleware computes it. Kept out of `realtime/` so that realtime
//! imports no auth, HTTP or API code (no import cycle runs through it).

use std::sync::Arc;

use crate::auth::principal::{ALL_ROLES, TokenAuthenticator, bearer_value};
use crate::http::client_ip::client_ip;
use crate::realtime::{Authenticator, Principal, Refusal, SocketIo};
use crate::state::AppState;

/// Checks a socket's token exactly as the API checks a request's `Authorization`, for every role.
struct SocketAuthenticator(Arc<TokenAuthenticator>);

#[async_trait::async_trait]
impl Authenticator for SocketAuthenticator {
    fn token<'a>(&self, credential: &'a str) -> Option<&'a str> {
        Some(bearer_value(credential)).filter(|t| !t.is_empty())
    }

    async fn authenticate(&self, token: &str) -> Result<Principal, Refusal> {
        let principal = self
            .0
            .authenticate(token, ALL_ROLES)
            .await
            .map_err(|e| Refusal {
                message: e.to_string(),
                status: e.status(),
            })?;
        Ok(Principal {
            // The account was loaded by its id: the claim is a valid one.
            account: principal
                .claims
                .account_id()
                .map(|id| id.to_hex())
                .unwrap_or_default(),
            epoch: principal.claims.epoch,
            expires_at: principal.claims.exp,
        })
    }
}

/// The `/socket.io` endpoint of `state`'s realtime server.
pub fn endpoint(state: &AppState) -> SocketIo {
    let trusted = state.config.trusted_proxies.clone();
    state.realtime.endpoint(
        Arc::new(SocketAuthenticator(state.auth.authenticator.clone())),
        Arc::new(move |req| client_ip(req, &trusted)),
    )
}
