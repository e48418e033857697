//! Fault injection: the real binary (or a server in this process) against restarts, slow clients,
//! descriptor exhaustion, and Redis and MongoDB killed or hung under load. Each test prints its
//! figures (`cargo nextest run faults --no-capture`); what it asserts is structural (nothing lost,
//! a 503 instead of a driver timeout) with bounds far from the old behaviour.
//!
//! `EDUCOIN_FAULT_BIN` runs the binary-based tests against another build (e.g. the base commit's
//! release binary, to see them fail before the fixes).

mod fd_exhaustion;
mod mongo_outage;
mod redis_outage;
mod restarts;
mod slow_clients;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::services::{die_with_parent, free_port};

pub fn binary() -> PathBuf {
    std::env::var_os("EDUCOIN_FAULT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_educoin")))
}

/// How to start the binary: on a port of its own or on a socket held by the test (systemd socket
/// activation, `LISTEN_FDS=1`), with a shell line run before (e.g. `ulimit -n 128`).
pub struct Launch<'a> {
    pub dir: &'a Path,
    pub socket: Option<&'a TcpListener>,
    pub port: u16,
    pub before: &'a str,
    pub env: &'a [(&'a str, &'a str)],
    pub log: Option<&'a Path>,
}

impl<'a> Launch<'a> {
    pub fn new(dir: &'a Path) -> Self {
        Launch {
            dir,
            socket: None,
            port: 0,
            before: "",
            env: &[],
            log: None,
        }
    }

    pub fn spawn(&self) -> Child {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;

        let mut cmd = Command::new("/bin/sh");
        // `LISTEN_PID` must be the server's own pid: the shell sets it to `$$` and execs in place.
        let line = if self.socket.is_some() {
            format!(
                r#"{} LISTEN_PID=$$ LISTEN_FDS=1 exec "$EDUCOIN_BIN""#,
                self.before
            )
        } else {
            format!(r#"{} exec "$EDUCOIN_BIN""#, self.before)
        };
        cmd.arg("-c")
            .arg(line)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("EDUCOIN_BIN", binary())
            .env("NODE_ENV", "test")
            .env("IP_ADDRESS", "127.0.0.1")
            .env("PORT", self.port.to_string())
            .env("METRICS_ADDRESS", "off")
            .env("STATE_DIRECTORY", self.dir)
            .env("LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (k, v) in self.env {
            cmd.env(k, v);
        }
        match self.log {
            Some(path) => cmd.stderr(std::fs::File::create(path).unwrap()),
            None => cmd.stderr(Stdio::null()),
        };
        let fd = self.socket.map(|l| l.as_raw_fd());
        // SAFETY: dup2/fcntl/prctl are async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(fd) = fd {
                    if fd == 3 {
                        let flags = libc::fcntl(3, libc::F_GETFD);
                        libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                    } else if libc::dup2(fd, 3) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        cmd.spawn().expect("start the server")
    }
}

pub fn signal(pid: u32, sig: i32) {
    // SAFETY: plain kill(2) on a child of this test.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

pub async fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One `GET` on a fresh connection; the status, or 0 when there was no answer.
pub fn get_status(addr: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    if write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return 0;
    }
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

pub async fn wait_serving(addr: &str, path: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (a, p) = (addr.to_owned(), path.to_owned());
        if tokio::task::spawn_blocking(move || get_status(&a, &p))
            .await
            .unwrap()
            == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr}{path} not 200 within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// CPU time (user + system) the process has used so far.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// A `redis-server` of the test's own on a free port, which it may kill, hang and restart. The
/// shared Redis on 6379 is never touched.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    pub fn start() -> OwnRedis {
        let mut r = OwnRedis {
            port: free_port(),
            child: None,
        };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port and waits until it answers.
    pub fn restart(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        self.child = Some(cmd.spawn().expect("redis-server is installed"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            signal(c.id(), libc::SIGCONT);
        }
        self.kill();
    }
}

/// Latency figures of a batch of requests.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}
