use std::time::Duration;

use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use super::{index, observe};
use crate::domain::{Id, Millis, Role};
use crate::store::{Consumed, RefreshToken, RefreshTokens, StoreError, StoreResult};

const REFRESH_TOKENS: &str = "refreshtokens";

#[derive(Serialize, Deserialize)]
struct TokenDoc {
    /// The keyed hash of the token: the primary key, so a lookup is one index probe.
    #[serde(rename = "_id")]
    hash: String,
    family: String,
    #[serde(rename = "accountId")]
    account_id: String,
    role: String,
    #[serde(rename = "expiresAt")]
    expires_at: DateTime,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "usedAt", default)]
    used_at: Option<DateTime>,
    #[serde(default)]
    revoked: bool,
}

impl TryFrom<TokenDoc> for RefreshToken {
    type Error = StoreError;
    fn try_from(d: TokenDoc) -> StoreResult<RefreshToken> {
        Ok(RefreshToken {
            account_id: Id::parse(&d.account_id)
                .map_err(|_| StoreError::backend("refresh token with a bad account id"))?,
            role: Role::parse(&d.role)
                .ok_or_else(|| StoreError::backend("refresh token with an unknown role"))?,
            hash: d.hash,
            family: d.family,
            expires_at: Millis(d.expires_at.timestamp_millis()),
            created_at: Millis(d.created_at.timestamp_millis()),
        })
    }
}

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    let coll = db.collection::<Document>(REFRESH_TOKENS);
    observe(
        "migrate",
        coll.create_indexes([
            index(doc! { "family": 1 }, "family", false),
            index(doc! { "accountId": 1 }, "account", false),
            // MongoDB deletes expired tokens by itself.
            IndexModel::builder()
                .keys(doc! { "expiresAt": 1 })
                .options(
                    IndexOptions::builder()
                        .name("expiry".to_owned())
                        .expire_after(Duration::ZERO)
                        .build(),
                )
                .build(),
        ]),
    )
    .await
    .map(drop)
}

pub(super) struct MongoRefreshTokens {
    coll: Collection<TokenDoc>,
}

impl MongoRefreshTokens {
    pub(super) fn new(db: &Database) -> Self {
        MongoRefreshTokens {
            coll: db.collection(REFRESH_TOKENS),
        }
    }
}

#[async_trait::async_trait]
impl RefreshTokens for MongoRefreshTokens {
    async fn insert(&self, t: &RefreshToken) -> StoreResult<()> {
        let d = TokenDoc {
            hash: t.hash.clone(),
            family: t.family.clone(),
            account_id: t.account_id.to_hex(),
            role: t.role.as_str().to_owned(),
            expires_at: DateTime::from_millis(t.expires_at.0),
            created_at: DateTime::from_millis(t.created_at.0),
            used_at: None,
            revoked: false,
        };
        observe("refresh_tokens.insert", self.coll.insert_one(d))
            .await
            .map(drop)
    }

    async fn consume(&self, hash: &str, now: Millis) -> StoreResult<Consumed> {
        let now_dt = DateTime::from_millis(now.0);
        // The conditional update is the single point where a token becomes used.
        let won = observe(
            "refresh_tokens.consume",
            self.coll.find_one_and_update(
                doc! { "_id": hash, "usedAt": null, "revoked": false, "expiresAt": { "$gt": now_dt } },
                doc! { "$set": { "usedAt": now_dt } },
            ),
        )
        .await?;
        if let Some(d) = won {
            return Ok(Consumed::Fresh(d.try_into()?));
        }
        let existing = observe(
            "refresh_tokens.consume",
            self.coll.find_one(doc! { "_id": hash }),
        )
        .await?;
        Ok(match existing {
            Some(d) if d.used_at.is_some() || d.revoked => Consumed::Reused(d.try_into()?),
            _ => Consumed::Invalid,
        })
    }

    async fn revoke_family(&self, family: &str) -> StoreResult<()> {
        observe(
            "refresh_tokens.revoke_family",
            self.coll.update_many(
                doc! { "family": family },
                doc! { "$set": { "revoked": true } },
            ),
        )
        .await
        .map(drop)
    }

    async fn revoke_account(&self, account_id: &Id) -> StoreResult<()> {
        observe(
            "refresh_tokens.revoke_account",
            self.coll.update_many(
                doc! { "accountId": account_id.to_hex() },
                doc! { "$set": { "revoked": true } },
            ),
        )
        .await
        .map(drop)
    }
}
