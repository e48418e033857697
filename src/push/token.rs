//! The OAuth access token for FCM: the assertion exchanged at the token endpoint
//! (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`), cached until shortly before it
//! expires. The cache's lock is held across the exchange, so concurrent senders wait for one
//! refresh instead of each starting their own.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;

use super::account::ServiceAccount;
use crate::clock::SharedClock;
use crate::domain::Millis;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A token is renewed this long before it expires (at most a quarter of its lifetime).
const RENEW_BEFORE: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token endpoint is unreachable: {0}")]
    Unreachable(String),
    #[error("the token endpoint answered {status}: {error}")]
    Refused { status: u16, error: String },
    #[error("{0}")]
    Assertion(String),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default = "default_expiry")]
    expires_in: u64,
}

fn default_expiry() -> u64 {
    3600
}

#[derive(Clone)]
struct Cached {
    token: Arc<str>,
    renew_at: Millis,
}

pub struct TokenSource {
    account: Arc<ServiceAccount>,
    token_uri: String,
    http: reqwest::Client,
    clock: SharedClock,
    cached: Mutex<Option<Cached>>,
}

impl TokenSource {
    pub fn new(
        account: Arc<ServiceAccount>,
        token_uri: String,
        http: reqwest::Client,
        clock: SharedClock,
    ) -> Self {
        TokenSource {
            account,
            token_uri,
            http,
            clock,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token: the cached one, or a fresh one (one exchange at a time).
    pub async fn get(&self) -> Result<Arc<str>, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| self.clock.now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.exchange().await?;
        *cached = Some(fresh.clone());
        Ok(fresh.token)
    }

    /// Forgets `token` (FCM refused it): the next `get` exchanges a new one.
    pub async fn invalidate(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &*c.token == token) {
            *cached = None;
        }
    }

    /// The exchange as a client span (`google-oauth` `token.exchange`) carrying the trace
    /// context; a failure marks it.
    async fn exchange(&self) -> Result<Cached, TokenError> {
        let span = crate::telemetry::client_span("google-oauth", "token.exchange");
        let result = tracing::Instrument::instrument(self.exchange_once(), span.clone()).await;
        if result.is_err() {
            crate::telemetry::mark_error(&span);
        }
        result
    }

    async fn exchange_once(&self) -> Result<Cached, TokenError> {
        let issued = self.clock.now();
        let assertion = self
            .account
            .assertion(&self.token_uri, issued.0.div_euclid(1000))
            .map_err(TokenError::Assertion)?;
        let request = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", &assertion)]);
        let res = crate::telemetry::propagation::send(request)
            .await
            .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
        let status = res.status();
        if !status.is_success() {
            // The body names the OAuth error (`invalid_grant`, ...); it holds no secret.
            let body = res.text().await.unwrap_or_default();
            let error = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "no OAuth error given".into());
            return Err(TokenError::Refused {
                status: status.as_u16(),
                error,
            });
        }
        let answer: TokenAnswer = res
            .json()
            .await
            .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
        let lifetime = Duration::from_secs(answer.expires_in);
        let early = RENEW_BEFORE.min(lifetime / 4);
        let renew_in = lifetime.saturating_sub(early);
        Ok(Cached {
            token: answer.access_token.into(),
            renew_at: Millis(issued.0 + renew_in.as_millis() as i64),
        })
    }
}
