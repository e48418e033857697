//! The real services the tests talk to: Redis and a MongoDB wire-protocol server (jongodb).
//!
//! `scripts/test.sh` starts both once and exports their addresses; when a test binary runs on its
//! own (`cargo test`), a jongodb is started for the process and Redis is expected on 6379.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub fn redis_url() -> String {
    std::env::var("EDUCOIN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn jongodb_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/services/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb")
}

/// A jongodb process that dies with the test process (PR_SET_PDEATHSIG).
pub struct Jongodb {
    pub child: Child,
    /// `mongodb://127.0.0.1:PORT`
    pub base_uri: String,
}

impl Jongodb {
    pub fn start(port: u16) -> Jongodb {
        let bin = jongodb_binary();
        assert!(
            bin.exists(),
            "{} is missing: run `npm ci --prefix tests/services` (scripts/test.sh does)",
            bin.display()
        );
        let mut cmd = Command::new(&bin);
        cmd.arg("--host=127.0.0.1")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        // Owned by the guard from the start, so that it is killed and reaped on every path.
        let mut server = Jongodb {
            child: cmd.spawn().expect("start jongodb"),
            base_uri: String::new(),
        };
        let stdout = server.child.stdout.take().expect("jongodb stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).expect("read jongodb output") == 0 {
                panic!("jongodb exited before announcing its address");
            }
            if let Some(uri) = line.trim().strip_prefix("JONGODB_URI=") {
                server.base_uri = uri
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(uri)
                    .to_owned();
                // Keep draining its output so that it never blocks on a full pipe.
                std::thread::spawn(move || for _ in reader.lines() {});
                return server;
            }
        }
    }
}

impl Drop for Jongodb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child gets SIGKILL when the thread that spawned it exits.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// `mongodb://HOST:PORT` of the shared test server.
pub fn mongodb_base_uri() -> String {
    if let Ok(uri) = std::env::var("EDUCOIN_TEST_MONGODB_URI") {
        return uri.trim_end_matches('/').to_owned();
    }
    static SHARED: OnceLock<String> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            // Spawned from a thread that lives as long as the process, so that PDEATHSIG fires only
            // when the whole test process ends.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let server = Jongodb::start(0);
                tx.send(server.base_uri.clone()).unwrap();
                let _keep = server;
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("jongodb address")
        })
        .clone()
}

/// A database of its own for one test.
pub fn fresh_mongodb_url() -> String {
    format!("{}/t_{}", mongodb_base_uri(), uuid::Uuid::new_v4().simple())
}

/// A free TCP port on loopback (bound and released; fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A test peer from `tests/services` that takes its port as the first argument and prints `READY`
/// once it accepts connections; it dies with the test. `args` come after the port. A port picked
/// free may be taken by the time the peer binds it, so a few are tried.
pub fn start_ready_peer(program: &str, script: &str, args: &[&str]) -> (Child, u16) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/services")
        .join(script);
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(program);
        cmd.arg(&path)
            .arg(port.to_string())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{program} is needed to run tests/services/{script}: {e}"));
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("peer stdout"))
            .read_line(&mut line)
            .unwrap_or(0);
        if read > 0 && line.trim() == "READY" {
            return (child, port);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("tests/services/{script} did not start (5 tries)");
}
