//! Logs, traces and error reports: the OTEL_* settings (and the seed's `JAEGER_ENDPOINT`) checked and
//! grouped.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::settings::Settings;

/// Where traces go and how many are kept (src/telemetry/); every field has its OTEL_* setting.
#[derive(Clone, Debug)]
pub struct TracingConfig {
    /// The full traces URL (`<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`), `None`: export off.
    pub traces_url: Option<String>,
    /// Set when the URL came from `JAEGER_ENDPOINT`: what was given, for the start-up log line.
    pub mapped_from_jaeger: Option<String>,
    pub service_name: String,
    /// Follow a sampled/unsampled parent; only new traces use `ratio`.
    pub parent_based: bool,
    /// Share of new traces sampled, 0 to 1.
    pub ratio: f64,
    pub export_timeout: Duration,
    pub max_queue: usize,
    pub schedule_delay: Duration,
}

/// Logs, traces and error reports.
#[derive(Clone, Debug)]
pub struct ObservabilityConfig {
    /// auto, journald, json or pretty (`LOG_FORMAT`).
    pub log_format: String,
    pub tracing: TracingConfig,
    pub sentry_dsn: Option<SecretString>,
    /// `STATE_DIRECTORY`: its filesystem's free bytes are a metric (`src/ops/disk.rs`).
    pub state_directory: PathBuf,
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL, the signal path appended as the spec says) or the
/// seed's `JAEGER_ENDPOINT` (Jaeger's Thrift collector URL; Jaeger takes OTLP/HTTP on port 4318 of
/// the same host). Returns the traces URL and, when mapped, the Jaeger URL it came from.
pub fn traces_url(
    otlp: Option<&str>,
    jaeger: Option<&str>,
) -> Result<Option<(String, Option<String>)>, String> {
    let check = |name: &str, raw: &str| -> Result<url::Url, String> {
        match url::Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
            _ => Err(format!("{name}: {raw:?} is not an http(s) URL")),
        }
    };
    if let Some(raw) = otlp.filter(|r| !r.trim().is_empty()) {
        check("OTEL_EXPORTER_OTLP_ENDPOINT", raw)?;
        return Ok(Some((
            format!("{}/v1/traces", raw.trim_end_matches('/')),
            None,
        )));
    }
    if let Some(raw) = jaeger.filter(|r| !r.trim().is_empty()) {
        let mut u = check("JAEGER_ENDPOINT", raw)?;
        let _ = u.set_port(Some(4318));
        u.set_path("/v1/traces");
        u.set_query(None);
        return Ok(Some((u.to_string(), Some(raw.to_owned()))));
    }
    Ok(None)
}

/// The observability group, with its problems (a bad URL, sampler or ratio).
pub(super) fn observability(s: &Settings, problems: &mut Vec<String>) -> ObservabilityConfig {
    if !matches!(
        s.log_format.as_str(),
        "auto" | "journald" | "json" | "pretty"
    ) {
        problems.push("LOG_FORMAT must be auto, journald, json or pretty".into());
    }
    let traces = traces_url(
        s.otel_exporter_otlp_endpoint.as_deref(),
        s.jaeger_endpoint.as_deref(),
    )
    .unwrap_or_else(|e| {
        problems.push(e);
        None
    });
    let (parent_based, always) = match s.otel_traces_sampler.as_str() {
        "parentbased_traceidratio" => (true, None),
        "parentbased_always_on" => (true, Some(1.0)),
        "parentbased_always_off" => (true, Some(0.0)),
        "traceidratio" => (false, None),
        "always_on" => (false, Some(1.0)),
        "always_off" => (false, Some(0.0)),
        other => {
            problems.push(format!(
                "OTEL_TRACES_SAMPLER: {other:?} is not one of parentbased_traceidratio, \
                 parentbased_always_on, parentbased_always_off, traceidratio, always_on, always_off"
            ));
            (true, None)
        }
    };
    let arg = s.otel_traces_sampler_arg;
    if !(0.0..=1.0).contains(&arg) {
        problems.push("OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1".into());
    }
    let (traces_url, mapped_from_jaeger) = traces.unzip();
    ObservabilityConfig {
        log_format: s.log_format.clone(),
        tracing: TracingConfig {
            traces_url,
            mapped_from_jaeger: mapped_from_jaeger.flatten(),
            service_name: s.otel_service_name.clone(),
            parent_based,
            ratio: always.unwrap_or(arg.clamp(0.0, 1.0)),
            export_timeout: s.otel_exporter_otlp_timeout,
            max_queue: s.otel_bsp_max_queue_size.max(1),
            schedule_delay: s.otel_bsp_schedule_delay,
        },
        sentry_dsn: s.sentry_dsn.clone(),
        state_directory: s.state_directory.clone(),
    }
}
