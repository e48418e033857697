//! Uploaded files on MongoDB: GridFS bucket `images` (collections `images.files` and
//! `images.chunks`), so that every replica serves every upload. The content type is kept in the
//! file's `metadata.contentType`.
//!
//! Replacing a file: GridFS has no in-place overwrite; a second upload under a name is another
//! "revision". `put` uploads a new revision and then deletes every revision of the name older
//! than the newest, and `get` reads the newest; "newest" is the largest `_id` (not `uploadDate`,
//! which ties within a millisecond), so concurrent writers converge on one survivor and readers
//! never see a half-written file (the chunks are written before the file document). A download
//! racing the replacement of its own name can fail; names are random, so that is a caller's bug.
//!
//! Writing: the chunks and the file document are inserted here, in the GridFS spec's layout (so
//! the driver's download stream, `mongofiles` and other drivers read them), rather than through
//! the driver's upload stream. That stream creates its collections lazily with the `create`
//! command, which the test double (jongodb) lacks; the spec's indexes are instead created by
//! `migrate`, before the first upload, which real MongoDB is content with too.

use futures_util::{AsyncReadExt, TryStreamExt};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, Document, doc};
use mongodb::error::{ErrorKind, GridFsErrorKind};
use mongodb::gridfs::{FilesCollectionDocument, GridFsBucket};
use mongodb::options::GridFsBucketOptions;
use mongodb::{Collection, Database};

use super::{ensure_indexes, index, observe, unique_index};
use crate::domain::Millis;
use crate::store::files::{check_name, check_put, chunks};
use crate::store::{FileStream, Files, StoreResult, StoredFile};

const BUCKET: &str = "images";
/// The GridFS default: 255 KiB keeps a chunk well under the 16 MiB document limit.
const CHUNK_SIZE: usize = 255 * 1024;

pub(super) struct MongoFiles {
    bucket: GridFsBucket,
    files: Collection<Document>,
    chunks: Collection<Document>,
}

/// The indexes the GridFS spec asks for (the driver would create them on first upload).
pub(super) async fn migrate(db: &Database) -> StoreResult<()> {
    let files = index(
        doc! { "filename": 1, "uploadDate": 1 },
        "filename_1_uploadDate_1",
    );
    ensure_indexes(db, &format!("{BUCKET}.files"), [files]).await?;
    let chunks = unique_index(doc! { "files_id": 1, "n": 1 }, "files_id_1_n_1");
    ensure_indexes(db, &format!("{BUCKET}.chunks"), [chunks]).await?;
    Ok(())
}

impl MongoFiles {
    pub(super) fn new(db: &Database) -> Self {
        let options = GridFsBucketOptions::builder()
            .bucket_name(BUCKET.to_owned())
            .build();
        MongoFiles {
            bucket: db.gridfs_bucket(options),
            files: db.collection(&format!("{BUCKET}.files")),
            chunks: db.collection(&format!("{BUCKET}.chunks")),
        }
    }

    /// Writes one revision: chunks first, then the file document that makes it visible. A failure
    /// removes the chunks written so far, as the driver's upload stream does.
    async fn upload(
        &self,
        name: &str,
        content: &StoredFile,
        now: Millis,
    ) -> mongodb::error::Result<()> {
        let bytes = &content.bytes;
        let id = ObjectId::new();
        let chunks: Vec<Document> = bytes
            .chunks(CHUNK_SIZE)
            .zip(0i32..)
            .map(|(data, n)| {
                doc! {
                    "_id": ObjectId::new(),
                    "files_id": id,
                    "n": n,
                    "data": Binary { subtype: BinarySubtype::Generic, bytes: data.to_vec() },
                }
            })
            .collect();
        let file = doc! {
            "_id": id,
            "length": i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            "chunkSize": CHUNK_SIZE as i32,
            "uploadDate": super::date(now),
            "filename": name,
            "metadata": { "contentType": &content.content_type },
        };
        let written = async {
            if !chunks.is_empty() {
                self.chunks.insert_many(chunks).await?;
            }
            self.files.insert_one(file).await
        }
        .await;
        if let Err(e) = written {
            let _ = self.chunks.delete_many(doc! { "files_id": id }).await;
            return Err(e);
        }
        Ok(())
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

/// The GridFS download stream reports the driver's error inside an `io::Error`; take it back out
/// so that an outage is still `Unavailable`.
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
    async fn put(&self, name: &str, file: StoredFile, now: Millis) -> StoreResult<()> {
        check_put(name, &file)?;
        observe("files.put", async {
            self.upload(name, &file, now).await?;
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

    async fn open(&self, name: &str) -> StoreResult<Option<FileStream>> {
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
            let download = match self.bucket.open_download_stream(file.id).await {
                Ok(d) => d,
                // Deleted between the lookup and the download.
                Err(e) if file_not_found(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            Ok::<_, mongodb::error::Error>(Some(FileStream {
                content_type,
                length: file.length,
                chunks: chunks(download, |d, buf| Box::pin(d.read(buf))),
            }))
        })
        .await
    }

    async fn get(&self, name: &str) -> StoreResult<Option<StoredFile>> {
        let Some(file) = self.open(name).await? else {
            return Ok(None);
        };
        let mut chunks = file.chunks;
        let bytes = observe("files.read", async {
            let mut bytes = Vec::with_capacity(usize::try_from(file.length).unwrap_or(0));
            while let Some(chunk) = chunks.try_next().await.map_err(from_stream)? {
                bytes.extend_from_slice(&chunk);
            }
            Ok::<_, mongodb::error::Error>(bytes)
        })
        .await?;
        Ok(Some(StoredFile {
            content_type: file.content_type,
            bytes,
        }))
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
