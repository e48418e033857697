//! Span export: a bounded queue in front of the OTLP/HTTP (protobuf) exporter, drained in batches
//! by a thread of its own. Nothing on the request path waits for the collector: a finished span is
//! offered to the queue with `try_send`, and when the queue is full (the collector is slow or down)
//! the span is dropped and counted. A batch the collector does not take within
//! `OTEL_EXPORTER_OTLP_TIMEOUT` is dropped and counted too, never retried into a growing backlog.
//!
//! Why not the SDK's `BatchSpanProcessor`: it drops silently (the count is only logged at
//! shutdown), and it runs the exporter on a plain thread where the async reqwest client (the one
//! reqwest we build, 0.12 with rustls) has no runtime.

use std::sync::LazyLock;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    Sampler, SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor,
};
use prometheus::IntCounterVec;
use tokio::sync::{mpsc, oneshot};

use crate::config::TracingConfig;
use crate::ops::metrics;

/// The most spans sent in one request to the collector (the SDK's default).
const MAX_BATCH: usize = 512;

pub struct SpanCounters {
    /// Spans handed to the collector and accepted.
    pub exported: prometheus::IntCounter,
    /// Spans lost: `queue_full` (the collector is slower than we produce), `export_failed` (the
    /// collector refused, failed or timed out), `shutdown` (queued at exit past the deadline).
    pub dropped: IntCounterVec,
}

static COUNTERS: LazyLock<SpanCounters> = LazyLock::new(|| {
    let exported = prometheus::IntCounter::new(
        "trace_spans_exported_total",
        "Spans accepted by the OTLP collector",
    )
    .expect("a valid metric");
    let dropped = IntCounterVec::new(
        prometheus::Opts::new(
            "trace_spans_dropped_total",
            "Spans not exported, by reason (queue_full, export_failed, shutdown)",
        ),
        &["reason"],
    )
    .expect("a valid metric");
    let registry = &metrics::get().registry;
    // Registered once per process; a second server in the same test process shares them.
    let _ = registry.register(Box::new(exported.clone()));
    let _ = registry.register(Box::new(dropped.clone()));
    for reason in ["queue_full", "export_failed", "shutdown"] {
        dropped.with_label_values(&[reason]);
    }
    SpanCounters { exported, dropped }
});

pub fn counters() -> &'static SpanCounters {
    &COUNTERS
}

/// The counters exist (at zero) in every scrape, exported or not, so alerts and dashboards see them.
pub fn register_metrics() {
    LazyLock::force(&COUNTERS);
}

enum Control {
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// The SDK's view of our queue.
#[derive(Debug)]
struct QueueProcessor {
    spans: mpsc::Sender<SpanData>,
    control: mpsc::UnboundedSender<Control>,
}

impl QueueProcessor {
    fn ask(&self, make: fn(oneshot::Sender<()>) -> Control, within: Duration) -> OTelSdkResult {
        let (tx, rx) = oneshot::channel();
        if self.control.send(make(tx)).is_err() {
            return Ok(());
        }
        // Called from the application's threads (shutdown), never from the export thread.
        let deadline = std::time::Instant::now() + within;
        let mut rx = rx;
        loop {
            match rx.try_recv() {
                Ok(()) | Err(oneshot::error::TryRecvError::Closed) => return Ok(()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            if std::time::Instant::now() >= deadline {
                return Err(opentelemetry_sdk::error::OTelSdkError::Timeout(within));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.spans.try_send(span).is_err() {
            // Full, or closed after shutdown: either way the span is not waited for.
            COUNTERS.dropped.with_label_values(&["queue_full"]).inc();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Control::Flush, Duration::from_secs(5))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.ask(Control::Shutdown, timeout)
    }
}

/// The running export: the provider (kept for shutdown) and the export thread.
pub struct Pipeline {
    provider: SdkTracerProvider,
}

impl Pipeline {
    pub fn shutdown(self, within: Duration) {
        let _ = self.provider.shutdown_with_timeout(within);
    }
}

fn sampler(config: &TracingConfig) -> Sampler {
    let ratio = if config.ratio >= 1.0 {
        Sampler::AlwaysOn
    } else if config.ratio <= 0.0 {
        Sampler::AlwaysOff
    } else {
        Sampler::TraceIdRatioBased(config.ratio)
    };
    if config.parent_based {
        Sampler::ParentBased(Box::new(ratio))
    } else {
        ratio
    }
}

/// Starts the export thread and returns the pipeline and the tracing layer that feeds it.
pub fn start(config: &TracingConfig, url: &str) -> (Pipeline, super::Extra) {
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let (spans_tx, spans_rx) = mpsc::channel(config.max_queue);
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let url = url.to_owned();
    let timeout = config.export_timeout;
    let delay = config.schedule_delay;
    let thread_resource = resource.clone();
    std::thread::Builder::new()
        .name("otel-export".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime for the span exporter");
            // No subscriber on this thread: spans made while exporting (the HTTP client's, at a
            // verbose RUST_LOG) would be exported in turn, forever. Its few messages go to the
            // process's subscriber through `log`.
            let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
            runtime.block_on(drain(
                url,
                timeout,
                delay,
                thread_resource,
                spans_rx,
                control_rx,
            ));
        })
        .expect("spawn the span export thread");
    let provider = SdkTracerProvider::builder()
        .with_span_processor(QueueProcessor {
            spans: spans_tx,
            control: control_tx,
        })
        .with_sampler(sampler(config))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("educoin");
    opentelemetry::global::set_tracer_provider(provider.clone());
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false);
    (Pipeline { provider }, Box::new(layer))
}

fn exporter(url: &str, timeout: Duration) -> Option<opentelemetry_otlp::SpanExporter> {
    let client = reqwest::Client::builder().timeout(timeout).build().ok()?;
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(timeout)
        .build()
        .ok()
}

/// The export loop: waits for a span, gathers a batch for at most `delay` (or `MAX_BATCH`
/// spans), sends it with `timeout`, repeats. Flush and shutdown send what is queued first.
async fn drain(
    url: String,
    timeout: Duration,
    delay: Duration,
    resource: Resource,
    mut spans: mpsc::Receiver<SpanData>,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let Some(mut exporter) = exporter(&url, timeout) else {
        log(true, "the exporter could not be built");
        // Without an exporter every span is dropped and counted; the queue drains here.
        while let Some(_span) = spans.recv().await {
            COUNTERS.dropped.with_label_values(&["export_failed"]).inc();
        }
        return;
    };
    exporter.set_resource(&resource);
    let mut batch: Vec<SpanData> = Vec::with_capacity(MAX_BATCH);
    let mut failing = false;
    loop {
        let mut reply = None;
        let mut stop = false;
        tokio::select! {
            first = spans.recv() => match first {
                Some(span) => batch.push(span),
                None => stop = true,
            },
            c = control.recv() => match c {
                Some(Control::Flush(tx)) => reply = Some(tx),
                Some(Control::Shutdown(tx)) => { reply = Some(tx); stop = true; }
                None => stop = true,
            },
        }
        if reply.is_none() && !stop {
            let deadline = tokio::time::sleep(delay);
            tokio::pin!(deadline);
            while batch.len() < MAX_BATCH {
                tokio::select! {
                    _ = &mut deadline => break,
                    next = spans.recv() => match next {
                        Some(span) => batch.push(span),
                        None => break,
                    },
                }
            }
        }
        if reply.is_some() || stop {
            while batch.len() < MAX_BATCH * 8 {
                match spans.try_recv() {
                    Ok(span) => batch.push(span),
                    Err(_) => break,
                }
            }
        }
        while !batch.is_empty() {
            let take = batch.len().min(MAX_BATCH);
            let chunk: Vec<SpanData> = batch.drain(..take).collect();
            send(&exporter, chunk, timeout, &mut failing).await;
        }
        if let Some(tx) = reply {
            let _ = tx.send(());
        }
        if stop {
            let mut left = 0;
            while spans.try_recv().is_ok() {
                left += 1;
            }
            COUNTERS
                .dropped
                .with_label_values(&["shutdown"])
                .inc_by(left);
            let _ = exporter.shutdown();
            return;
        }
    }
}

/// The process's subscriber, for the export thread's few messages (set by `telemetry::init`).
pub(super) static LOGGER: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();

fn log(failing: bool, why: &str) {
    if let Some(d) = LOGGER.get() {
        tracing::dispatcher::with_default(d, || {
            if failing {
                tracing::warn!(
                    error = why,
                    "span export failing: spans are dropped and counted in educoin_trace_spans_dropped_total"
                );
            } else {
                tracing::info!("span export recovered");
            }
        });
    }
}

async fn send(
    exporter: &opentelemetry_otlp::SpanExporter,
    batch: Vec<SpanData>,
    timeout: Duration,
    failing: &mut bool,
) {
    let n = batch.len() as u64;
    let failure = match tokio::time::timeout(timeout, exporter.export(batch)).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {timeout:?}")),
    };
    match failure {
        None => {
            COUNTERS.exported.inc_by(n);
            if std::mem::replace(failing, false) {
                log(false, "");
            }
        }
        Some(why) => {
            COUNTERS
                .dropped
                .with_label_values(&["export_failed"])
                .inc_by(n);
            // Once per outage, not once per batch.
            if !std::mem::replace(failing, true) {
                log(true, &why);
            }
        }
    }
}
