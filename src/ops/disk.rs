//! The filesystem of the state directory (the SQLite file and uploads): its free and total bytes,
//! read at each scrape (`statvfs`), for the disk alert (ops/prometheus/alerts.yml,
//! `EducoinStateDiskFilling`). A full disk stops every write: SQLite answers "database or disk is
//! full" and uploads fail.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Once;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Opts};

struct StateDisk {
    path: PathBuf,
    free: IntGauge,
    size: IntGauge,
}

/// Free bytes for an unprivileged process (`f_bavail`) and the filesystem's size, or `None` when
/// the directory cannot be read (it does not exist yet: the gauges are then left out).
pub fn usage(path: &Path) -> Option<(u64, u64)> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: statvfs writes a full `statvfs` into the buffer when it returns 0.
    if unsafe { libc::statvfs(c.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: initialised by the successful call above.
    let stat = unsafe { stat.assume_init() };
    // The field types differ between platforms.
    #[allow(clippy::unnecessary_cast)]
    let (frsize, avail, blocks) = (
        stat.f_frsize as u64,
        stat.f_bavail as u64,
        stat.f_blocks as u64,
    );
    Some((avail.saturating_mul(frsize), blocks.saturating_mul(frsize)))
}

impl Collector for StateDisk {
    fn desc(&self) -> Vec<&Desc> {
        self.free
            .desc()
            .into_iter()
            .chain(self.size.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some((free, size)) = usage(&self.path) else {
            return Vec::new();
        };
        self.free.set(i64::try_from(free).unwrap_or(i64::MAX));
        self.size.set(i64::try_from(size).unwrap_or(i64::MAX));
        self.free
            .collect()
            .into_iter()
            .chain(self.size.collect())
            .collect()
    }
}

/// Registers the gauges once per process (a second server in one test process keeps the first's).
pub fn register(path: &Path) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help));
        let (Ok(free), Ok(size)) = (
            gauge(
                "state_directory_free_bytes",
                "Bytes free for the server on the filesystem of STATE_DIRECTORY",
            ),
            gauge(
                "state_directory_size_bytes",
                "Size in bytes of the filesystem of STATE_DIRECTORY",
            ),
        ) else {
            return;
        };
        let collector = StateDisk {
            path: path.to_owned(),
            free,
            size,
        };
        let _ = super::metrics::get().registry.register(Box::new(collector));
    });
}
