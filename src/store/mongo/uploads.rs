use mongodb::bson::{DateTime, Document, doc};
use mongodb::{Collection, Database};

use super::observe;
use crate::domain::{Id, Millis};
use crate::store::{StoreError, StoreResult, Uploads};

/// `{_id: <file name>, owner: ObjectId, createdAt}`: the name is the key, so a record is unique.
pub(super) struct MongoUploads {
    coll: Collection<Document>,
}

impl MongoUploads {
    pub(super) fn new(db: &Database) -> Self {
        MongoUploads {
            coll: db.collection("uploads"),
        }
    }
}

#[async_trait::async_trait]
impl Uploads for MongoUploads {
    async fn record(&self, name: &str, owner: &Id, at: Millis) -> StoreResult<()> {
        // Replaced whole (one document per name), as a `put` of the same name replaces the file.
        observe(
            "uploads.record",
            self.coll
                .replace_one(
                    doc! { "_id": name },
                    doc! {
                        "_id": name,
                        "owner": owner.to_object_id(),
                        "createdAt": DateTime::from_millis(at.0),
                    },
                )
                .upsert(true),
        )
        .await
        .map(drop)
    }

    async fn owner(&self, name: &str) -> StoreResult<Option<Id>> {
        let found = observe("uploads.owner", self.coll.find_one(doc! { "_id": name })).await?;
        found
            .map(|d| {
                d.get_object_id("owner")
                    .map(Id::from_object_id)
                    .map_err(|e| StoreError::backend(format!("upload {name}: owner {e}")))
            })
            .transpose()
    }

    async fn forget(&self, name: &str) -> StoreResult<()> {
        observe("uploads.forget", self.coll.delete_one(doc! { "_id": name }))
            .await
            .map(drop)
    }
}
