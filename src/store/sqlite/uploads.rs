use rusqlite::OptionalExtension;

use super::{Cached, Db};
use crate::domain::{Id, Millis};
use crate::store::{StoreResult, Uploads};

pub(super) struct SqliteUploads {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Uploads for SqliteUploads {
    async fn record(&self, name: &str, owner: &Id, at: Millis) -> StoreResult<()> {
        let sql = "INSERT INTO uploads (name, owner, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, created_at = excluded.created_at";
        let params = (name.to_owned(), owner.clone(), at);
        self.db.execute("uploads.record", sql, params).await?;
        Ok(())
    }

    async fn owner(&self, name: &str) -> StoreResult<Option<Id>> {
        let name = name.to_owned();
        self.db
            .read("uploads.owner", move |c| {
                c.one("SELECT owner FROM uploads WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()
            })
            .await
    }

    async fn forget(&self, name: &str) -> StoreResult<()> {
        let sql = "DELETE FROM uploads WHERE name = ?1";
        let params = [name.to_owned()];
        self.db.execute("uploads.forget", sql, params).await?;
        Ok(())
    }
}
