//! stderr for the log lines, batched: a line is appended to a shared buffer, and a thread of its
//! own writes what has gathered every [`INTERVAL`], in one `write` for many lines. At `info`
//! every request writes its access line; one syscall per line (and the stderr lock held across
//! it) was the largest single cost of `/health` left after tracing's formatting (issue 13).
//!
//! What it keeps: the lines and their order (one buffer, appended under its lock). Warnings and
//! errors are written through at once (with whatever was queued before them), so the lines an
//! operator needs after a crash are never the ones waiting. The buffer is flushed at exit (an
//! `atexit` handler: `main` returns an `ExitCode`), before the standard panic message, and by the
//! writer itself when it grows past [`HIGH_WATER`], so a stderr that blocks (a full pipe) still
//! holds the workers back as it did, instead of growing the buffer without bound. What it gives up:
//! up to [`INTERVAL`] of info lines when the process is killed by a signal it cannot handle.

use std::io::Write;
use std::sync::{Mutex, Once, OnceLock};
use std::time::Duration;

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

/// How long an info line may wait before it is written.
pub const INTERVAL: Duration = Duration::from_millis(20);
/// A buffer this full is written by the thread that filled it.
const HIGH_WATER: usize = 256 * 1024;

struct Shared {
    /// Lines not yet written.
    pending: Mutex<Vec<u8>>,
    /// Held while writing, so that two flushes never interleave their bytes.
    out: Mutex<()>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| Shared {
        pending: Mutex::new(Vec::with_capacity(64 * 1024)),
        out: Mutex::new(()),
    })
}

/// Writes what is pending to stderr now.
pub fn flush() {
    let s = shared();
    // The output lock first: bytes taken from `pending` are written before anything taken later.
    let _out = s.out.lock().unwrap_or_else(|e| e.into_inner());
    let mut batch = {
        let mut pending = s.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.is_empty() {
            return;
        }
        std::mem::replace(&mut *pending, Vec::with_capacity(64 * 1024))
    };
    // A log line that cannot be written has nowhere else to go.
    let _ = std::io::stderr().lock().write_all(&batch);
    batch.clear();
}

extern "C" fn flush_at_exit() {
    flush();
}

/// Starts the thread that writes the batches and registers the flush at exit; once per process.
fn start() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a plain function; it only takes locks and writes to stderr.
        unsafe {
            libc::atexit(flush_at_exit);
        }
        let spawned = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(INTERVAL);
                    flush();
                }
            });
        if spawned.is_err() {
            // No thread: every line is written through (see `Line::drop`).
            NO_THREAD.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
}

static NO_THREAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The `MakeWriter` of the log outputs (text and JSON) in place of `std::io::stderr`.
#[derive(Clone, Copy, Debug)]
pub struct BatchedStderr;

impl BatchedStderr {
    pub fn new() -> Self {
        start();
        BatchedStderr
    }
}

impl Default for BatchedStderr {
    fn default() -> Self {
        Self::new()
    }
}

/// One formatted line. tracing-subscriber formats a line into its own buffer and hands it over in
/// one `write_all`, which is one `write` here (all of it is taken), so a line is appended whole and
/// two threads' lines never interleave. At drop, a line that must go through is written.
pub struct Line {
    through: bool,
}

/// Queues `bytes` (whole lines); returns whether the buffer has reached [`HIGH_WATER`].
fn queue(bytes: &[u8]) -> bool {
    let mut pending = shared().pending.lock().unwrap_or_else(|e| e.into_inner());
    pending.extend_from_slice(bytes);
    pending.len() >= HIGH_WATER
}

/// Queues an info line formatted elsewhere (`super::access`), as a `Line` of an info event would.
pub fn append(line: &[u8]) {
    drop(Line {
        through: queue(line),
    });
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if queue(buf) {
            self.through = true;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.through || NO_THREAD.load(std::sync::atomic::Ordering::Relaxed) {
            flush();
        }
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { through: true }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Line {
        Line {
            through: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_gather_until_flushed_and_warnings_go_through() {
        let _w = BatchedStderr::new();
        // Only the buffer is observed here: what reaches stderr is the test's own output.
        flush();
        {
            let mut line = Line { through: false };
            line.write_all(b"an info line\n").unwrap();
        }
        assert!(
            shared()
                .pending
                .lock()
                .unwrap()
                .ends_with(b"an info line\n")
                || shared().pending.lock().unwrap().is_empty(),
            "queued (or already written by the thread)"
        );
        {
            let mut line = Line { through: true };
            line.write_all(b"a warning\n").unwrap();
        }
        assert!(
            shared().pending.lock().unwrap().is_empty(),
            "written through"
        );
    }
}
