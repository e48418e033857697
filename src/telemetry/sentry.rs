//! Error reports to Sentry (`SENTRY_DSN`; off without it): a panic while serving a request, or any
//! 5xx answer, becomes one event with the route template, method, request id, status and release;
//! `tracing` error events outside requests (jobs, start-up) become events through sentry's tracing
//! layer. Every event passes [`scrub`] (`before_send`): no request headers, bodies, cookies, query
//! strings or user data leave the process, and tokens, passwords and codes are masked wherever
//! they appear in text. Envelopes go over our reqwest 0.12 client on a thread of their own, through
//! a bounded queue: a Sentry that is down never slows a request.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sentry::integrations::panic::PanicIntegration;
use sentry::protocol::{Event, Level, Value};
use sentry::{ClientOptions, Envelope, Transport};

use crate::config::Environment;

static ENABLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while this thread polls a request (`InRequest`): a panic then waits for the response.
    static IN_REQUEST: Cell<bool> = const { Cell::new(false) };
    /// The event of a panic caught while serving a request, until the catch-panic layer takes it.
    static PANIC: RefCell<Option<Event<'static>>> = const { RefCell::new(None) };
}

/// A panic's event, carried on the 500 response to `report`, which adds the route.
#[derive(Clone)]
pub struct PanicReport(pub Event<'static>);

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Called by the process's panic hook. In a request the event waits for the response (which knows
/// the route); elsewhere it is sent at once.
pub fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    if !enabled() {
        return;
    }
    let event = PanicIntegration::new().event_from_panic_info(info);
    if IN_REQUEST.with(Cell::get) {
        PANIC.with(|p| *p.borrow_mut() = Some(event));
    } else {
        sentry::capture_event(event);
    }
}

/// The panic caught on this thread, for the catch-panic layer's 500 response.
pub fn take_panic() -> Option<PanicReport> {
    if !enabled() {
        return None;
    }
    PANIC.with(|p| p.borrow_mut().take()).map(PanicReport)
}

/// Marks the polls of a request's future, so that a panic in it is reported with the request.
pub struct InRequest<F>(pub F);

impl<F: std::future::Future> std::future::Future for InRequest<F> {
    type Output = F::Output;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        // SAFETY: the inner future is never moved out of the pinned wrapper.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        let before = IN_REQUEST.with(|f| f.replace(true));
        let out = inner.poll(cx);
        IN_REQUEST.with(|f| f.set(before));
        out
    }
}

/// What `Observe` knows of a request once it is answered.
pub struct Served<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub request_id: &'a str,
    pub status: u16,
}

/// Reports a 5xx answer (with its panic, when the handler panicked) as one event. The health
/// probes are left out: their 503 is the answer they exist to give while a dependency is down
/// (the alerts report that), not a fault of the server.
pub fn report(served: &Served<'_>, panic: Option<PanicReport>) {
    if !enabled() || served.status < 500 || served.route.starts_with("/api/v1/health") {
        return;
    }
    let mut event = match panic {
        Some(PanicReport(event)) => event,
        None => Event {
            message: Some(format!(
                "{} answered {} {}",
                served.status, served.method, served.route
            )),
            level: Level::Error,
            ..Default::default()
        },
    };
    event.transaction = Some(format!("{} {}", served.method, served.route));
    let tags = &mut event.tags;
    tags.insert("http.route".into(), served.route.to_owned());
    tags.insert("http.method".into(), served.method.to_owned());
    tags.insert("http.status_code".into(), served.status.to_string());
    tags.insert("request_id".into(), served.request_id.to_owned());
    sentry::capture_event(event);
}

/// Starts the client; `None` (with an error logged later by `init`'s warning) when the DSN is bad.
pub fn start(
    dsn: &SecretString,
    environment: Environment,
    server_name: &str,
) -> Option<sentry::ClientInitGuard> {
    let dsn: sentry::types::Dsn = match dsn.expose_secret().parse() {
        Ok(dsn) => dsn,
        Err(_) => {
            // Logging is not installed yet; the DSN itself is never printed.
            eprintln!("educoin: SENTRY_DSN is not a valid DSN; error reporting is off");
            return None;
        }
    };
    let options = ClientOptions {
        dsn: Some(dsn),
        release: Some(concat!("educoin@", env!("CARGO_PKG_VERSION")).into()),
        environment: Some(environment.as_str().into()),
        server_name: Some(server_name.to_owned().into()),
        send_default_pii: false,
        // The panic hook is ours (`on_panic`); sentry's own would report each panic a second time.
        default_integrations: false,
        before_send: Some(Arc::new(scrub)),
        transport: Some(Arc::new(|options: &ClientOptions| {
            Arc::new(HttpTransport::start(options)) as Arc<dyn Transport>
        })),
        ..Default::default()
    };
    let guard = sentry::init(options);
    ENABLED.store(true, Ordering::Relaxed);
    Some(guard)
}

/// Sentry's tracing layer: error events outside requests become events (request errors are
/// reported once, by `report`); no breadcrumbs (they would mix other requests' log lines into an
/// event) and no performance spans (OpenTelemetry has those).
pub fn layer() -> super::Extra {
    use sentry::integrations::tracing::EventFilter;
    Box::new(
        sentry::integrations::tracing::layer()
            .event_filter(|md| {
                let ours = md.target() == "educoin::panic"
                    || md.module_path() == Some("educoin::http::error");
                match *md.level() {
                    tracing::Level::ERROR if !ours => EventFilter::Event,
                    _ => EventFilter::Ignore,
                }
            })
            .span_filter(|_| false),
    )
}

/// Names of fields whose values are never sent (case-insensitive substring match).
const SENSITIVE: &[&str] = &[
    "authorization",
    "cookie",
    "token",
    "password",
    "passcode",
    "secret",
    "otp",
    "reset_code",
    "api_key",
    "apikey",
    "private_key",
    "dsn",
    "session",
    "email",
];

/// The tags `report` sets itself, from values that are never secret.
const OURS: &[&str] = &[
    "http.route",
    "http.method",
    "http.status_code",
    "request_id",
];

fn sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "key" || name == "code" || SENSITIVE.iter().any(|s| name.contains(s))
}

const MASK: &str = "[scrubbed]";

/// Masks secrets in free text: bearer tokens, JWT-shaped tokens, `name=value` / `name: value`
/// pairs whose name is sensitive, and long runs of hex or base64 (keys, hashes, codes).
pub fn scrub_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut mask_next = false;
    for word in text.split_inclusive(char::is_whitespace) {
        let (core, tail) = split_trailing_ws(word);
        let masked = std::mem::take(&mut mask_next);
        if masked {
            out.push_str(MASK);
            out.push_str(tail);
            continue;
        }
        let lower = core.to_ascii_lowercase();
        if lower == "bearer"
            || (sensitive(lower.trim_end_matches([':', '=']))
                && (lower.ends_with(':') || lower.ends_with('=')))
        {
            // "Bearer <token>", "password: <value>", "token= <value>"
            out.push_str(core);
            out.push_str(tail);
            mask_next = true;
            continue;
        }
        if let Some((name, _value)) = core.split_once(['=', ':'])
            && sensitive(name)
            && !name.is_empty()
        {
            let sep = &core[name.len()..name.len() + 1];
            out.push_str(name);
            out.push_str(sep);
            out.push_str(MASK);
            out.push_str(tail);
            continue;
        }
        if looks_secret(core) {
            out.push_str(MASK);
        } else {
            out.push_str(core);
        }
        out.push_str(tail);
    }
    out
}

fn split_trailing_ws(word: &str) -> (&str, &str) {
    let core = word.trim_end();
    (core, &word[core.len()..])
}

/// A JWT (three base64url parts, the first `eyJ`) or 20+ characters of the hex/base64url alphabet
/// with digits and letters in them (an id of 24 hex digits is kept: ObjectIds are not secrets; a
/// path, with its slashes, is kept too).
fn looks_secret(word: &str) -> bool {
    let w = word.trim_matches(|c: char| "\"'`,;()[]{}<>".contains(c));
    if w.starts_with("eyJ") && w.matches('.').count() == 2 {
        return true;
    }
    let is_object_id = w.len() == 24 && w.chars().all(|c| c.is_ascii_hexdigit());
    w.len() >= 20
        && !is_object_id
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c))
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars().any(|c| c.is_ascii_alphabetic())
}

fn scrub_value(key: &str, value: &mut Value) {
    if sensitive(key) {
        *value = Value::String(MASK.into());
        return;
    }
    match value {
        Value::String(s) => *s = scrub_text(s),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value("", v)),
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| scrub_value(k, v)),
        _ => {}
    }
}

/// `before_send`: what leaves the process. Request data and the user are removed outright (we
/// never attach them, but an integration might); text is masked; sensitive keys are masked.
pub fn scrub(mut event: Event<'static>) -> Option<Event<'static>> {
    event.request = None;
    event.user = None;
    if let Some(m) = event.message.as_mut() {
        *m = scrub_text(m);
    }
    if let Some(logentry) = event.logentry.as_mut() {
        logentry.message = scrub_text(&logentry.message);
        logentry.params.iter_mut().for_each(|v| scrub_value("", v));
    }
    for exception in event.exception.values.iter_mut() {
        if let Some(v) = exception.value.as_mut() {
            *v = scrub_text(v);
        }
        if let Some(trace) = exception.stacktrace.as_mut() {
            for frame in trace.frames.iter_mut() {
                frame.vars.iter_mut().for_each(|(k, v)| scrub_value(k, v));
            }
        }
    }
    event.extra.iter_mut().for_each(|(k, v)| scrub_value(k, v));
    let tags: Vec<(String, String)> = std::mem::take(&mut event.tags).into_iter().collect();
    for (k, v) in tags {
        let v = if OURS.contains(&k.as_str()) {
            v
        } else if sensitive(&k) {
            MASK.to_owned()
        } else {
            scrub_text(&v)
        };
        event.tags.insert(k, v);
    }
    for (_, context) in event.contexts.iter_mut() {
        if let sentry::protocol::Context::Other(map) = context {
            map.iter_mut().for_each(|(k, v)| scrub_value(k, v));
        }
    }
    event.breadcrumbs.values.clear();
    Some(event)
}

/// Envelopes to Sentry over reqwest 0.12 (sentry's own transport would pull another reqwest), from
/// a bounded queue drained by one thread; a full queue drops the envelope.
struct HttpTransport {
    queue: SyncSender<Job>,
}

enum Job {
    Send(Box<Envelope>),
    Flush(SyncSender<()>),
}

const QUEUE: usize = 64;

impl HttpTransport {
    fn start(options: &ClientOptions) -> HttpTransport {
        let (queue, jobs) = std::sync::mpsc::sync_channel(QUEUE);
        let target = options.dsn.as_ref().map(|dsn| {
            (
                dsn.envelope_api_url().to_string(),
                dsn.to_auth(Some(&options.user_agent)).to_string(),
            )
        });
        let _ = std::thread::Builder::new()
            .name("sentry-send".into())
            .spawn(move || run(target, jobs));
        HttpTransport { queue }
    }
}

fn run(target: Option<(String, String)>, jobs: Receiver<Job>) {
    let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .ok();
    for job in jobs {
        match job {
            Job::Flush(done) => {
                let _ = done.send(());
            }
            Job::Send(envelope) => {
                let (Some((url, auth)), Some(client)) = (&target, &client) else {
                    continue;
                };
                let mut body = Vec::new();
                if envelope.to_writer(&mut body).is_err() {
                    continue;
                }
                // Built inside the runtime: reqwest arms its timeout when the request is made.
                let sent = client
                    .post(url)
                    .header("X-Sentry-Auth", auth)
                    .header("Content-Type", "application/x-sentry-envelope")
                    .body(body);
                let _ = runtime.block_on(async move { sent.send().await });
            }
        }
    }
}

impl Transport for HttpTransport {
    fn send_envelope(&self, envelope: Envelope) {
        if let Err(TrySendError::Full(_)) = self.queue.try_send(Job::Send(Box::new(envelope))) {
            // Sentry is slower than our errors: drop rather than wait.
        }
    }

    fn flush(&self, timeout: Duration) -> bool {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if self.queue.send(Job::Flush(tx)).is_err() {
            return true;
        }
        rx.recv_timeout(timeout).is_ok()
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        self.flush(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjEyMyJ9.c2lnbmF0dXJlMTIzNDU2Nzg5MA";

    #[test]
    fn text_loses_tokens_passwords_and_codes() {
        let text = format!(
            "login failed: Bearer {JWT} password=hunter2-secret token: abc refresh {JWT}, code=1234 \
             key 0123456789abcdef0123456789abcdef01 for 64b5f0c2a1b2c3d4e5f60718"
        );
        let out = scrub_text(&text);
        for secret in [
            JWT,
            "hunter2-secret",
            "abc",
            "1234",
            "0123456789abcdef0123456789abcdef01",
        ] {
            assert!(!out.contains(secret), "{secret} left in {out}");
        }
        // Plain words and ObjectIds stay: the report must still say what happened.
        assert!(out.contains("login failed"), "{out}");
        assert!(out.contains("64b5f0c2a1b2c3d4e5f60718"), "{out}");
    }

    #[test]
    fn before_send_removes_request_user_and_masks_every_secret() {
        use sentry::protocol::{Exception, Request, User};
        let mut event = Event {
            message: Some(format!("Authorization: Bearer {JWT}")),
            request: Some(Request {
                url: "https://api.example.org/api/v1/auth/login?token=abc"
                    .parse()
                    .ok(),
                data: Some(r#"{"password":"hunter2-secret"}"#.into()),
                headers: [("Authorization".to_owned(), format!("Bearer {JWT}"))]
                    .into_iter()
                    .collect(),
                cookies: Some("session=s3cr3t-cookie".into()),
                ..Default::default()
            }),
            user: Some(User {
                email: Some("teacher@example.org".into()),
                ip_address: Some("203.0.113.9".parse().unwrap()),
                ..Default::default()
            }),
            ..Default::default()
        };
        event.exception.values.push(Exception {
            ty: "panic".into(),
            value: Some("password=hunter2-secret in handler".into()),
            ..Default::default()
        });
        event.extra.insert("passcode".into(), "9876".into());
        event.extra.insert(
            "detail".into(),
            Value::String(format!("refresh token {JWT}")),
        );
        event.tags.insert("jwt_secret".into(), "abcdef".into());
        event
            .tags
            .insert("http.route".into(), "/api/v1/auth/login".into());
        let scrubbed = scrub(event).expect("kept");
        let json = serde_json::to_string(&scrubbed).unwrap();
        for secret in [
            JWT,
            "hunter2-secret",
            "s3cr3t-cookie",
            "teacher@example.org",
            "203.0.113.9",
            "9876",
            "abcdef",
            "token=abc",
        ] {
            assert!(!json.contains(secret), "{secret} left in {json}");
        }
        assert!(scrubbed.request.is_none() && scrubbed.user.is_none());
        assert_eq!(scrubbed.tags["http.route"], "/api/v1/auth/login");
    }
}
