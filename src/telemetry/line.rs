//! The event format of the text and JSON outputs. tracing-subscriber's own format writes each
//! line; this adds what that format cannot know: the request's fields when the request has no
//! span (`super::context`), and the trace ids on a JSON line inside an exported span
//! (`super::ids`). Both outputs go through this one wrapper, so a line is rendered once and at
//! most one addition is spliced into it.

use std::fmt;

use opentelemetry::{SpanId, TraceId};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::context::{self, RequestFields, with_current};
use super::ids;

#[derive(Clone, Copy)]
enum Output {
    Text,
    Json,
}

/// `inner`'s lines, with what [`LogLine::text`] or [`LogLine::json`] adds to them.
pub struct LogLine<F> {
    inner: F,
    output: Output,
}

impl<F> LogLine<F> {
    /// Text lines: the request's fields where `Full` printed the request span.
    pub fn text(inner: F) -> Self {
        LogLine {
            inner,
            output: Output::Text,
        }
    }

    /// JSON lines: the request's `span` object when no span is current, else the current span's
    /// trace ids first in the object.
    pub fn json(inner: F) -> Self {
        LogLine {
            inner,
            output: Output::Json,
        }
    }
}

/// What one line gets beyond what the inner format wrote.
enum Addition<'a> {
    TextRequest(&'a RequestFields),
    JsonRequest(&'a RequestFields),
    JsonIds(TraceId, SpanId),
}

impl<S, N, F> FormatEvent<S, N> for LogLine<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        with_current(|request| {
            let addition = match self.output {
                Output::Text => request.map(Addition::TextRequest),
                Output::Json => {
                    let current = ctx.lookup_current();
                    if current.is_none() && event.parent().is_none() {
                        request.map(Addition::JsonRequest)
                    } else {
                        let ids = current.and_then(|span| ids::of(&span.extensions()));
                        ids.map(|(trace_id, span_id)| Addition::JsonIds(trace_id, span_id))
                    }
                }
            };
            let Some(addition) = addition else {
                return self.inner.format_event(ctx, writer, event);
            };
            let mut line = String::with_capacity(320);
            self.inner
                .format_event(ctx, Writer::new(&mut line), event)?;
            match addition {
                Addition::TextRequest(r) => {
                    let in_span = ctx.event_scope().is_some();
                    context::write_text(&mut writer, &line, r, in_span)
                }
                Addition::JsonRequest(r) => context::write_json(&mut writer, &line, r),
                Addition::JsonIds(trace_id, span_id) => {
                    ids::write_json(&mut writer, &line, trace_id, span_id)
                }
            }
        })
    }
}
