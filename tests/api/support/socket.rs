//! The official Socket.IO client (`socket.io-client`, pinned in tests/services/package.json) as a
//! test peer: `tests/services/socket_client.js` runs in node and reports what happens as JSON lines.
//!
//! ```ignore
//! let mut socket = SocketClient::connect(&app, &student.token, SocketTransport::WebSocket).await;
//! // ... something that notifies the student ...
//! let (name, notification) = socket.next_event(WAIT).await;
//! assert_eq!(name, format!("notification::{}", student.id.as_str()));
//! other_socket.assert_no_event(Duration::from_millis(500)).await;
//! ```

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::TestApp;
use super::services::die_with_parent;

/// A generous wait for something that should happen (never a performance assertion).
pub const WAIT: Duration = Duration::from_secs(15);

/// How the client reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketTransport {
    /// `transports: ['websocket']`, as the mobile app connects.
    WebSocket,
    /// The default (`['polling', 'websocket']`): long-polling first, then the upgrade; the dashboard.
    PollingThenUpgrade,
    /// `transports: ['polling']`: long-polling only.
    Polling,
}

impl SocketTransport {
    fn transports(self) -> Value {
        match self {
            SocketTransport::WebSocket => json!(["websocket"]),
            SocketTransport::PollingThenUpgrade => json!(["polling", "websocket"]),
            SocketTransport::Polling => json!(["polling"]),
        }
    }
}

/// One connection of the official client, which never reconnects by itself.
pub struct SocketClient {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Value>,
    /// Every line seen so far, for failure messages.
    seen: Vec<Value>,
    upgraded: bool,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/services/socket_client.js")
}

impl SocketClient {
    /// Starts a client with the raw options of `socket_client.js` (`auth`, `query`,
    /// `extraHeaders`, ...) on `app`; `transport` chooses `transports`. Does not wait.
    pub fn spawn(app: &TestApp, transport: SocketTransport, mut options: Value) -> SocketClient {
        let module = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/services/node_modules/socket.io-client");
        assert!(
            module.exists(),
            "{} is missing: run `npm ci --prefix tests/services` (scripts/test.sh does)",
            module.display()
        );
        options["url"] = json!(app.url(""));
        options["transports"] = transport.transports();
        let mut cmd = Command::new("node");
        cmd.arg(script())
            .arg(options.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().expect("start node (is it installed?)");
        let stdout = child.stdout.take().expect("client stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("socket client: {line}"),
                }
            }
        });
        SocketClient {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            upgraded: false,
        }
    }

    /// Connects with `auth: {token}` and waits until the namespace is joined.
    pub async fn connect(app: &TestApp, token: &str, transport: SocketTransport) -> SocketClient {
        let mut client = SocketClient::spawn(app, transport, json!({ "auth": { "token": token } }));
        client.expect_connect().await;
        client
    }

    /// The next line of any type, or `None` after `within`.
    pub async fn next_line(&mut self, within: Duration) -> Option<Value> {
        match tokio::time::timeout(within, self.lines.recv()).await {
            Ok(Some(v)) => {
                self.upgraded |= v["type"] == "upgrade";
                self.seen.push(v.clone());
                Some(v)
            }
            Ok(None) | Err(_) => None,
        }
    }

    /// Waits for a line of `kind` (`connect`, `connect_error`, `event`, `disconnect`, `upgrade`),
    /// skipping `upgrade` lines unless asked for; any other line first fails the test.
    pub async fn expect(&mut self, kind: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(line) = self.next_line(left).await else {
                panic!(
                    "no {kind:?} from the socket client within {within:?}; it said: {:?}",
                    self.seen
                );
            };
            if line["type"] == kind {
                return line;
            }
            if line["type"] == "upgrade" {
                continue;
            }
            panic!(
                "expected {kind:?} from the socket client, got {line}; it said: {:?}",
                self.seen
            );
        }
    }

    /// Waits for the namespace connection; returns its line (`id`, `transport`, `openedWith`).
    pub async fn expect_connect(&mut self) -> Value {
        self.expect("connect", WAIT).await
    }

    /// Waits for the refusal; returns `{message, data}`.
    pub async fn expect_connect_error(&mut self) -> Value {
        self.expect("connect_error", WAIT).await
    }

    /// Waits for the transport to become a WebSocket (it may have, before the namespace connected).
    pub async fn expect_upgrade(&mut self) {
        if self.upgraded {
            return;
        }
        match self.next_line(WAIT).await {
            Some(l) if l["type"] == "upgrade" => {
                assert_eq!(l["transport"], "websocket", "{l}");
            }
            Some(l) => panic!("expected the upgrade, got {l}; it said: {:?}", self.seen),
            None => panic!("no upgrade within {WAIT:?}; it said: {:?}", self.seen),
        }
    }

    /// The next event: its name and its (single) argument.
    pub async fn next_event(&mut self, within: Duration) -> (String, Value) {
        let line = self.expect("event", within).await;
        let name = line["name"].as_str().unwrap_or_default().to_owned();
        (name, line["args"][0].clone())
    }

    /// Fails if any event (or disconnect) arrives during `during`.
    pub async fn assert_no_event(&mut self, during: Duration) {
        let deadline = tokio::time::Instant::now() + during;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.next_line(left).await {
                None => return,
                Some(l) if l["type"] == "upgrade" => continue,
                Some(l) => panic!("expected nothing, got {l}"),
            }
        }
    }

    /// Waits for the disconnect; returns `{reason, code, description}`.
    pub async fn expect_disconnect(&mut self, within: Duration) -> Value {
        self.expect("disconnect", within).await
    }

    /// Disconnects cleanly from the client side and waits for the client to say so.
    pub async fn close(mut self) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(b"close\n");
            let _ = stdin.flush();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        while let Some(l) = self
            .next_line(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            if l["type"] == "closed" {
                return;
            }
        }
    }
}

impl Drop for SocketClient {
    fn drop(&mut self) {
        // Closing its input ends the client; kill it anyway so that a hung one cannot outlive us.
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
