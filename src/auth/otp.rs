//! The admin password-reset flow's short-lived secrets, kept in the cache (shared by replicas):
//! a 4-digit emailed code (3 minutes, 5 attempts, single use) and the reset token it buys
//! (5 minutes, single use). Both are stored only as keyed hashes.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::cache::{Cache, CacheError};
use crate::config::JwtConfig;
use crate::domain::Id;

pub const CODE_TTL: Duration = Duration::from_secs(3 * 60);
pub const RESET_TOKEN_TTL: Duration = Duration::from_secs(5 * 60);
pub const MAX_ATTEMPTS: u64 = 5;

#[derive(Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right code: it is now spent.
    Valid,
    /// Wrong code; the code stays valid until the attempts run out.
    Wrong,
    /// No code pending (never requested, expired, spent, or too many attempts).
    Expired,
}

pub struct OneTimeCodes {
    cache: Arc<dyn Cache>,
    key: Vec<u8>,
}

impl OneTimeCodes {
    pub fn new(cache: Arc<dyn Cache>, jwt: &JwtConfig) -> Self {
        // A key of its own, derived so that an OTP hash is useless as anything else.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(jwt.secret.expose_secret().as_bytes())
            .expect("HMAC takes any key length");
        mac.update(b"educoin/otp/v1");
        OneTimeCodes {
            cache,
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn digest(&self, parts: &[&str]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(b"\0");
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A fresh 4-digit code for `email`, replacing any pending one.
    pub async fn issue_code(&self, email: &str) -> Result<String, CacheError> {
        let code = format!("{:04}", rand::rng().random_range(0..10_000u32));
        self.cache.delete(&format!("otp:tries:{email}")).await?;
        self.cache
            .put(
                &format!("otp:code:{email}"),
                &self.digest(&[email, &code]),
                CODE_TTL,
            )
            .await?;
        Ok(code)
    }

    pub async fn check_code(&self, email: &str, code: &str) -> Result<CodeCheck, CacheError> {
        let code_key = format!("otp:code:{email}");
        let Some(stored) = self.cache.get(&code_key).await? else {
            return Ok(CodeCheck::Expired);
        };
        let tries = self
            .cache
            .hit(&format!("otp:tries:{email}"), CODE_TTL)
            .await?;
        if tries.count > MAX_ATTEMPTS {
            self.cache.delete(&code_key).await?;
            return Ok(CodeCheck::Expired);
        }
        let candidate = self.digest(&[email, code]);
        if !bool::from(candidate.as_bytes().ct_eq(stored.as_bytes())) {
            return Ok(CodeCheck::Wrong);
        }
        // Single use even when two requests race with the right code: only one `take` wins.
        match self.cache.take(&code_key).await? {
            Some(v) if bool::from(v.as_bytes().ct_eq(stored.as_bytes())) => Ok(CodeCheck::Valid),
            _ => Ok(CodeCheck::Expired),
        }
    }

    /// A single-use reset token for the admin `id`.
    pub async fn issue_reset_token(&self, id: &Id) -> Result<String, CacheError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        self.cache
            .put(
                &format!("reset:token:{}", self.digest(&[&token])),
                &id.to_hex(),
                RESET_TOKEN_TTL,
            )
            .await?;
        Ok(token)
    }

    /// The admin the token was issued for; the token is spent.
    pub async fn redeem_reset_token(&self, token: &str) -> Result<Option<Id>, CacheError> {
        let value = self
            .cache
            .take(&format!("reset:token:{}", self.digest(&[token])))
            .await?;
        Ok(value.and_then(|v| Id::parse(&v).ok()))
    }
}
