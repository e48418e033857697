use std::time::Duration;

use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

use super::collections::REFRESH_TOKENS;
use super::{Documents, document, index, observe};
use crate::domain::{Id, Millis};
use crate::store::rows::shared_rows;
use crate::store::{Consumed, RefreshToken, RefreshTokens, StoreResult};

document! {
    struct TokenDoc for RefreshToken {
        /// The keyed hash of the token: the primary key, so a lookup is one index probe.
        hash as "_id": String,
        family: String,
        account_id as "accountId": String,
        role: String,
        expires_at as "expiresAt": DateTime,
        created_at as "createdAt": DateTime,
    }
    stored only {
        #[serde(default)]
        used_at as "usedAt": Option<DateTime> = |_| None,
        #[serde(default)]
        revoked: bool = |_| false,
    }
}

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    let coll = db.collection::<Document>(REFRESH_TOKENS);
    observe(
        "migrate",
        coll.create_indexes([
            index(doc! { "family": 1 }, "family"),
            index(doc! { "accountId": 1 }, "account"),
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
    docs: Documents<TokenDoc, RefreshToken>,
}

impl MongoRefreshTokens {
    pub(super) fn new(db: &Database) -> Self {
        MongoRefreshTokens {
            docs: Documents::new(db, REFRESH_TOKENS),
        }
    }

    async fn revoke(&self, op: &'static str, filter: Document) -> StoreResult<()> {
        let revoked = doc! { "$set": { "revoked": true } };
        observe(op, self.docs.raw().update_many(filter, revoked))
            .await
            .map(drop)
    }
}

#[async_trait::async_trait]
impl RefreshTokens for MongoRefreshTokens {
    shared_rows!(docs docs, RefreshToken, "refresh_tokens": insert);

    async fn consume(&self, hash: &str, now: Millis) -> StoreResult<Consumed> {
        const OP: &str = "refresh_tokens.consume";
        let now_dt = DateTime::from_millis(now.0);
        // The conditional update is the single point where a token becomes used: a gate, so that
        // of racing refreshes exactly one wins (reuse detection depends on it).
        let unused = doc! { "usedAt": null, "revoked": false, "expiresAt": { "$gt": now_dt } };
        let used = doc! { "$set": { "usedAt": now_dt } };
        if let Some(d) = self.docs.gate(OP, hash, unused, used).await? {
            return Ok(Consumed::Fresh(d.try_into()?));
        }
        let existing = observe(OP, self.docs.raw().find_one(doc! { "_id": hash })).await?;
        Ok(match existing {
            Some(d) if d.used_at.is_some() || d.revoked => Consumed::Reused(d.try_into()?),
            _ => Consumed::Invalid,
        })
    }

    async fn revoke_family(&self, family: &str) -> StoreResult<()> {
        self.revoke("refresh_tokens.revoke_family", doc! { "family": family })
            .await
    }

    async fn revoke_account(&self, account_id: &Id) -> StoreResult<()> {
        let filter = doc! { "accountId": account_id.to_hex() };
        self.revoke("refresh_tokens.revoke_account", filter).await
    }
}
