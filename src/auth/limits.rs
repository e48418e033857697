//! Brute-force limits on logins, counted in the cache so that every replica enforces the same
//! budget. Unlike the general rate limit these fail closed: when the cache is down, logins answer
//! 503 rather than letting guesses through unmetered.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::Cache;
use crate::config::RateLimitConfig;
use crate::http::ApiError;
use crate::ops::metrics;

/// What a login attempt is counted against.
#[derive(Clone, Debug)]
pub enum Key {
    /// Failed logins from one client address.
    AddressFailures(IpAddr),
    /// Failed logins on one account (an email).
    AccountFailures(String),
    /// Passcode attempts from one client address, failed or not.
    PasscodeAttempts(IpAddr),
    /// Failed passcode logins from anywhere.
    PasscodeFailures,
    /// Password-reset emails requested for one address (email).
    ResetRequests(String),
}

impl Key {
    fn cache_key(&self) -> String {
        match self {
            Key::AddressFailures(ip) => format!("login:fail:ip:{ip}"),
            Key::AccountFailures(email) => format!("login:fail:acct:{email}"),
            Key::PasscodeAttempts(ip) => format!("login:passcode:ip:{ip}"),
            Key::PasscodeFailures => "login:passcode:fail:global".to_owned(),
            Key::ResetRequests(email) => format!("reset:req:{email}"),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Key::AddressFailures(_) => "login_address",
            Key::AccountFailures(_) => "login_account",
            Key::PasscodeAttempts(_) => "passcode_address",
            Key::PasscodeFailures => "passcode_global",
            Key::ResetRequests(_) => "password_reset",
        }
    }
}

/// Password-reset emails per address per window: enough for a typo or two, not for mail bombing.
const RESET_REQUESTS: u64 = 3;

#[derive(Clone)]
pub struct LoginLimits {
    cache: Arc<dyn Cache>,
    config: RateLimitConfig,
}

impl LoginLimits {
    pub fn new(cache: Arc<dyn Cache>, config: RateLimitConfig) -> Self {
        LoginLimits { cache, config }
    }

    fn limit(&self, key: &Key) -> u64 {
        match key {
            Key::AddressFailures(_) => self.config.login_failures_per_address,
            Key::AccountFailures(_) => self.config.login_failures_per_account,
            Key::PasscodeAttempts(_) => self.config.passcode_attempts_per_address,
            Key::PasscodeFailures => self.config.passcode_failures_global,
            Key::ResetRequests(_) => RESET_REQUESTS,
        }
    }

    fn refuse(&self, key: &Key, retry_after: Duration) -> ApiError {
        metrics::get()
            .rate_limited
            .with_label_values(&[key.label()])
            .inc();
        ApiError::RateLimited { retry_after }
    }

    /// Refuses when any key has used up its budget.
    pub async fn check(&self, keys: &[Key]) -> Result<(), ApiError> {
        for key in keys {
            if let Some(w) = self.cache.peek(&key.cache_key()).await?
                && w.count >= self.limit(key)
            {
                return Err(self.refuse(key, w.resets_in));
            }
        }
        Ok(())
    }

    /// Counts one event on every key; refuses when that went over a budget.
    pub async fn count(&self, keys: &[Key]) -> Result<(), ApiError> {
        let mut refusal = None;
        for key in keys {
            let w = self
                .cache
                .hit(&key.cache_key(), self.config.login_window)
                .await?;
            if w.count > self.limit(key) && refusal.is_none() {
                refusal = Some(self.refuse(key, w.resets_in));
            }
        }
        refusal.map_or(Ok(()), Err)
    }

    /// Forgets an account's failures after it logged in.
    pub async fn clear(&self, key: &Key) -> Result<(), ApiError> {
        Ok(self.cache.delete(&key.cache_key()).await?)
    }
}
