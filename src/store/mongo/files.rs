//! Uploaded files on MongoDB: GridFS bucket `images` (collections `images.files` and
//! `images.chunks`), so that every replica serves every upload. The content type is kept in the
//! file's `metadata.contentType`.
//!
//! Replacing a file: GridFS has no in-place overwrite; a second upload under a name is another
//! "revision". `put` uploads a new revision and then deletes every revision of the name older
//! than the newest, and `get` reads the newest; "newest" is the largest `_id` (not `uploadDate`,
//! which ties within a millisecond), so concurrent writers converge on one survivor and readers
//! never see a half-written file (GridFS writes the chunks before the file document).

use futures_util::{AsyncReadExt, AsyncWriteExt, TryStreamExt};
use mongodb::Database;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, doc};
use mongodb::error::{ErrorKind, GridFsErrorKind};
use mongodb::gridfs::{FilesCollectionDocument, GridFsBucket};
use mongodb::options::GridFsBucketOptions;

use super::observe;
use crate::store::files::{check_name, check_put};
use crate::store::{Files, StoreResult, StoredFile};

pub(super) const BUCKET: &str = "images";

pub(super) struct MongoFiles {
    bucket: GridFsBucket,
}

impl MongoFiles {
    pub(super) fn new(db: &Database) -> Self {
        let options = GridFsBucketOptions::builder()
            .bucket_name(BUCKET.to_owned())
            .build();
        MongoFiles {
            bucket: db.gridfs_bucket(options),
        }
    }

    /// The newest revision stored under `name`.
    async fn newest(&self, name: &str) -> mongodb::error::Result<Option<FilesCollectionDocument>> {
        self.bucket
            .find_one(doc! { "filename": name })
            .sort(doc! { "_id": -1 })
            .await
    }

    /// Deletes one revision; `false` when another request deleted it first.
    async fn delete_revision(&self, id: Bson) -> mongodb::error::Result<bool> {
        match self.bucket.delete(id).await {
            Ok(()) => Ok(true),
            Err(e) if file_not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn file_not_found(e: &mongodb::error::Error) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::GridFs(GridFsErrorKind::FileNotFound { .. })
    )
}

/// The GridFS streams report the driver's error inside an `io::Error`; take it back out so that an
/// outage is still `Unavailable`.
fn from_stream(e: std::io::Error) -> mongodb::error::Error {
    match e
        .into_inner()
        .map(|inner| inner.downcast::<mongodb::error::Error>())
    {
        Some(Ok(driver)) => *driver,
        Some(Err(other)) => mongodb::error::Error::custom(other.to_string()),
        None => mongodb::error::Error::custom("GridFS stream failed"),
    }
}

#[async_trait::async_trait]
impl Files for MongoFiles {
    async fn put(&self, name: &str, content_type: &str, bytes: Vec<u8>) -> StoreResult<()> {
        check_put(name, content_type)?;
        observe("files.put", async {
            let mut upload = self
                .bucket
                .open_upload_stream(name)
                .id(ObjectId::new().into())
                .metadata(doc! { "contentType": content_type })
                .await?;
            upload.write_all(&bytes).await.map_err(from_stream)?;
            upload.close().await.map_err(from_stream)?;
            // Older revisions of the name go; the newest (ours, or a concurrent writer's) stays.
            if let Some(newest) = self.newest(name).await? {
                let older: Vec<FilesCollectionDocument> = self
                    .bucket
                    .find(doc! { "filename": name, "_id": { "$lt": newest.id } })
                    .await?
                    .try_collect()
                    .await?;
                for file in older {
                    self.delete_revision(file.id).await?;
                }
            }
            Ok::<_, mongodb::error::Error>(())
        })
        .await
    }

    async fn get(&self, name: &str) -> StoreResult<Option<StoredFile>> {
        let implied = check_name(name)?;
        observe("files.get", async {
            let Some(file) = self.newest(name).await? else {
                return Ok(None);
            };
            let content_type = file
                .metadata
                .as_ref()
                .and_then(|m| m.get_str("contentType").ok())
                .unwrap_or(implied)
                .to_owned();
            let mut download = match self.bucket.open_download_stream(file.id).await {
                Ok(d) => d,
                // Deleted between the lookup and the download.
                Err(e) if file_not_found(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            let mut bytes = Vec::with_capacity(usize::try_from(file.length).unwrap_or(0));
            download
                .read_to_end(&mut bytes)
                .await
                .map_err(from_stream)?;
            Ok::<_, mongodb::error::Error>(Some(StoredFile {
                content_type,
                bytes,
            }))
        })
        .await
    }

    async fn delete(&self, name: &str) -> StoreResult<bool> {
        check_name(name)?;
        observe("files.delete", async {
            let revisions: Vec<FilesCollectionDocument> = self
                .bucket
                .find(doc! { "filename": name })
                .await?
                .try_collect()
                .await?;
            let mut deleted = false;
            for file in revisions {
                deleted |= self.delete_revision(file.id).await?;
            }
            Ok::<_, mongodb::error::Error>(deleted)
        })
        .await
    }
}
