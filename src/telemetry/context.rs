//! The request's log context without a tracing span, when nothing but the log output would see
//! the span. A span per request cost a third of `/health`'s instructions at `info` (issue 13):
//! the registry's slot, its fields formatted at creation, the filter's and the registry's work
//! at every enter and exit of every poll, the close. Its only reader without a trace exporter,
//! Sentry or journald is the text or JSON output, which prints it as `request{request_id=…
//! method=… path=…}:` (text) or `"span":{"request_id":…,"method":…,"path":…,"name":"request"}`
//! (JSON). So, in that case, the request's fields sit in a thread-local while its future is
//! polled, and the outputs print them where they printed the span, byte for byte the same
//! (`logs::tests` renders both ways and compares).
//!
//! [`Scope::Span`] is the span as before: with a collector (the span is exported), Sentry (its
//! layer sees spans), journald (entries carry the span's fields as their own), colours on a
//! terminal (not worth a second formatter), or a `RUST_LOG` that filters on spans.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tracing::Span;
use tracing_subscriber::fmt::format::Writer;

/// Whether requests use [`Scope::Light`]; set once the log output is installed.
static LIGHT: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_light(on: bool) {
    LIGHT.store(on, Ordering::Relaxed);
}

pub(crate) fn light() -> bool {
    LIGHT.load(Ordering::Relaxed)
}

/// The fields of the request span, as its `info_span!` recorded them.
pub struct RequestFields {
    pub request_id: String,
    pub method: String,
    pub path: String,
}

impl RequestFields {
    /// The request span as `Full` prints it: `request{request_id=… method=… path=…
    /// otel.kind="server"}` (what the access line and the spliced lines both show).
    pub(crate) fn write_text(&self, out: &mut impl fmt::Write) -> fmt::Result {
        for part in [
            "request{request_id=",
            &self.request_id,
            " method=",
            &self.method,
            " path=",
            &self.path,
            " otel.kind=\"server\"}",
        ] {
            out.write_str(part)?;
        }
        Ok(())
    }

    /// The request span as the JSON format's `span` object (`with_current_span`: fields in name
    /// order, then `name`), each string written by `string` as serde_json escapes it.
    pub(crate) fn write_json<W: fmt::Write>(
        &self,
        out: &mut W,
        string: impl Fn(&mut W, &str) -> fmt::Result,
    ) -> fmt::Result {
        out.write_str("\"span\":{\"method\":")?;
        string(out, &self.method)?;
        out.write_str(",\"otel.kind\":\"server\",\"path\":")?;
        string(out, &self.path)?;
        out.write_str(",\"request_id\":")?;
        string(out, &self.request_id)?;
        out.write_str(",\"name\":\"request\"}")
    }
}

thread_local! {
    static CURRENT: Cell<*const RequestFields> = const { Cell::new(std::ptr::null()) };
}

/// The fields of the request whose future is being polled on this thread, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&RequestFields>) -> R) -> R {
    let ptr = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` holds a pointer only while `Entered` lives, and `Entered` borrows the
    // fields it points to (see `enter`), so they outlive every read made meanwhile.
    f(unsafe { ptr.as_ref() })
}

/// Restores the previous fields when dropped (also on a panic).
struct Entered<'a> {
    previous: *const RequestFields,
    _fields: std::marker::PhantomData<&'a RequestFields>,
}

fn enter(fields: &RequestFields) -> Entered<'_> {
    let previous = CURRENT.with(|c| c.replace(fields));
    Entered {
        previous,
        _fields: std::marker::PhantomData,
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Where the request's log lines find its fields.
pub enum Scope {
    Span(Span),
    Light(RequestFields),
}

impl Scope {
    /// Runs `f` inside the request (for the access line).
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        match self {
            Scope::Span(span) => span.in_scope(f),
            Scope::Light(fields) => {
                let _entered = enter(fields);
                f()
            }
        }
    }

    /// The span, for the exporter (`Span::none()` when light).
    pub fn span(&self) -> Span {
        match self {
            Scope::Span(span) => span.clone(),
            Scope::Light(_) => Span::none(),
        }
    }

    /// `fut`, polled inside the request.
    pub fn instrument<F: Future + Unpin>(&self, fut: F) -> Scoped<'_, F> {
        Scoped { scope: self, fut }
    }
}

/// A future polled inside a request's [`Scope`]. `Unpin` (the request's future is boxed once in
/// `Observe`), so no projection is needed.
pub struct Scoped<'a, F> {
    scope: &'a Scope,
    fut: F,
}

impl<F: Future + Unpin> Future for Scoped<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let scope = this.scope;
        scope.in_scope(|| Pin::new(&mut this.fut).poll(cx))
    }
}

/// `line` as `Full` wrote it, with the request's fields where it printed the request span:
/// `request{request_id=… method=… path=… otel.kind="server"}:` after the level, outermost
/// (`in_span`: the event's own spans follow, without a space).
pub(crate) fn write_text(
    writer: &mut Writer<'_>,
    line: &str,
    r: &RequestFields,
    in_span: bool,
) -> fmt::Result {
    // `Full` writes the time (no spaces), a space, the level padded to 5, a space, then the spans
    // from the root: the request is the root.
    let Some(at) = line.find(' ').map(|i| i + 7).filter(|&i| i <= line.len()) else {
        return writer.write_str(line);
    };
    let (head, tail) = line.split_at(at);
    writer.write_str(head)?;
    r.write_text(writer)?;
    writer.write_str(if in_span { ":" } else { ": " })?;
    writer.write_str(tail)
}

/// `line` as the JSON format wrote it, with the request's fields as the `span` object that
/// `with_current_span` printed (fields in name order, then `name`).
pub(crate) fn write_json(writer: &mut Writer<'_>, line: &str, r: &RequestFields) -> fmt::Result {
    // The object ends the line: `...}\n`.
    let Some(end) = line.trim_end().strip_suffix('}').map(str::len) else {
        return writer.write_str(line);
    };
    let (head, tail) = line.split_at(end);
    writer.write_str(head)?;
    writer.write_char(',')?;
    r.write_json(writer, |w, s| {
        w.write_str(&serde_json::to_string(s).map_err(|_| fmt::Error)?)
    })?;
    writer.write_str(tail)
}
