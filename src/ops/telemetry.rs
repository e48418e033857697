//! Logs: native journald entries under systemd, JSON lines in production, readable text in
//! development. Exactly one of them, so that no line is written twice.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::Environment;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Journald,
    Json,
    Pretty,
}

/// systemd sets `JOURNAL_STREAM=<dev>:<inode>` of the stream it connected; if that is still our
/// stderr (not redirected by a wrapper), journald is listening.
fn stderr_is_journal() -> bool {
    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a full `stat` into the buffer when it returns 0.
    let ok = unsafe { libc::fstat(libc::STDERR_FILENO, stat.as_mut_ptr()) } == 0;
    if !ok {
        return false;
    }
    // SAFETY: initialised by the successful fstat above.
    let stat = unsafe { stat.assume_init() };
    // The field types differ between platforms (u64 here, u32/i64 elsewhere).
    #[allow(clippy::unnecessary_cast)]
    let same = stat.st_dev as u64 == dev && stat.st_ino as u64 == ino;
    same
}

pub fn choose_format(environment: Environment) -> LogFormat {
    if stderr_is_journal() {
        LogFormat::Journald
    } else if environment.is_production() {
        LogFormat::Json
    } else {
        LogFormat::Pretty
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `LOG_LEVEL` for debugging.
pub fn init(environment: Environment, log_level: &str) -> LogFormat {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(log_level));
    let mut format = choose_format(environment);
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match format {
        LogFormat::Journald => match tracing_journald::layer() {
            Ok(layer) => registry
                .with(
                    layer
                        .with_syslog_identifier("educoin".into())
                        // Our field names are plain (REQUEST_ID, STATUS, ...) so that
                        // `journalctl REQUEST_ID=...` works; none collides with journald's own.
                        .with_field_prefix(None),
                )
                .try_init(),
            Err(_) => {
                format = LogFormat::Json;
                registry.with(json_layer()).try_init()
            }
        },
        LogFormat::Json => registry.with(json_layer()).try_init(),
        // Colours only on a terminal: escape codes in a file or a pipe are noise, and writing
        // them was 9% of `/health`'s instructions at `info` (issue 13, benches/profile.py).
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // A second init (several servers in one test process) keeps the first subscriber.
    let _ = installed;
    install_panic_hook(format);
    format
}

fn json_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_writer(std::io::stderr)
}

/// Panics become error events (so they reach journald with a priority, or the JSON log as one
/// line), without the payload's details going to the client. In development the standard message
/// (with its backtrace hint) is printed as well.
fn install_panic_hook(format: LogFormat) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let payload = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic.location = %location, panic.message = %payload, "panic");
            if format == LogFormat::Pretty {
                previous(info);
            }
        }));
    });
}
