use rusqlite::{OptionalExtension, params};

use super::Db;
use super::accounts::corrupt;
use crate::domain::{Id, Millis};
use crate::store::{StoreResult, Uploads};

pub(super) struct SqliteUploads {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Uploads for SqliteUploads {
    async fn record(&self, name: &str, owner: &Id, at: Millis) -> StoreResult<()> {
        let (name, owner) = (name.to_owned(), owner.clone());
        self.db
            .call("uploads.record", move |c| {
                c.execute(
                    "INSERT INTO uploads (name, owner, created_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, \
                     created_at = excluded.created_at",
                    params![name, owner.as_str(), at.0],
                )
                .map(drop)
            })
            .await
    }

    async fn owner(&self, name: &str) -> StoreResult<Option<Id>> {
        let name = name.to_owned();
        self.db
            .call("uploads.owner", move |c| {
                c.query_row("SELECT owner FROM uploads WHERE name = ?1", [name], |r| {
                    let raw: String = r.get(0)?;
                    Id::parse(&raw).map_err(|_| corrupt(0, "owner"))
                })
                .optional()
            })
            .await
    }

    async fn forget(&self, name: &str) -> StoreResult<()> {
        let name = name.to_owned();
        self.db
            .call("uploads.forget", move |c| {
                c.execute("DELETE FROM uploads WHERE name = ?1", [name])
                    .map(drop)
            })
            .await
    }
}
