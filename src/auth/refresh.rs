//! Refresh tokens: opaque, random, stored only as an HMAC keyed with `JWT_REFRESH_SECRET`, rotated on
//! every use. Presenting a token that was already used means two parties hold it (one stole it), so
//! the whole family from that login is revoked and both must log in again (OAuth 2.0 Security BCP).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::ExposeSecret;

use crate::clock::SharedClock;
use crate::config::JwtConfig;
use crate::domain::passcode::hmac_hex;
use crate::domain::{Id, Millis, Role};
use crate::store::{Consumed, RefreshToken, RefreshTokens, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the refresh token is not valid or has expired")]
    Invalid,
    #[error("the refresh token was already used; every session of this login was ended")]
    Reused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Rotated {
    pub token: String,
    pub account_id: Id,
    pub role: Role,
    /// The login it belongs to, for `revoke_family` when the account may no longer sign in.
    pub family: String,
}

pub struct RefreshTokensService {
    store: Arc<dyn RefreshTokens>,
    key: Vec<u8>,
    ttl: Duration,
    clock: SharedClock,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl RefreshTokensService {
    pub fn new(store: Arc<dyn RefreshTokens>, config: &JwtConfig, clock: SharedClock) -> Self {
        RefreshTokensService {
            store,
            key: config.refresh_secret.expose_secret().as_bytes().to_vec(),
            ttl: config.refresh_expires_in,
            clock,
        }
    }

    fn hash(&self, token: &str) -> String {
        hmac_hex(&self.key, token.as_bytes())
    }

    /// A new token: of a new family at login, of the same family on rotation.
    pub async fn issue(
        &self,
        account_id: &Id,
        role: Role,
        family: Option<String>,
    ) -> Result<String, StoreError> {
        let token = random_token();
        let now = self.clock.now();
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        self.store
            .insert(&RefreshToken {
                hash: self.hash(&token),
                family: family.unwrap_or_else(random_token),
                account_id: account_id.clone(),
                role,
                expires_at: Millis(now.0.saturating_add(ttl_ms)),
                created_at: now,
            })
            .await?;
        Ok(token)
    }

    /// Uses `presented` once and returns its successor.
    pub async fn rotate(&self, presented: &str) -> Result<Rotated, RefreshError> {
        match self
            .store
            .consume(&self.hash(presented), self.clock.now())
            .await?
        {
            Consumed::Fresh(old) => {
                let token = self
                    .issue(&old.account_id, old.role, Some(old.family.clone()))
                    .await?;
                Ok(Rotated {
                    token,
                    account_id: old.account_id,
                    role: old.role,
                    family: old.family,
                })
            }
            Consumed::Reused(old) => {
                tracing::warn!(account = %old.account_id, "refresh token reused; revoking its family");
                self.store.revoke_family(&old.family).await?;
                Err(RefreshError::Reused)
            }
            Consumed::Invalid => Err(RefreshError::Invalid),
        }
    }

    /// Logout: ends every token of the presented one's family. Unknown tokens are ignored, so
    /// logout always succeeds.
    /// Returns the token's account when it was one of ours (its devices stop receiving push).
    pub async fn revoke(&self, presented: &str) -> Result<Option<Id>, StoreError> {
        match self
            .store
            .consume(&self.hash(presented), self.clock.now())
            .await?
        {
            Consumed::Fresh(t) | Consumed::Reused(t) => {
                self.store.revoke_family(&t.family).await?;
                Ok(Some(t.account_id))
            }
            Consumed::Invalid => Ok(None),
        }
    }

    /// Ends every token of one login (its account was blocked or removed meanwhile).
    pub async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        self.store.revoke_family(family).await
    }

    pub async fn revoke_account(&self, account_id: &Id) -> Result<(), StoreError> {
        self.store.revoke_account(account_id).await
    }
}
