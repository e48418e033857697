//! Push devices and the push outbox on SQLite. The outbox row is inserted in the notification's
//! own transaction, so a stored notification always has its push queued.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, params};

use super::notifications::NOTIFICATIONS;
use super::{Cached, Db};
use crate::domain::notification::Notification;
use crate::domain::{Id, Millis};
use crate::store::{Device, Lease, OutboxRow, OutboxState, Platform, Push, StoreResult};

pub(super) struct SqlitePush {
    pub(super) db: Db,
}

/// The notification's columns (as `NOTIFICATIONS` reads them), then the outbox's.
const ROW: &str = "SELECT n.id, n.recipient, n.role, n.type, n.message, n.read, n.created_at, \
     n.updated_at, n.version, o.state, o.attempts, o.due_at, o.lease_owner, o.lease_until, o.sent_to \
     FROM push_outbox o JOIN notifications n ON n.id = o.id";

fn bad(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, what.to_owned().into())
}

fn outbox_row(row: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    let notification: Notification = (NOTIFICATIONS.from_row)(row)?;
    let state: String = row.get(9)?;
    let sent_to: String = row.get(14)?;
    Ok(OutboxRow {
        notification,
        state: OutboxState::parse(&state).ok_or_else(|| bad(9, "unexpected outbox state"))?,
        attempts: row.get(10)?,
        due_at: row.get(11)?,
        lease_owner: row.get(12)?,
        lease_until: row.get(13)?,
        sent_to: serde_json::from_str(&sent_to).map_err(|_| bad(14, "unexpected sent_to"))?,
    })
}

fn device(row: &Row<'_>) -> rusqlite::Result<Device> {
    let platform: String = row.get(2)?;
    Ok(Device {
        token: row.get(0)?,
        account: row.get(1)?,
        platform: Platform::parse(&platform).ok_or_else(|| bad(2, "unexpected platform"))?,
        registered_at: row.get(3)?,
    })
}

#[async_trait::async_trait]
impl Push for SqlitePush {
    async fn register(&self, d: &Device, max_per_account: usize) -> StoreResult<()> {
        let d = d.clone();
        self.db
            .write("push.register", move |c| {
                let tx = c.transaction()?;
                // The token is unique: registering it again moves it (a shared tablet changes hands).
                tx.exec(
                    "INSERT INTO push_devices (token, account, platform, registered_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (token) DO UPDATE SET \
                     account = excluded.account, platform = excluded.platform, \
                     registered_at = excluded.registered_at",
                    params![d.token, d.account, d.platform.as_str(), d.registered_at],
                )?;
                // Keep the newest `max` of the account (the one just registered among them).
                tx.exec(
                    "DELETE FROM push_devices WHERE account = ?1 AND token != ?3 AND token NOT IN \
                     (SELECT token FROM push_devices WHERE account = ?1 AND token != ?3 \
                      ORDER BY registered_at DESC, rowid DESC LIMIT ?2)",
                    params![d.account, max_per_account.saturating_sub(1) as i64, d.token],
                )?;
                tx.commit()
            })
            .await
    }

    async fn unregister(&self, account: &Id, token: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM push_devices WHERE account = ?1 AND token = ?2";
        let params = (account.clone(), token.to_owned());
        Ok(self.db.execute("push.unregister", sql, params).await? > 0)
    }

    async fn forget_token(&self, token: &str) -> StoreResult<()> {
        let sql = "DELETE FROM push_devices WHERE token = ?1";
        let params = [token.to_owned()];
        self.db.execute("push.forget_token", sql, params).await?;
        Ok(())
    }

    async fn forget_account(&self, account: &Id) -> StoreResult<u64> {
        let sql = "DELETE FROM push_devices WHERE account = ?1";
        let params = [account.clone()];
        let forgotten = self.db.execute("push.forget_account", sql, params).await?;
        Ok(forgotten as u64)
    }

    async fn devices_of(&self, account: &Id) -> StoreResult<Vec<Device>> {
        self.db
            .read("push.devices_of", |c| {
                c.all(
                    "SELECT token, account, platform, registered_at FROM push_devices \
                     WHERE account = ?1 ORDER BY registered_at, rowid",
                    [account],
                    device,
                )
            })
            .await
    }

    async fn insert_with_outbox(&self, n: &Notification) -> StoreResult<()> {
        let n = n.clone();
        self.db
            .write("push.insert_with_outbox", move |c| {
                let tx = c.transaction()?;
                NOTIFICATIONS.insert_with(&tx, &n)?;
                tx.exec(
                    "INSERT INTO push_outbox (id, recipient, created_at, state, due_at) \
                     VALUES (?1, ?2, ?3, 'pending', ?3)",
                    params![n.id, n.recipient, n.created_at],
                )?;
                tx.commit()
            })
            .await
    }

    async fn pending(&self, limit: u64) -> StoreResult<Vec<OutboxRow>> {
        self.db
            .scan("push.pending", move |c| {
                c.all(
                    &format!(
                        "{ROW} WHERE o.state = 'pending' ORDER BY o.created_at, o.id LIMIT ?1"
                    ),
                    [limit as i64],
                    outbox_row,
                )
            })
            .await
    }

    async fn claim(&self, lease: &Lease<'_>, now: Millis, until: Millis) -> StoreResult<bool> {
        let sql = "UPDATE push_outbox SET lease_owner = ?2, lease_until = ?4 \
             WHERE id = ?1 AND state = 'pending' AND due_at <= ?3 AND lease_until <= ?3";
        let params = (lease.id.clone(), lease.owner.to_owned(), now, until);
        Ok(self.db.execute("push.claim", sql, params).await? == 1)
    }

    async fn record_sent(&self, lease: &Lease<'_>, sent_to: &[String]) -> StoreResult<bool> {
        let sql = "UPDATE push_outbox SET sent_to = ?3 WHERE id = ?1 AND lease_owner = ?2";
        let sent_to = serde_json::to_string(sent_to).unwrap_or_else(|_| "[]".into());
        let params = (lease.id.clone(), lease.owner.to_owned(), sent_to);
        Ok(self.db.execute("push.record_sent", sql, params).await? == 1)
    }

    async fn finish(&self, lease: &Lease<'_>, state: OutboxState) -> StoreResult<bool> {
        let sql = "UPDATE push_outbox SET state = ?3, lease_owner = NULL, lease_until = 0 \
             WHERE id = ?1 AND lease_owner = ?2 AND state = 'pending'";
        let params = (lease.id.clone(), lease.owner.to_owned(), state.as_str());
        Ok(self.db.execute("push.finish", sql, params).await? == 1)
    }

    async fn retry_at(&self, lease: &Lease<'_>, attempts: u32, due: Millis) -> StoreResult<bool> {
        let sql = "UPDATE push_outbox SET attempts = ?3, due_at = ?4, lease_owner = NULL, \
             lease_until = 0 WHERE id = ?1 AND lease_owner = ?2 AND state = 'pending'";
        let params = (lease.id.clone(), lease.owner.to_owned(), attempts, due);
        Ok(self.db.execute("push.retry_at", sql, params).await? == 1)
    }

    async fn release_all(&self, owner: &str) -> StoreResult<u64> {
        let sql = "UPDATE push_outbox SET lease_owner = NULL, lease_until = 0 \
             WHERE lease_owner = ?1 AND state = 'pending'";
        let params = [owner.to_owned()];
        let released = self.db.execute("push.release_all", sql, params).await?;
        Ok(released as u64)
    }

    async fn depth(&self) -> StoreResult<(u64, Option<Millis>)> {
        self.db
            .scan("push.depth", |c| {
                c.one(
                    "SELECT COUNT(*), MIN(created_at) FROM push_outbox WHERE state = 'pending'",
                    [],
                    |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Option<Millis>>(1)?)),
                )
            })
            .await
    }

    async fn outbox_row(&self, id: &Id) -> StoreResult<Option<OutboxRow>> {
        self.db
            .read("push.outbox_row", |c| {
                c.one(&format!("{ROW} WHERE o.id = ?1"), [id], outbox_row)
                    .optional()
            })
            .await
    }
}
