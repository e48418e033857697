//! Uploaded files on the SQLite backend: plain files in an `uploads/` directory next to the
//! database, so an operator can back them up (or look at them) with ordinary tools.
//!
//! - The content type is not stored: it follows from the extension (`crate::store::files` makes
//!   `put` refuse a type the extension does not imply), so a file on disk is just the image.
//! - A `put` writes a temporary file, flushes it to disk and renames it over the final name, then
//!   syncs the directory: a crash leaves the old file or the new one, never half of one. Temporary
//!   names start with a dot, which no stored name may, so they can never be served.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::domain::Millis;
use crate::store::files::{check_name, check_put, chunks};
use crate::store::{FileStream, Files, StoreError, StoreResult, StoredFile, observe};

const NAME: &str = "sqlite";
const TEMP_PREFIX: &str = ".tmp-";
/// Temporary files older than this at start are leftovers of a crash, not writes in progress.
const STALE_TEMP: Duration = Duration::from_secs(3600);

pub(super) struct DiskFiles {
    dir: PathBuf,
}

impl DiskFiles {
    /// Creates the directory if needed and clears temporary files a crash left behind.
    pub(super) fn open(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        remove_stale_temps(&dir);
        Ok(DiskFiles { dir })
    }

    /// Runs `f` on the blocking pool (file I/O blocks), timed as `op`.
    async fn run<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Path) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let dir = self.dir.clone();
        observe(NAME, op, async move {
            tokio::task::spawn_blocking(move || f(&dir))
                .await
                .map_err(|e| StoreError::backend(format!("file task failed: {e}")))?
        })
        .await
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::backend(format!("cannot {what} {}: {e}", path.display()))
}

fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let is_temp = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            // The OS stamps mtimes with its own clock, so their age is measured against that
            // clock, not the app's: this is housekeeping of the disk, not a stored time.
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP);
        if is_temp && stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn put(dir: &Path, name: &str, bytes: &[u8]) -> StoreResult<()> {
    let target = dir.join(name);
    let temp = dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut file = std::fs::File::create_new(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error("write", &target, e));
    }
    // The rename is durable only once the directory entry is; without this a power cut could lose
    // a file whose URL was already handed out.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("sync", dir, e))
}

#[async_trait::async_trait]
impl Files for DiskFiles {
    async fn put(&self, name: &str, file: StoredFile, _now: Millis) -> StoreResult<()> {
        check_put(name, &file)?;
        let name = name.to_owned();
        self.run("files.put", move |dir| put(dir, &name, &file.bytes))
            .await
    }

    async fn get(&self, name: &str) -> StoreResult<Option<StoredFile>> {
        let content_type = check_name(name)?;
        let name = name.to_owned();
        self.run("files.get", move |dir| {
            let path = dir.join(&name);
            match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(StoredFile {
                    content_type: content_type.to_owned(),
                    bytes,
                })),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error("read", &path, e)),
            }
        })
        .await
    }

    async fn open(&self, name: &str) -> StoreResult<Option<FileStream>> {
        use tokio::io::AsyncReadExt;
        let content_type = check_name(name)?;
        let path = self.dir.join(name);
        let file = observe(NAME, "files.get", async {
            match tokio::fs::File::open(&path).await {
                Ok(f) => {
                    let length = f
                        .metadata()
                        .await
                        .map_err(|e| io_error("read", &path, e))?
                        .len();
                    Ok(Some((f, length)))
                }
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error("read", &path, e)),
            }
        })
        .await?;
        Ok(file.map(|(file, length)| FileStream {
            content_type: content_type.to_owned(),
            length,
            // Bounded by the length seen at open: a file replaced meanwhile (rename) is still
            // the old inode, read to its end.
            chunks: chunks(file, |f, buf| Box::pin(f.read(buf))),
        }))
    }

    async fn delete(&self, name: &str) -> StoreResult<bool> {
        check_name(name)?;
        let name = name.to_owned();
        self.run("files.delete", move |dir| {
            let path = dir.join(&name);
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(io_error("delete", &path, e)),
            }
        })
        .await
    }
}
