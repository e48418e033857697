use rusqlite::{OptionalExtension, params};

use super::{Cached, Db};
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
            .write("uploads.record", move |c| {
                c.exec(
                    "INSERT INTO uploads (name, owner, created_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, \
                     created_at = excluded.created_at",
                    params![name, owner, at],
                )
                .map(drop)
            })
            .await
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
        let name = name.to_owned();
        self.db
            .write("uploads.forget", move |c| {
                c.exec("DELETE FROM uploads WHERE name = ?1", [name])
                    .map(drop)
            })
            .await
    }
}
