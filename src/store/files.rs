//! The port for uploaded files (profile pictures, preset images). Each backend keeps them where its
//! replicas can see them: GridFS on MongoDB, a directory next to the SQLite file otherwise.
//!
//! Semantics every adapter follows (and `tests/api/files_contract.rs` checks):
//! - A `put` under a name that exists **replaces** the file. Names are 128-bit random, so a clash is
//!   a caller's bug rather than a race to arbitrate, and replace-on-put is the one behaviour both
//!   backends can make atomic: a reader sees the old bytes or the new ones, never a mix or a gap.
//! - A name is `<stem>.<ext>`: ASCII letters, digits, `-` and `_`, one dot, an extension from
//!   [`content_type_for`]. Anything else is refused before any I/O, so a name can never leave the
//!   uploads directory. Names are chosen by the server, so a refusal is a bug: `StoreError::Backend`.
//! - The content type given to `put` must be the one the extension implies. The filesystem keeps
//!   no metadata besides the name, so this is what makes both adapters answer the same type.

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use super::{StoreError, StoreResult};
use crate::domain::Millis;

/// Longest accepted name; ours are 36 characters.
const MAX_NAME_LEN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A stored file read as it is sent, so that a slow client holds one chunk rather than the file.
pub struct FileStream {
    pub content_type: String,
    pub length: u64,
    pub chunks: Chunks,
}

/// The chunks of a [`FileStream`].
pub type Chunks = BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// Chunks of a streamed file.
pub const STREAM_CHUNK: usize = 64 * 1024;

/// One `read` of a reader into a buffer, boxed so that tokio's and futures' readers both fit.
pub type ReadInto<R> = for<'a> fn(&'a mut R, &'a mut [u8]) -> BoxFuture<'a, std::io::Result<usize>>;

/// `reader` as a stream of chunks of at most [`STREAM_CHUNK`] bytes, to its end.
pub fn chunks<R: Send + 'static>(reader: R, read: ReadInto<R>) -> Chunks {
    Box::pin(futures_util::stream::try_unfold(
        reader,
        move |mut reader| async move {
            let mut buf = vec![0u8; STREAM_CHUNK];
            let n = read(&mut reader, &mut buf).await?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            Ok(Some((bytes::Bytes::from(buf), reader)))
        },
    ))
}

#[async_trait::async_trait]
pub trait Files: Send + Sync {
    /// Stores `file` under `name` (a random name the caller chose; never user input), replacing
    /// any file of that name; `now` is its upload date.
    async fn put(&self, name: &str, file: StoredFile, now: Millis) -> StoreResult<()>;
    async fn get(&self, name: &str) -> StoreResult<Option<StoredFile>>;
    /// The file as a stream of chunks. By default read whole, then streamed.
    async fn open(&self, name: &str) -> StoreResult<Option<FileStream>> {
        Ok(self.get(name).await?.map(|f| FileStream {
            content_type: f.content_type,
            length: f.bytes.len() as u64,
            chunks: Box::pin(futures_util::stream::once(async move {
                Ok(bytes::Bytes::from(f.bytes))
            })),
        }))
    }
    /// `true` when a file was deleted, `false` when there was none.
    async fn delete(&self, name: &str) -> StoreResult<bool>;
}

/// The content type a file name's extension stands for, for the extensions we store.
pub fn content_type_for(name: &str) -> Option<&'static str> {
    match name.rsplit_once('.')?.1 {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        _ => None,
    }
}

/// Checks `name` against the rules above and returns the content type its extension implies.
pub(crate) fn check_name(name: &str) -> StoreResult<&'static str> {
    let well_formed = name.len() <= MAX_NAME_LEN
        && name.split_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty()
                && stem
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !ext.contains('.')
        });
    well_formed
        .then(|| content_type_for(name))
        .flatten()
        .ok_or_else(|| StoreError::backend(format!("refused file name {name:?}")))
}

/// [`check_name`], plus: `content_type` is the one the name implies.
pub(crate) fn check_put(name: &str, file: &StoredFile) -> StoreResult<()> {
    let (implied, content_type) = (check_name(name)?, &file.content_type);
    if implied != content_type {
        return Err(StoreError::backend(format!(
            "file {name:?} is {implied}, not {content_type}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_leave_the_directory() {
        assert_eq!(
            check_name("0123456789abcdef0123456789abcdef.png").unwrap(),
            "image/png"
        );
        assert_eq!(check_name("default-avatar.jpg").unwrap(), "image/jpeg");
        for bad in [
            "",
            ".png",
            "..png",
            "../x.png",
            "a/b.png",
            "a\\b.png",
            "x.png.png",
            "x.gif",
            "x",
            "x.",
            "é.png",
            "x .png",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_name(&format!("{}.png", "a".repeat(200))).is_err());
    }

    #[test]
    fn content_type_must_match_the_extension() {
        let typed = |content_type: &str| StoredFile {
            content_type: content_type.into(),
            bytes: Vec::new(),
        };
        assert!(check_put("a.png", &typed("image/png")).is_ok());
        assert!(check_put("a.png", &typed("image/jpeg")).is_err());
        assert!(check_put("a.jpeg", &typed("image/jpeg")).is_ok());
    }
}
