//! Logs: native journald entries under systemd, JSON lines in production, readable text in
//! development (`LOG_FORMAT` forces one). Exactly one of them, so that no line is written twice.
//! Inside a span that is exported, JSON lines and journald entries carry its `trace_id` and
//! `span_id` (`super::ids`).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::Extra;
use super::ids::{JournaldWithIds, JsonWithIds};

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

/// Installs the global subscriber for logs only. `RUST_LOG`, when set, overrides `LOG_LEVEL`.
pub fn init(environment: Environment, log_level: &str) -> LogFormat {
    install(environment, log_level, "auto", Vec::new())
}

/// Installs the global subscriber: `extra` layers (spans to OpenTelemetry, events to Sentry),
/// then the one log output. `format` is `LOG_FORMAT` (auto, journald, json, pretty).
pub fn install(
    environment: Environment,
    log_level: &str,
    format: &str,
    extra: Vec<Extra>,
) -> LogFormat {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(log_level));
    let mut format = match format {
        "journald" => LogFormat::Journald,
        "json" => LogFormat::Json,
        "pretty" => LogFormat::Pretty,
        _ => choose_format(environment),
    };
    let mut layers = extra;
    let output: Extra = match format {
        LogFormat::Journald => match tracing_journald::layer() {
            Ok(layer) => Box::new(JournaldWithIds(
                layer
                    .with_syslog_identifier("educoin".into())
                    // Our field names are plain (REQUEST_ID, STATUS, ...) so that
                    // `journalctl REQUEST_ID=...` works; none collides with journald's own.
                    .with_field_prefix(None),
            )),
            Err(_) => {
                format = LogFormat::Json;
                json_layer()
            }
        },
        LogFormat::Json => json_layer(),
        LogFormat::Pretty => {
            // Colours only on a terminal: escape codes in a file or a pipe are noise, and writing
            // them was 9% of `/health`'s instructions at `info` (issue 13, benches/profile.py).
            Box::new(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr),
            )
        }
    };
    layers.push(output);
    // A second init (several servers in one test process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init();
    install_panic_hook(format);
    format
}

fn json_layer() -> Extra {
    Box::new(
        tracing_subscriber::fmt::layer()
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(JsonWithIds(
                tracing_subscriber::fmt::format()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .flatten_event(true),
            ))
            .with_writer(std::io::stderr),
    )
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
            // Its own target: Sentry's tracing layer leaves it to the panic report (one event).
            tracing::error!(
                target: "educoin::panic",
                { panic.location = %location, panic.message = %payload },
                "panic"
            );
            super::sentry::on_panic(info);
            if format == LogFormat::Pretty {
                previous(info);
            }
        }));
    });
}
