//! Who is calling: tokens, passwords, passcodes, login limits, and one-time codes.

pub mod google;
pub mod limits;
pub mod otp;
pub mod passwords;
pub mod principal;
pub mod refresh;
pub mod tokens;

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::cache::Cache;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::passcode::PasscodeCipher;
use crate::store::Store;

/// Everything the handlers need to authenticate people, built once from the configuration.
pub struct Auth {
    pub access: Arc<tokens::AccessTokens>,
    /// Bearer token → account, for the HTTP extractor and the Socket.IO handshake.
    pub authenticator: Arc<principal::TokenAuthenticator>,
    pub refresh: refresh::RefreshTokensService,
    pub passwords: passwords::Passwords,
    pub passcodes: PasscodeCipher,
    pub limits: limits::LoginLimits,
    pub otp: otp::OneTimeCodes,
    pub google: google::GoogleVerifier,
}

impl Auth {
    pub fn new(
        config: &Config,
        store: &Store,
        cache: Arc<dyn Cache>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let access = Arc::new(tokens::AccessTokens::new(&config.jwt, clock.clone()));
        Ok(Auth {
            authenticator: Arc::new(principal::TokenAuthenticator::new(
                access.clone(),
                store.clone(),
            )),
            access,
            refresh: refresh::RefreshTokensService::new(
                store.refresh_tokens.clone(),
                &config.jwt,
                clock.clone(),
            ),
            passwords: passwords::Passwords::new(config.rate_limit.hash_queue_wait),
            passcodes: PasscodeCipher::from_hex_key(config.passcode_key.expose_secret())?,
            limits: limits::LoginLimits::new(cache.clone(), config.rate_limit.clone()),
            otp: otp::OneTimeCodes::new(cache, &config.jwt),
            google: google::GoogleVerifier::new(&config.google, clock),
        })
    }
}
