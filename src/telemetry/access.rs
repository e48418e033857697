//! The access line ("request served"), written by us when the text or JSON output is the only
//! reader of it. Through tracing, the line cost a fifth of `/health`'s instructions (issue 13):
//! the event's dispatch through the registry and the filter, the visitor per field, the
//! formatter's own buffer and the wrappers of `context` that splice the request's fields into it.
//! With [`Scope::Light`] (no exporter, Sentry, journald, colours or span filter) and the batched
//! stderr as the writer, nothing else can see the event, so the line is formatted here, byte for
//! byte as tracing-subscriber's `Full` and `Json` formats printed it (`logs::tests` renders both
//! ways and compares), and appended to the batch buffer. The filter still decides: the line is
//! written only when `tracing::enabled!` says an info event of its target would be.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

use super::context::{RequestFields, Scope};
use crate::domain::Millis;

/// The target the line has always had: the middleware's module.
const TARGET: &str = "educoin::http::middleware";

/// Which output the line is written for, when it is written here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direct {
    Text,
    Json,
}

/// 0: through tracing; otherwise a [`Direct`] (1 text, 2 JSON). Set once the output is installed.
static DIRECT: AtomicU8 = AtomicU8::new(0);

pub(crate) fn set_direct(direct: Option<Direct>) {
    let value = match direct {
        None => 0,
        Some(Direct::Text) => 1,
        Some(Direct::Json) => 2,
    };
    DIRECT.store(value, Ordering::Relaxed);
}

fn direct() -> Option<Direct> {
    match DIRECT.load(Ordering::Relaxed) {
        1 => Some(Direct::Text),
        2 => Some(Direct::Json),
        _ => None,
    }
}

/// What the line says of the answer.
#[derive(Clone, Copy, Debug)]
pub struct Served<'a> {
    pub status: u16,
    pub route: &'a str,
    pub latency_ms: f64,
}

/// Logs the request's access line, at `info`, inside its scope.
pub fn log(scope: &Scope, served: Served<'_>) {
    if let Scope::Light(fields) = scope
        && let Some(direct) = direct()
    {
        if tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            super::batch::append(&line(direct, fields, served));
        }
        return;
    }
    through_tracing(scope, served);
}

/// The line as a tracing event (what the outputs with a span or colours, journald and the
/// exporter's logs receive).
pub(crate) fn through_tracing(scope: &Scope, served: Served<'_>) {
    scope.in_scope(|| {
        tracing::info!(
            target: TARGET,
            status = served.status,
            route = %served.route,
            latency_ms = served.latency_ms,
            "request served"
        )
    });
}

/// The line, with its newline (`logs::tests` compares it with tracing-subscriber's).
pub(crate) fn line(direct: Direct, fields: &RequestFields, served: Served<'_>) -> Vec<u8> {
    let mut line = Line(Vec::with_capacity(320));
    // Writing to memory fails only if a `Display` does, and ours do not.
    let _ = write_line(&mut line, direct, fields, served);
    line.0
}

/// A line's bytes, written as text (the timestamp, the fields) or as JSON (serde_json).
struct Line(Vec<u8>);

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Line {
    /// `now` as tracing-subscriber's `SystemTime` writes it (`2026-12-01T23:21:30.123456Z`): the
    /// part to the second is formatted once per second on each thread (its formatter, a quarter
    /// of the line's cost, ran per line), the microseconds every time. Outside the years
    /// 1970..=9999, its own formatter writes the current time.
    fn time(&mut self, now: std::time::SystemTime) -> fmt::Result {
        const LAST_SECOND: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        let since = now.duration_since(std::time::UNIX_EPOCH).ok();
        let Some(since) = since.filter(|d| d.as_secs() <= LAST_SECOND) else {
            return SystemTime.format_time(&mut Writer::new(self));
        };
        thread_local! {
            /// The last second written on this thread, and its `YYYY-MM-DDTHH:MM:SS`.
            static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
        }
        let secs = since.as_secs();
        let (cached, mut head) = SECOND.get();
        if cached != secs {
            // Whole seconds in range: `to_iso` writes them itself, as `YYYY-MM-DDTHH:MM:SS.000Z`.
            let iso = Millis(secs as i64 * 1000).to_iso();
            head.copy_from_slice(&iso.as_bytes()[..19]);
            SECOND.set((secs, head));
        }
        self.0.extend_from_slice(&head);
        let mut tail = *b".000000Z";
        let mut micros = since.subsec_micros();
        for digit in tail[1..7].iter_mut().rev() {
            *digit = b'0' + (micros % 10) as u8;
            micros /= 10;
        }
        self.0.extend_from_slice(&tail);
        Ok(())
    }

    /// `s` as a JSON string, escaped as serde_json escapes (what tracing-serde used).
    fn json(&mut self, s: &str) -> fmt::Result {
        serde_json::to_writer(&mut self.0, s).map_err(|_| fmt::Error)
    }
}

/// `Full`: `<time>  INFO request{…}: <target>: request served status=… route=… latency_ms=…`;
/// `Json`: the timestamp, the level, the event's fields (message first), the target, then the
/// request as the `span` object (fields in name order, then `name`).
fn write_line(
    line: &mut Line,
    direct: Direct,
    r: &RequestFields,
    served: Served<'_>,
) -> fmt::Result {
    let Served {
        status,
        route,
        latency_ms,
    } = served;
    match direct {
        Direct::Text => {
            // The parts appended as they are: through `write!`, each piece went through the
            // formatter's padding logic (a tenth of the line's cost).
            line.time(std::time::SystemTime::now())?;
            line.write_str("  INFO ")?;
            r.write_text(line)?;
            for part in [": ", TARGET, ": request served status="] {
                line.write_str(part)?;
            }
            writeln!(line, "{status} route={route} latency_ms={latency_ms:?}")
        }
        Direct::Json => {
            line.write_str("{\"timestamp\":\"")?;
            line.time(std::time::SystemTime::now())?;
            write!(
                line,
                "\",\"level\":\"INFO\",\"message\":\"request served\",\"status\":{status},\"route\":"
            )?;
            line.json(route)?;
            line.write_str(",\"latency_ms\":")?;
            serde_json::to_writer(&mut line.0, &latency_ms).map_err(|_| fmt::Error)?;
            write!(line, ",\"target\":\"{TARGET}\",")?;
            r.write_json(line, Line::json)?;
            line.write_str("}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime as Clock, UNIX_EPOCH};

    use super::*;

    fn time(at: Clock) -> String {
        let mut line = Line(Vec::new());
        line.time(at).unwrap();
        String::from_utf8(line.0).unwrap()
    }

    /// The same text as tracing-subscriber's (its `DateTime`: `{:04}-{:02}-…T…:{:02}.{:06}Z`),
    /// here through chrono, at edges of seconds, days, leap years and the range; twice in one
    /// second (the cached part) and across seconds.
    #[test]
    fn times_are_written_as_tracing_subscriber_writes_them() {
        let chrono_text =
            |t: Clock| chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%dT%H:%M:%S%.6fZ");
        for secs in [
            0,
            59,
            86_399,
            951_782_400, // 2000-02-29
            1_764_631_290,
            4_107_542_399, // 2100-02-28T23:59:59
            253_402_300_799,
        ] {
            for nanos in [0, 999, 1_000, 123_456_789, 999_999_999] {
                let t = UNIX_EPOCH + Duration::new(secs, nanos);
                assert_eq!(time(t), chrono_text(t).to_string(), "{secs}.{nanos}");
                assert_eq!(
                    time(t),
                    chrono_text(t).to_string(),
                    "{secs}.{nanos}, cached"
                );
            }
        }
        // The running clock: tracing-subscriber's own text, to the minute (the two reads of the
        // clock differ by a little), again if a minute turned in between.
        let agrees = (0..3).any(|_| {
            let mut theirs = String::new();
            SystemTime
                .format_time(&mut Writer::new(&mut theirs))
                .unwrap();
            time(Clock::now())[..16] == theirs[..16]
        });
        assert!(agrees);
    }
}
