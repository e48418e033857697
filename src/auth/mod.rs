//! Who is calling: tokens, passwords, passcodes, login limits, and one-time codes.

pub mod google;
pub mod limits;
pub mod otp;
pub mod passwords;
pub mod refresh;
pub mod tokens;

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::cache::Cache;
use crate::config::Config;
use crate::domain::passcode::PasscodeCipher;
use crate::store::Store;

/// Everything the handlers need to authenticate people, built once from the configuration.
pub struct Auth {
    pub access: tokens::AccessTokens,
    pub refresh: refresh::RefreshTokensService,
    pub passwords: passwords::Passwords,
    pub passcodes: PasscodeCipher,
    pub limits: limits::LoginLimits,
    pub otp: otp::OneTimeCodes,
    pub google: google::GoogleVerifier,
}

impl Auth {
    pub fn new(config: &Config, store: &Store, cache: Arc<dyn Cache>) -> anyhow::Result<Self> {
        Ok(Auth {
            access: tokens::AccessTokens::new(&config.jwt),
            refresh: refresh::RefreshTokensService::new(store.refresh_tokens.clone(), &config.jwt),
            passwords: passwords::Passwords::new(config.rate_limit.hash_queue_wait),
            passcodes: PasscodeCipher::from_hex_key(config.passcode_key.expose_secret())?,
            limits: limits::LoginLimits::new(cache.clone(), config.rate_limit.clone()),
            otp: otp::OneTimeCodes::new(cache, &config.jwt),
            google: google::GoogleVerifier::new(&config.google),
        })
    }
}
