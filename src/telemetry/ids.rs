//! `trace_id` and `span_id` on every log line written inside a span, so that logs and traces join:
//! the JSON lines get them as top-level fields (`jq 'select(.trace_id == "…")'`), journald entries
//! as `TRACE_ID=` and `SPAN_ID=` fields (`journalctl TRACE_ID=…`; an entry inside nested spans
//! carries one `SPAN_ID` per span, outermost first). The ids are the OpenTelemetry ones that
//! `tracing-opentelemetry` keeps in each span's extensions, so they exist only while traces are
//! exported (`telemetry::exporting`); without a collector there is no trace to join.

use std::fmt;

use opentelemetry::{SpanId, TraceId};
use tracing::field::{FieldSet, Value};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OtelData;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{Extensions, LookupSpan};

/// The trace and span id of a span. tracing-opentelemetry starts the span's context when the span
/// is first entered (before any event inside it), so both are known by then.
pub fn of(extensions: &Extensions<'_>) -> Option<(TraceId, SpanId)> {
    let data = extensions.get::<OtelData>()?;
    Some((data.trace_id()?, data.span_id()?))
}

/// `line` as the JSON format wrote it, with `"trace_id"` and `"span_id"` first in the object.
pub(crate) fn write_json(
    writer: &mut Writer<'_>,
    line: &str,
    trace_id: TraceId,
    span_id: SpanId,
) -> fmt::Result {
    match line.strip_prefix('{') {
        Some(rest) => write!(
            writer,
            "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
        ),
        None => writer.write_str(line),
    }
}

struct IdsCallsite;

impl tracing::callsite::Callsite for IdsCallsite {
    fn set_interest(&self, _: tracing::subscriber::Interest) {}
    fn metadata(&self) -> &tracing::Metadata<'_> {
        &IDS_METADATA
    }
}

static IDS_CALLSITE: IdsCallsite = IdsCallsite;

/// The field names the journald wrapper records on each span (never an event or span of its own).
static IDS_METADATA: tracing::Metadata<'static> = tracing::Metadata::new(
    "trace ids",
    "educoin::telemetry",
    tracing::Level::TRACE,
    None,
    None,
    None,
    FieldSet::new(
        &["trace_id", "span_id"],
        tracing::callsite::Identifier(&IDS_CALLSITE),
    ),
    tracing::metadata::Kind::SPAN,
);

/// The ids of a span are already among its journald fields.
struct Recorded;

/// Wraps the journald layer: each span gets `TRACE_ID` and `SPAN_ID` fields, which journald's
/// layer then writes with every entry inside it.
pub struct JournaldWithIds<L>(pub L);

impl<S, L> tracing_subscriber::Layer<S> for JournaldWithIds<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: tracing_subscriber::Layer<S>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx)
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.0.on_record(id, values, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.0.on_event(event, ctx)
    }

    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.0.on_register_dispatch(subscriber)
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.0.on_layer(subscriber)
    }

    fn register_callsite(
        &self,
        metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        self.0.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.0.enabled(metadata, ctx)
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.0.on_follows_from(span, follows, ctx)
    }

    /// On the first entry (the OpenTelemetry layer, before this one, has started the span's
    /// context by then), the ids become two fields of the span.
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_enter(id, ctx.clone());
        let Some(span) = ctx.span(id) else {
            return;
        };
        let ids = {
            let ext = span.extensions();
            if ext.get::<Recorded>().is_some() {
                return;
            }
            of(&ext)
        };
        span.extensions_mut().insert(Recorded);
        let Some((trace_id, span_id)) = ids else {
            return;
        };
        let (trace_id, span_id) = (trace_id.to_string(), span_id.to_string());
        let fields = IDS_METADATA.fields();
        let (Some(t), Some(s)) = (fields.field("trace_id"), fields.field("span_id")) else {
            return;
        };
        let values: [(&tracing::field::Field, Option<&dyn Value>); 2] = [
            (&t, Some(&trace_id.as_str() as &dyn Value)),
            (&s, Some(&span_id.as_str() as &dyn Value)),
        ];
        let values = fields.value_set(&values);
        self.0.on_record(id, &Record::new(&values), ctx.clone());
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_exit(id, ctx)
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.0.on_close(id, ctx)
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.0.on_id_change(old, new, ctx)
    }
}
