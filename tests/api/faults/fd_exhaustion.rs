//! Out of file descriptors: the accept loop backs off instead of spinning, says so once, and serves
//! again when descriptors are freed.

use std::net::TcpStream;
use std::time::Duration;

use super::{Launch, cpu_time, signal, wait_exit, wait_serving};
use crate::support::services::free_port;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_descriptors_backs_off_logs_once_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let launch = Launch {
        port,
        before: "ulimit -n 128;",
        log: Some(&log),
        ..Launch::new(dir.path())
    };
    let mut server = launch.spawn();
    wait_serving(&addr, "/api/v1/health", Duration::from_secs(20)).await;

    // More connections than the server has descriptors: the rest wait in the backlog while it
    // cannot accept them.
    let conns: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_time(server.id());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_time(server.id()) - before;
    let logged = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("out of file descriptors"))
        .count();
    println!(
        "descriptors exhausted: {} ms of CPU in 3 s, {logged} log line(s)",
        used.as_millis()
    );
    // A spinning accept loop burns most of a core (3 s of CPU in 3 s); backing off, a few ms.
    assert!(
        used < Duration::from_millis(500),
        "the accept loop spins: {used:?} of CPU in 3 s"
    );
    assert_eq!(logged, 1, "logged once per 10 s, not per failure");

    drop(conns);
    wait_serving(&addr, "/api/v1/health", Duration::from_secs(20)).await;
    signal(server.id(), libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut server, Duration::from_secs(15)).await.code(),
        Some(0)
    );
}
