//! The server as systemd and container runtimes see it: the real binary in its own process, with
//! sd_notify readiness, the watchdog, socket activation, graceful drain and config refusal.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::services::{die_with_parent, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_educoin");

/// The binary with a clean environment: development defaults, its own data dir, no metrics port
/// (tests run in parallel).
fn server(dir: &std::path::Path) -> Command {
    with_test_env(Command::new(BIN), dir)
}

fn with_test_env(mut cmd: Command, dir: &std::path::Path) -> Command {
    cmd.env_clear()
        .env("NODE_ENV", "test")
        .env("IP_ADDRESS", "127.0.0.1")
        .env("METRICS_ADDRESS", "off")
        .env("STATE_DIRECTORY", dir)
        .env("LOG_LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    die_with_parent(&mut cmd);
    cmd
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    use std::io::Write;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, response))
}

fn wait_until_serving(addr: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while http_get(addr, "/api/v1/health/ready").ok().map(|r| r.0) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "{addr} not ready within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sd_notify_ready_after_bind_watchdog_every_second_and_stopping_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = server(dir.path())
        .env("PORT", port.to_string())
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "2000000")
        .spawn()
        .unwrap();

    let mut buf = [0u8; 4096];
    let mut recv = |until: Instant| -> Option<(Instant, String)> {
        while Instant::now() < until {
            if let Ok(n) = socket.recv(&mut buf) {
                return Some((
                    Instant::now(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                ));
            }
        }
        None
    };

    // READY=1 comes only once the port accepts connections.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, msg) = recv(deadline).expect("READY=1 within 20 s");
        if msg.lines().any(|l| l == "READY=1") {
            assert!(
                TcpStream::connect(&addr).is_ok(),
                "READY=1 before the port accepted"
            );
            assert!(
                msg.contains("STATUS="),
                "READY comes with a STATUS line: {msg}"
            );
            break;
        }
    }

    // WATCHDOG=1 at half the 2 s interval: at least once a second.
    let window_end = Instant::now() + Duration::from_millis(3500);
    let mut pings = Vec::new();
    while let Some((at, msg)) = recv(window_end) {
        if msg.lines().any(|l| l == "WATCHDOG=1") {
            pings.push(at);
        }
    }
    assert!(
        pings.len() >= 3,
        "expected >= 3 watchdog pings in 3.5 s, got {}",
        pings.len()
    );
    for pair in pings.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap <= Duration::from_millis(1300), "watchdog gap {gap:?}");
    }

    signal(&child, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, msg) = recv(deadline).expect("STOPPING=1 after SIGTERM");
        if msg.lines().any(|l| l == "STOPPING=1") {
            break;
        }
    }
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn serves_on_a_socket_passed_by_systemd() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fd = listener.as_raw_fd();

    // `LISTEN_PID` must be the server's own pid: a shell sets it to `$$` and execs in place.
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c").arg(r#"LISTEN_PID=$$ exec "$EDUCOIN_BIN""#);
    let mut cmd = with_test_env(sh, dir.path());
    cmd.env("EDUCOIN_BIN", BIN)
        .env("LISTEN_FDS", "1")
        // Ignored in favour of the passed socket.
        .env("PORT", free_port().to_string());
    // SAFETY: dup2/fcntl are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                let flags = libc::fcntl(3, libc::F_GETFD);
                libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(listener); // the server holds its own copy now

    wait_until_serving(&addr, Duration::from_secs(20));
    let (status, body) = http_get(&addr, "/api/v1/health").unwrap();
    assert_eq!(status, 200, "{body}");

    signal(&child, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(10)).code(),
        Some(0)
    );
}

#[test]
fn sigterm_drains_the_in_flight_request_refuses_new_ones_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = server(dir.path())
        .env("PORT", port.to_string())
        .env("EDUCOIN_TEST_HOOKS", "1")
        .env("SHUTDOWN_TIMEOUT_SECS", "10")
        .spawn()
        .unwrap();
    wait_until_serving(&addr, Duration::from_secs(20));

    let slow_addr = addr.clone();
    let slow = std::thread::spawn(move || http_get(&slow_addr, "/api/v1/test/slow?ms=2000"));
    std::thread::sleep(Duration::from_millis(400)); // the request is in flight
    let sent_at = Instant::now();
    signal(&child, libc::SIGTERM);

    // New connections are refused soon after the signal, while the slow one is still running.
    let refused = (0..40).any(|_| {
        std::thread::sleep(Duration::from_millis(25));
        TcpStream::connect(&addr).is_err()
    });
    assert!(refused, "new connections still accepted during the drain");
    assert!(
        !slow.is_finished(),
        "the slow request should still be in flight"
    );

    let (status, body) = slow
        .join()
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(status, 200, "{body}");
    assert!(body.ends_with("done"), "{body}");
    let exit = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(exit.code(), Some(0));
    assert!(sent_at.elapsed() < Duration::from_secs(10));
}

#[test]
fn production_refuses_a_placeholder_secret_without_printing_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = server(dir.path())
        .env("NODE_ENV", "production")
        .env("JWT_SECRET", "dev-jwt-secret-change-in-production")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("JWT_SECRET looks like a placeholder"),
        "{stderr}"
    );
    assert!(
        stderr.contains("PASSCODE_KEY is required"),
        "every problem is listed: {stderr}"
    );
    assert!(
        !stderr.contains("dev-jwt-secret-change-in-production"),
        "{stderr}"
    );
}

#[test]
fn check_config_prints_the_effective_config_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = "Zq8vN3kP0xW7tY2mB5cR9dF1gH4jK6lS";
    let out = server(dir.path())
        .arg("check-config")
        .env("NODE_ENV", "production")
        .env("JWT_SECRET", jwt)
        .env("JWT_REFRESH_SECRET", "Vb7nM2qL9wE4rT6yU1iO3pA8sD5fG0hJ")
        .env(
            "PASSCODE_KEY",
            "8f3a1c2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
        )
        .env("EMAIL_HOST", "smtp.example.com")
        .env("EMAIL_FROM", "no-reply@example.com")
        .env(
            "DATABASE_URL",
            "mongodb://educoin:hunter2hunter2@db.internal:27017/educoin",
        )
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("NODE_ENV=production"), "{stdout}");
    assert!(stdout.contains("db.internal"), "{stdout}");
    for secret in [
        jwt,
        "hunter2hunter2",
        "8f3a1c2b4d5e6f70",
        "Vb7nM2qL9wE4rT6y",
    ] {
        assert!(!stdout.contains(secret), "secret printed: {stdout}");
    }
}

#[test]
fn healthcheck_exits_0_only_when_ready() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let probe = |a: &str| {
        Command::new(BIN)
            .args(["healthcheck", "--address", a])
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    assert!(!probe(&addr).success(), "nothing listens yet");
    let mut child = server(dir.path())
        .env("PORT", port.to_string())
        .spawn()
        .unwrap();
    wait_until_serving(&addr, Duration::from_secs(20));
    assert!(probe(&addr).success());
    signal(&child, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(10)).code(),
        Some(0)
    );
}

#[test]
fn openapi_subcommand_prints_the_document() {
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
}
