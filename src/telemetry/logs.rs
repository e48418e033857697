//! Logs: native journald entries under systemd, JSON lines in production, readable text in
//! development (`LOG_FORMAT` forces one). Exactly one of them, so that no line is written twice.
//! Inside a span that is exported, JSON lines and journald entries carry its `trace_id` and
//! `span_id` (`super::ids`).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::Extra;
use super::access::Direct;
use super::batch::BatchedStderr;
use super::ids::JournaldWithIds;
use super::line::LogLine;

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
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(&f).ok().map(|filter| (f, filter)));
    // A directive on spans (`[request{...}]=debug`) needs the request's span to exist.
    let span_filters = rust_log.as_ref().is_some_and(|(f, _)| f.contains('['));
    let filter = rust_log
        .map(|(_, filter)| filter)
        .unwrap_or_else(|| EnvFilter::new(log_level));
    let mut format = match format {
        "journald" => LogFormat::Journald,
        "json" => LogFormat::Json,
        "pretty" => LogFormat::Pretty,
        _ => choose_format(environment),
    };
    // The request's span is needed only by the exporter and Sentry (`extra`), journald and the
    // coloured text; otherwise its fields suffice (src/telemetry/context.rs).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut light = extra.is_empty() && !span_filters;
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
                json_layer(BatchedStderr::new())
            }
        },
        LogFormat::Json => json_layer(BatchedStderr::new()),
        LogFormat::Pretty => {
            // Colours only on a terminal: escape codes in a file or a pipe are noise, and writing
            // them was 9% of `/health`'s instructions at `info` (issue 13, benches/profile.py).
            light &= !ansi;
            text_layer(ansi, BatchedStderr::new())
        }
    };
    layers.push(output);
    light &= format != LogFormat::Journald;
    // A second init (several servers in one test process) keeps the first subscriber.
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init();
    if installed.is_ok() {
        super::context::set_light(light);
        // Light, the outputs below are the only readers of the access line (`super::access`).
        let direct = match format {
            LogFormat::Pretty => Some(Direct::Text),
            LogFormat::Json => Some(Direct::Json),
            LogFormat::Journald => None,
        };
        super::access::set_direct(direct.filter(|_| light));
    }
    install_panic_hook(format);
    format
}

/// The readable text output.
fn text_layer<W>(ansi: bool, writer: W) -> Extra
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Box::new(
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
            .event_format(LogLine::text(tracing_subscriber::fmt::format())),
    )
}

/// The JSON lines output.
fn json_layer<W>(writer: W) -> Extra
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Box::new(
        tracing_subscriber::fmt::layer()
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(LogLine::json(
                tracing_subscriber::fmt::format()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .flatten_event(true),
            ))
            .with_writer(writer),
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
            // The panic's line (and what was queued before it) ahead of the standard message.
            super::batch::flush();
            if format == LogFormat::Pretty {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::access::{self, Served};
    use crate::telemetry::context::{RequestFields, Scope};

    /// Lines written to memory.
    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Memory {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Memory {
        type Writer = Memory;
        fn make_writer(&'a self) -> Memory {
            self.clone()
        }
    }

    const ID: &str = "5f1c2a9e-0b7d-4c1e-9a55-3f0e2d1c4b6a";
    const PATH: &str = "/api/v1/odd \"path\"\t{x}=y";

    fn light_scope() -> Scope {
        Scope::Light(RequestFields {
            request_id: ID.into(),
            method: "PATCH".into(),
            path: PATH.into(),
        })
    }

    /// What the text or JSON output writes while `f` runs, at `info`.
    fn capture(json: bool, f: impl FnOnce()) -> String {
        let out = Memory::default();
        let layer = if json {
            json_layer(out.clone())
        } else {
            text_layer(false, out.clone())
        };
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new("info"))
            .with(vec![layer]);
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    /// `line` without its time: the first word of a text line, the `timestamp` of a JSON one
    /// (cut from the bytes, so that what is compared is what was written).
    fn without_time(json: bool, line: &str) -> String {
        if !json {
            return line.split_once(' ').unwrap().1.to_owned();
        }
        let rest = line.strip_prefix("{\"timestamp\":\"").unwrap();
        let end = rest.find('"').unwrap();
        format!("{{{}", &rest[end + 2..])
    }

    /// The access line that `access` writes itself is the one tracing-subscriber wrote, byte for
    /// byte but the time, for both outputs; odd characters in the route and the path.
    #[test]
    fn access_lines_written_directly_are_those_tracing_wrote() {
        let fields = RequestFields {
            request_id: ID.into(),
            method: "PATCH".into(),
            path: PATH.into(),
        };
        for route in ["/api/v1/category/{id}", "/odd \"route\"\t\\x"] {
            for latency_ms in [0.123456_f64, 12.0, 1e-7, 123456.789] {
                let served = Served {
                    status: 200,
                    route,
                    latency_ms,
                };
                for (json, direct) in [(false, Direct::Text), (true, Direct::Json)] {
                    let ours = String::from_utf8(access::line(direct, &fields, served)).unwrap();
                    let theirs = capture(json, || access::through_tracing(&light_scope(), served));
                    for line in [&ours, &theirs] {
                        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
                    }
                    assert_eq!(
                        without_time(json, ours.trim_end()),
                        without_time(json, theirs.trim_end()),
                        "json: {json}"
                    );
                }
            }
        }
    }

    /// What a request logs: lines inside its future, a line inside a span of its own, the access
    /// line; with the request's span (`light` false) or only its fields.
    fn render(json: bool, light: bool) -> Vec<String> {
        let text = capture(json, || {
            let scope = if light {
                light_scope()
            } else {
                Scope::Span(crate::telemetry::new_request_span(ID, "PATCH", PATH))
            };
            let work = Box::pin(async {
                tracing::warn!(error = %"the store said \"no\"", "a warning inside");
                tracing::info_span!("inner", n = 3)
                    .in_scope(|| tracing::info!(flag = true, "inside a span of its own"));
                tracing::debug!("filtered out");
            });
            let done = futures_util::FutureExt::now_or_never(scope.instrument(work));
            assert!(done.is_some());
            let served = Served {
                status: 200,
                route: "/api/v1/category/{id}",
                latency_ms: 0.123456,
            };
            access::through_tracing(&scope, served);
            tracing::info!("outside the request");
        });
        text.lines()
            .map(|line| {
                if json {
                    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
                    v.as_object_mut().unwrap().remove("timestamp");
                    v.to_string()
                } else {
                    // The time is the first word.
                    line.split_once(' ').unwrap().1.to_owned()
                }
            })
            .collect()
    }

    #[test]
    fn request_fields_print_as_the_request_span_did() {
        for json in [false, true] {
            let with_span = render(json, false);
            assert_eq!(with_span.len(), 4, "{with_span:#?}");
            let marker = if json {
                "\"request_id\":"
            } else {
                "request{request_id="
            };
            let inside = with_span.iter().filter(|l| l.contains(marker)).count();
            // JSON names the innermost span only: not the request inside `inner`.
            assert_eq!(inside, if json { 2 } else { 3 }, "{with_span:#?}");
            assert_eq!(render(json, true), with_span, "json: {json}");
        }
    }
}
