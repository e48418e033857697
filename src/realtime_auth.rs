//! What the realtime server needs from the rest of the application, plugged in at the
//! composition root: the API's token authentication behind `realtime::Authenticator`, and the
//! client address as the HTTP middleware computes it. Kept out of `realtime/` so that realtime
//! imports no HTTP or API code (no import cycle runs through it).

use std::sync::Arc;

use crate::app::AppState;
use crate::http::auth::{ALL_ROLES, authenticate_token, bearer_value};
use crate::http::middleware::client_ip;
use crate::realtime::{Authenticator, Principal, Refusal, SocketIo};

/// Checks a socket's token exactly as the API checks a request's `Authorization`, for every role.
pub struct TokenAuthenticator {
    state: AppState,
}

impl TokenAuthenticator {
    pub fn new(state: AppState) -> Self {
        TokenAuthenticator { state }
    }
}

#[async_trait::async_trait]
impl Authenticator for TokenAuthenticator {
    fn token<'a>(&self, credential: &'a str) -> Option<&'a str> {
        Some(bearer_value(credential)).filter(|t| !t.is_empty())
    }

    async fn authenticate(&self, token: &str) -> Result<Principal, Refusal> {
        match authenticate_token(&self.state, token, ALL_ROLES).await {
            Ok((_, claims)) => match claims.account_id() {
                Some(id) => Ok(Principal {
                    account: id.as_str().to_owned(),
                    epoch: claims.epoch,
                    expires_at: claims.exp,
                }),
                None => Err(Refusal {
                    message: "The access token is not valid. Please log in again.".into(),
                    status: 401,
                }),
            },
            Err(e) => Err(Refusal {
                message: e.to_string(),
                status: e.status().as_u16(),
            }),
        }
    }
}

/// The `/socket.io` endpoint of `state`'s realtime server.
pub fn endpoint(state: &AppState) -> SocketIo {
    let trusted = state.config.trusted_proxies.clone();
    state.realtime.endpoint(
        Arc::new(TokenAuthenticator::new(state.clone())),
        Arc::new(move |req| client_ip(req, &trusted)),
    )
}
