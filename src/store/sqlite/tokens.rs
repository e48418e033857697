use rusqlite::{OptionalExtension, Row, params};

use super::accounts::corrupt;
use super::{Cached, Db};
use crate::domain::{Id, Millis, Role};
use crate::store::{Consumed, RefreshToken, RefreshTokens, StoreResult};

const COLUMNS: &str = "hash, family, account_id, role, expires_at, created_at, used_at, revoked";

/// The token, and whether it was already used or revoked.
fn from_row(row: &Row<'_>) -> rusqlite::Result<(RefreshToken, bool)> {
    let role: String = row.get(3)?;
    let used_at: Option<i64> = row.get(6)?;
    let revoked: i64 = row.get(7)?;
    Ok((
        RefreshToken {
            hash: row.get(0)?,
            family: row.get(1)?,
            account_id: row.get(2)?,
            role: Role::parse(&role).ok_or_else(|| corrupt(3, "role"))?,
            expires_at: Millis(row.get(4)?),
            created_at: Millis(row.get(5)?),
        },
        used_at.is_some() || revoked != 0,
    ))
}

pub(super) struct SqliteRefreshTokens {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl RefreshTokens for SqliteRefreshTokens {
    async fn insert(&self, t: &RefreshToken) -> StoreResult<()> {
        let t = t.clone();
        self.db
            .write("refresh_tokens.insert", move |c| {
                // Expired tokens are useless: sweep them while we are writing anyway (the new
                // token's creation is the caller's now).
                c.exec("DELETE FROM refresh_tokens WHERE expires_at < ?1", [t.created_at])?;
                c.exec(
                    "INSERT INTO refresh_tokens (hash, family, account_id, role, expires_at, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        t.hash, t.family, t.account_id, t.role, t.expires_at, t.created_at
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn consume(&self, hash: &str, now: Millis) -> StoreResult<Consumed> {
        let hash = hash.to_owned();
        self.db
            .write("refresh_tokens.consume", move |c| {
                let tx = c.transaction()?;
                // The conditional update is the single point where a token becomes used.
                let won = tx.exec(
                    "UPDATE refresh_tokens SET used_at = ?2 \
                     WHERE hash = ?1 AND used_at IS NULL AND revoked = 0 AND expires_at > ?2",
                    params![hash, now],
                )? == 1;
                let row = tx
                    .one(
                        &format!("SELECT {COLUMNS} FROM refresh_tokens WHERE hash = ?1"),
                        [&hash],
                        from_row,
                    )
                    .optional()?;
                tx.commit()?;
                Ok(match row {
                    Some((token, _)) if won => Consumed::Fresh(token),
                    Some((token, true)) => Consumed::Reused(token),
                    _ => Consumed::Invalid,
                })
            })
            .await
    }

    async fn revoke_family(&self, family: &str) -> StoreResult<()> {
        let sql = "UPDATE refresh_tokens SET revoked = 1 WHERE family = ?1";
        let op = "refresh_tokens.revoke_family";
        self.db.execute(op, sql, [family.to_owned()]).await?;
        Ok(())
    }

    async fn revoke_account(&self, account_id: &Id) -> StoreResult<()> {
        let sql = "UPDATE refresh_tokens SET revoked = 1 WHERE account_id = ?1";
        let op = "refresh_tokens.revoke_account";
        self.db.execute(op, sql, [account_id.clone()]).await?;
        Ok(())
    }
}
