//! The uploaded-files contract: the filesystem (SQLite backend) and GridFS (MongoDB) behave the
//! same behind `Files`. Semantics are documented in `src/store/files.rs`.

use educoin::config::DatabaseConfig;
use educoin::domain::Millis;
use educoin::store::{Store, StoreError, StoredFile};
use secrecy::SecretString;

use crate::on_both_stores;
use crate::support::store::database;
use crate::support::{Db, services};

/// The upload date every `put` here stamps (no test reads it back).
const NOW: Millis = Millis(1_700_000_000_000);
const PNG_NAME: &str = "0123456789abcdef0123456789abcdef.png";
const JPG_NAME: &str = "fedcba9876543210fedcba9876543210.jpg";

/// A migrated, empty store, with the temp dir that holds it (SQLite) and its URL (MongoDB).
async fn open(db: Db) -> (Store, tempfile::TempDir, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let (config, url) = match db {
        Db::Sqlite => (
            DatabaseConfig::Sqlite {
                path: dir.path().join("files.db"),
            },
            None,
        ),
        Db::Mongo => {
            let url = services::fresh_mongodb_url();
            (
                DatabaseConfig::Mongo {
                    url: SecretString::from(url.clone()),
                },
                Some(url),
            )
        }
    };
    let store = Store::open(&config).await.unwrap();
    store.backend.migrate().await.unwrap();
    (store, dir, url)
}

/// Deterministic bytes that are not an image and contain every byte value (a xorshift stream).
/// What `put` stores: `bytes` of `content_type`.
fn file(content_type: &str, bytes: Vec<u8>) -> StoredFile {
    StoredFile {
        content_type: content_type.into(),
        bytes,
    }
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn files_round_trip(db: Db) {
    let (store, _dir, _) = open(db).await;
    let png = b"\x89PNG\r\n\x1a\nnot really the rest of a png".to_vec();
    store
        .files
        .put(PNG_NAME, file("image/png", png.clone()), NOW)
        .await
        .unwrap();
    store
        .files
        .put(
            JPG_NAME,
            file("image/jpeg", b"\xFF\xD8\xFFjpeg".to_vec()),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        store.files.get(PNG_NAME).await.unwrap(),
        Some(StoredFile {
            content_type: "image/png".into(),
            bytes: png,
        })
    );
    let jpg = store.files.get(JPG_NAME).await.unwrap().unwrap();
    assert_eq!(jpg.content_type, "image/jpeg");
    assert_eq!(jpg.bytes, b"\xFF\xD8\xFFjpeg");

    // The port stores what it is given, even nothing (refusing empty images is the HTTP layer's job).
    let empty = "00000000000000000000000000000000.png";
    store
        .files
        .put(empty, file("image/png", Vec::new()), NOW)
        .await
        .unwrap();
    assert_eq!(
        store.files.get(empty).await.unwrap().map(|f| f.bytes),
        Some(Vec::new())
    );
}

/// Decision: `put` under an existing name replaces the file (last write wins), and `delete` then
/// removes it entirely (on GridFS: every revision).
async fn files_put_replaces(db: Db) {
    let (store, _dir, _) = open(db).await;
    for round in 0..3u8 {
        store
            .files
            .put(
                PNG_NAME,
                file("image/png", vec![round; 1000 + usize::from(round)]),
                NOW,
            )
            .await
            .unwrap();
    }
    let file = store.files.get(PNG_NAME).await.unwrap().unwrap();
    assert_eq!(file.bytes, vec![2u8; 1002]);
    assert!(store.files.delete(PNG_NAME).await.unwrap());
    assert_eq!(store.files.get(PNG_NAME).await.unwrap(), None);
    assert!(!store.files.delete(PNG_NAME).await.unwrap());
}

async fn files_unknown_name_is_none(db: Db) {
    let (store, _dir, _) = open(db).await;
    assert_eq!(store.files.get(PNG_NAME).await.unwrap(), None);
    assert!(!store.files.delete(JPG_NAME).await.unwrap());
}

async fn files_delete_removes_only_that_file(db: Db) {
    let (store, _dir, _) = open(db).await;
    store
        .files
        .put(PNG_NAME, file("image/png", vec![1; 10]), NOW)
        .await
        .unwrap();
    store
        .files
        .put(JPG_NAME, file("image/jpeg", vec![2; 10]), NOW)
        .await
        .unwrap();
    assert!(store.files.delete(PNG_NAME).await.unwrap());
    assert_eq!(store.files.get(PNG_NAME).await.unwrap(), None);
    assert!(!store.files.delete(PNG_NAME).await.unwrap());
    assert_eq!(
        store.files.get(JPG_NAME).await.unwrap().unwrap().bytes,
        vec![2; 10]
    );
}

/// 2 MiB spans several GridFS chunks (255 KiB each) and ends mid-chunk.
async fn files_two_mib_binary_round_trip(db: Db) {
    let (store, _dir, _) = open(db).await;
    let bytes = noise(2 * 1024 * 1024, 0x5eed);
    store
        .files
        .put(JPG_NAME, file("image/jpeg", bytes.clone()), NOW)
        .await
        .unwrap();
    let back = store.files.get(JPG_NAME).await.unwrap().unwrap();
    assert_eq!(back.bytes.len(), bytes.len());
    assert!(back.bytes == bytes, "the bytes came back different");
    assert_eq!(back.content_type, "image/jpeg");
}

/// Names are the server's own, so a bad one is a bug (`Backend`), refused before any I/O.
async fn files_refuse_names_that_could_escape(db: Db) {
    let (store, dir, _) = open(db).await;
    for name in [
        "../escape.png",
        "a/b.png",
        "..",
        "x.png.png",
        "x.gif",
        ".hidden.png",
    ] {
        assert!(
            matches!(
                store.files.put(name, file("image/png", vec![1]), NOW).await,
                Err(StoreError::Backend(_))
            ),
            "put {name:?}"
        );
        assert!(store.files.get(name).await.is_err(), "get {name:?}");
        assert!(store.files.delete(name).await.is_err(), "delete {name:?}");
    }
    assert!(!dir.path().join("escape.png").exists());
    // The content type must be the one the extension implies, so both adapters answer alike.
    assert!(matches!(
        store
            .files
            .put(PNG_NAME, file("image/jpeg", vec![1]), NOW)
            .await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(store.files.get(PNG_NAME).await.unwrap(), None);
}

on_both_stores!(
    files_round_trip,
    files_put_replaces,
    files_unknown_name_is_none,
    files_delete_removes_only_that_file,
    files_two_mib_binary_round_trip,
    files_refuse_names_that_could_escape,
);

/// SQLite backend: plain files in `uploads/` beside the database, no temporary files left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_are_plain_files_next_to_the_database() {
    let (store, dir, _) = open(Db::Sqlite).await;
    let uploads = dir.path().join("uploads");
    assert!(uploads.is_dir(), "uploads/ is created at open");
    store
        .files
        .put(PNG_NAME, file("image/png", vec![7; 100]), NOW)
        .await
        .unwrap();
    store
        .files
        .put(PNG_NAME, file("image/png", vec![8; 50]), NOW)
        .await
        .unwrap();
    assert_eq!(std::fs::read(uploads.join(PNG_NAME)).unwrap(), vec![8; 50]);
    let names: Vec<String> = std::fs::read_dir(&uploads)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec![PNG_NAME.to_owned()],
        "no temporary file is left"
    );
}

/// MongoDB: GridFS bucket `images`, content type in `metadata.contentType`, one revision per name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_files_are_in_the_images_gridfs_bucket() {
    use futures_util::TryStreamExt;
    use mongodb::bson::{Document, doc};

    let (store, _dir, url) = open(Db::Mongo).await;
    store
        .files
        .put(JPG_NAME, file("image/jpeg", noise(600 * 1024, 3)), NOW)
        .await
        .unwrap();
    store
        .files
        .put(JPG_NAME, file("image/jpeg", noise(300 * 1024, 4)), NOW)
        .await
        .unwrap();

    let url = url.unwrap();
    let db = database(&url).await;
    let files: Vec<Document> = db
        .collection::<Document>("images.files")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(files.len(), 1, "the replaced revision is gone: {files:?}");
    assert_eq!(files[0].get_str("filename").unwrap(), JPG_NAME);
    assert_eq!(
        files[0]
            .get_document("metadata")
            .unwrap()
            .get_str("contentType")
            .unwrap(),
        "image/jpeg"
    );
    let chunks = db
        .collection::<Document>("images.chunks")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(
        chunks, 2,
        "300 KiB is two 255 KiB chunks; the old ones are gone"
    );
}
