//! Traces and error reports against real receivers: the real binary exports OTLP/HTTP protobuf to
//! `tests/services/otlp_receiver.py` (decoded with the official `opentelemetry-proto` package) and
//! reports to `tests/services/sentry_sink.py` (envelopes parsed by the official `sentry-sdk`).
//! A missing Python package fails these tests; it never skips them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::accounts::{SUPER_EMAIL, SUPER_PASSWORD};
use crate::support::services::{die_with_parent, free_port, start_ready_peer};

const BIN: &str = env!("CARGO_BIN_EXE_educoin");

/// A Python receiver from tests/services on a free loopback port, keeping what it receives as JSON
/// lines; killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start(script: &str, module: &str, pin: &str) -> Receiver {
        let probe = Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .output()
            .expect("python3 is needed for the telemetry tests");
        assert!(
            probe.status.success(),
            "{module} is missing, and {script} needs it: run `python3 -m pip install '{pin}'` \
             (scripts/test.sh installs tests/services/requirements.txt)\n{}",
            String::from_utf8_lossy(&probe.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("received.jsonl");
        let (child, port) = start_ready_peer("python3", script, &[out.to_str().unwrap()]);
        Receiver {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Waits until `done` holds for what was received (generous: the machine may be loaded).
    async fn wait_for(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never received; got {got:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real binary with JSON logs in a file, its own SQLite, a super admin, and `env`.
struct Server {
    child: Child,
    base: String,
    metrics: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(env: &[(&str, String)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (port, metrics_port) = (free_port(), free_port());
        let log = dir.path().join("server.log");
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NODE_ENV", "test")
            .env("IP_ADDRESS", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("METRICS_ADDRESS", format!("127.0.0.1:{metrics_port}"))
            .env("STATE_DIRECTORY", dir.path())
            .env("LOG_LEVEL", "info")
            .env("LOG_FORMAT", "json")
            .env("EDUCOIN_TEST_HOOKS", "1")
            .env("SUPER_ADMIN_EMAIL", SUPER_EMAIL)
            .env("SUPER_ADMIN_PASSWORD", SUPER_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        die_with_parent(&mut cmd);
        let server = Server {
            child: cmd.spawn().expect("start the server"),
            base: format!("http://127.0.0.1:{port}/api/v1"),
            metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            let ready = client
                .get(format!("{}/health/ready", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not become ready: {}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn logs(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::get(&self.metrics)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} not in the scrape:\n{text}"))
    }

    /// SIGTERM, then the exit: queued spans and reports are flushed on the way out.
    fn stop(mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn admin_token(client: &reqwest::Client, base: &str) -> String {
    let res: Value = client
        .post(format!("{base}/auth/login"))
        .header("Authorization", "Bearer null")
        .json(&json!({"email": SUPER_EMAIL, "password": SUPER_PASSWORD, "remember": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The login answers the access token as `data` (CLIENT-CONTRACT).
    res["data"]
        .as_str()
        .unwrap_or_else(|| panic!("an access token in {res}"))
        .to_owned()
}

const OTLP_PIN: &str = "opentelemetry-proto==1.45.2";
const SENTRY_PIN: &str = "sentry-sdk==2.75.0";

/// One request with a `traceparent` is one trace: the request span, parented under the caller's
/// span, with the store's client spans as its children; and every log line of the request
/// carries that trace id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_one_trace_with_store_children_and_joined_logs() {
    let otlp = Receiver::start(
        "otlp_receiver.py",
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
        OTLP_PIN,
    );
    let server = Server::start(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", otlp.port),
        ),
        ("OTEL_SERVICE_NAME", "educoin-test".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50".into()),
    ])
    .await;
    let client = reqwest::Client::new();
    let token = admin_token(&client, &server.base).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let res = client
        .get(format!("{}/admin/profile", server.base))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .header("tracestate", "vendor=opaque")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();

    let spans = otlp
        .wait_for("the request span", |got| {
            got.iter()
                .any(|s| s["trace_id"] == trace_id && s["kind"] == 2)
        })
        .await;
    assert!(
        spans.iter().all(|s| s.get("error").is_none()),
        "the receiver refused an export: {spans:#?}"
    );
    let trace: Vec<&Value> = spans.iter().filter(|s| s["trace_id"] == trace_id).collect();
    let requests: Vec<&&Value> = trace.iter().filter(|s| s["kind"] == 2).collect();
    assert_eq!(requests.len(), 1, "one request span: {trace:#?}");
    let request = requests[0];
    assert_eq!(request["parent_span_id"], caller_span, "{request:#}");
    assert_eq!(request["name"], "GET /api/v1/admin/profile");
    let attributes = &request["attributes"];
    assert_eq!(attributes["http.route"], "/api/v1/admin/profile");
    assert_eq!(attributes["method"], "GET");
    assert_eq!(attributes["request_id"], request_id.as_str());
    assert_eq!(
        attributes["http.response.status_code"]
            .to_string()
            .trim_matches('"'),
        "200"
    );
    assert!(
        attributes["user.role"].is_string(),
        "the caller's role: {attributes:#}"
    );
    assert_eq!(request["resource"]["service.name"], "educoin-test");
    assert_eq!(request["content_type"], "application/x-protobuf");

    // The store calls of this request are client spans under it (spans arrive in batches: wait).
    let spans = otlp
        .wait_for("the store spans", |got| {
            got.iter().any(|s| {
                s["trace_id"] == trace_id
                    && s["parent_span_id"] == request["span_id"]
                    && s["kind"] == 3
            })
        })
        .await;
    let children: Vec<&Value> = spans
        .iter()
        .filter(|s| s["trace_id"] == trace_id && s["parent_span_id"] == request["span_id"])
        .collect();
    assert!(
        children
            .iter()
            .any(|s| s["attributes"]["peer.service"] == "sqlite" && s["kind"] == 3),
        "a store span under the request: {children:#?}"
    );
    // Nothing of the caller's secret travels in a span.
    let all = serde_json::to_string(&spans).unwrap();
    assert!(!all.contains(&token) && !all.contains(SUPER_PASSWORD));

    // The logs of the request carry its trace and span ids.
    let lines: Vec<Value> = server
        .logs()
        .into_iter()
        .filter(|l| l["span"]["request_id"] == request_id.as_str())
        .collect();
    assert!(!lines.is_empty(), "log lines of the request");
    for line in &lines {
        assert_eq!(line["trace_id"], trace_id, "{line}");
        assert!(
            line["span_id"].as_str().is_some_and(|s| s.len() == 16),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l["span_id"] == request["span_id"] && l["message"] == "request served"),
        "the access log line names the request span: {lines:#?}"
    );
    server.stop();
}

/// A collector that accepts connections and never answers: every request is still answered
/// (while not one span was ever accepted, so nothing waited on the collector), and the spans
/// that could not go are dropped and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_down_requests_unaffected_spans_dropped_and_counted() {
    // Bound, listening, never accepting: connections hang in the backlog with no answer.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::start(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{}", hung.local_addr().unwrap()),
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "20".into()),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "16".into()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "300".into()),
    ])
    .await;
    let client = reqwest::Client::new();
    let token = admin_token(&client, &server.base).await;
    // Parallel clients on keep-alive connections.
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
        workers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..25 {
                let res = client
                    .get(format!("{base}/admin/profile"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("answered");
                statuses.push(res.status().as_u16());
            }
            statuses
        }));
    }
    let mut answered = 0;
    for w in workers {
        for status in w.await.unwrap() {
            assert_eq!(status, 200);
            answered += 1;
        }
    }
    assert_eq!(answered, 200);
    assert_eq!(
        server.metric("educoin_trace_spans_exported_total").await,
        0.0,
        "the collector never answered, yet every request was"
    );
    // The export thread keeps timing out; wait until it has given up on some batches.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let full = server
            .metric("educoin_trace_spans_dropped_total{reason=\"queue_full\"}")
            .await;
        let failed = server
            .metric("educoin_trace_spans_dropped_total{reason=\"export_failed\"}")
            .await;
        // 200 requests, each a request span and store spans, through a queue of 16.
        if full > 0.0 && failed > 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spans not counted as dropped: queue_full {full}, export_failed {failed}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let warned = server.logs().into_iter().any(|l| {
        l["level"] == "WARN"
            && l["message"]
                .as_str()
                .is_some_and(|m| m.contains("span export failing"))
    });
    assert!(warned, "the outage is logged once");
    server.stop();
    drop(hung);
}

/// A panic while serving a request is one Sentry event with the route, method, request id and
/// release, and none of the request's secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_one_sentry_event_with_the_route_and_no_secrets() {
    let sentry = Receiver::start("sentry_sink.py", "sentry_sdk.envelope", SENTRY_PIN);
    let server = Server::start(&[(
        "SENTRY_DSN",
        format!("http://0123456789abcdef@127.0.0.1:{}/42", sentry.port),
    )])
    .await;
    let client = reqwest::Client::new();
    let token = admin_token(&client, &server.base).await;
    let res = client
        .get(format!("{}/test/panic?token=query-secret-123", server.base))
        .bearer_auth(&token)
        .header("Cookie", "session=cookie-secret-456")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("deliberate"),
        "the client sees no panic detail: {body}"
    );
    sentry
        .wait_for("the panic event", |got| {
            got.iter().any(|i| i["type"] == "event")
        })
        .await;
    // Stopping flushes whatever else was queued: a second event would be there now.
    server.stop();
    let items = sentry.received();
    assert!(items.iter().all(|i| i.get("error").is_none()), "{items:#?}");
    let events: Vec<&Value> = items.iter().filter(|i| i["type"] == "event").collect();
    assert_eq!(events.len(), 1, "one event for one panic: {events:#?}");
    let event = &events[0]["payload"];
    let tags = &event["tags"];
    assert_eq!(tags["http.route"], "/api/v1/test/panic", "{event:#}");
    assert_eq!(tags["http.method"], "GET");
    assert_eq!(tags["http.status_code"], "500");
    assert_eq!(tags["request_id"], request_id.as_str());
    assert_eq!(
        event["release"],
        concat!("educoin@", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(event["transaction"], "GET /api/v1/test/panic");
    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], "panic");
    assert!(
        exception["value"]
            .as_str()
            .is_some_and(|v| v.contains("deliberate panic")),
        "{exception:#}"
    );
    assert!(
        events[0]["auth"]
            .as_str()
            .is_some_and(|a| a.contains("sentry_key=0123456789abcdef"))
    );
    let raw = events[0]["raw"].as_str().unwrap();
    for secret in [
        token.as_str(),
        SUPER_PASSWORD,
        "query-secret-123",
        "cookie-secret-456",
        "Authorization",
        "authorization",
    ] {
        assert!(!raw.contains(secret), "{secret} sent to Sentry: {raw}");
    }
    assert!(event.get("request").is_none_or(Value::is_null), "{event:#}");
}

/// A Stripe-shaped server on a free loopback port: answers every call with one PaymentIntent and
/// keeps the `traceparent` header of each request it got.
async fn fake_stripe() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                // The head, then as much body as it announces.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + length {
                            let parent = head
                                .lines()
                                .find_map(|l| l.strip_prefix("traceparent:"))
                                .map(|v| v.trim().to_owned())
                                .unwrap_or_default();
                            keep.lock().unwrap().push(parent);
                            break;
                        }
                    }
                }
                let body = json!({"id": "pi_fake1", "object": "payment_intent",
                    "status": "requires_payment_method", "amount": 1000,
                    "client_secret": "pi_fake1_secret_x"})
                .to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (base, seen)
}

/// A Stripe call made for a request is a client span (`peer.service` stripe, named after the
/// API call) under the request span, and the outbound request carries that span's `traceparent`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_call_is_a_client_span_and_carries_the_traceparent() {
    let otlp = Receiver::start(
        "otlp_receiver.py",
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
        OTLP_PIN,
    );
    let (stripe, seen) = fake_stripe().await;
    let server = Server::start(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", otlp.port),
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "50".into()),
        ("STRIPE_SECRET_KEY", "sk_test_fake".into()),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_fake".into()),
        ("STRIPE_WEBHOOK_SECRET", "whsec_fake_secret".into()),
        ("STRIPE_API_BASE", stripe),
    ])
    .await;
    let client = reqwest::Client::new();
    let base = &server.base;
    let password = "Correct-horse-9";
    let res = client
        .post(format!("{base}/teacher/sign-up"))
        .json(
            &json!({"name": "Span Teacher", "email": "span@example.com", "contact": "0400000000",
                      "location": "Here", "password": password, "confirm_password": password}),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let login: Value = client
        .post(format!("{base}/teacher/login"))
        .json(&json!({"email": "span@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"].as_str().expect("a token").to_owned();
    let project: Value = client
        .post(format!("{base}/project"))
        .bearer_auth(&token)
        .json(
            &json!({"title": "Books for our reading corner", "description": "Twenty picture books.",
                      "class": "2B", "goal": 10000}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project = project["data"]["_id"]
        .as_str()
        .expect("a project")
        .to_owned();

    let trace_id = "5bf92f3577b34da6a3ce929d0e0e4737";
    let res = client
        .post(format!("{base}/fund/{project}/payment-intent"))
        .header("Idempotency-Key", "span-1")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({"amount": 1000}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    // The request's own span ends after the response is written, so it may be exported later.
    let spans = otlp
        .wait_for("the Stripe client span and the request span", |got| {
            let in_trace = |s: &&Value| s["trace_id"] == trace_id;
            got.iter()
                .filter(in_trace)
                .any(|s| s["attributes"]["peer.service"] == "stripe")
                && got.iter().filter(in_trace).any(|s| s["kind"] == 2)
        })
        .await;
    let trace: Vec<&Value> = spans.iter().filter(|s| s["trace_id"] == trace_id).collect();
    let call = trace
        .iter()
        .find(|s| s["attributes"]["peer.service"] == "stripe")
        .unwrap();
    assert_eq!(call["name"], "payment_intents.create", "{call:#}");
    assert_eq!(call["kind"], 3, "a client span: {call:#}");
    let request = trace
        .iter()
        .find(|s| s["kind"] == 2)
        .expect("the request span");
    assert_eq!(call["parent_span_id"], request["span_id"], "{trace:#?}");
    let sent = seen.lock().unwrap().clone();
    let expected = format!("00-{trace_id}-{}-01", call["span_id"].as_str().unwrap());
    assert!(sent.contains(&expected), "{expected} in {sent:?}");
    server.stop();
}
