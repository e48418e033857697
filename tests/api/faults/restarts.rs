//! Socket-activated restarts under steady traffic from pooled keep-alive clients, as the apps send
//! it: systemd holds the listening socket, SIGTERMs the server and starts the next one on it.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::{Launch, signal, wait_exit, wait_serving};

const RESTARTS: usize = 10;
const CLIENTS: usize = 4;
const WORKERS_PER_CLIENT: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pooled_keep_alive_clients_lose_no_request_across_10_socket_activated_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let launch = Launch {
        socket: Some(&socket),
        env: &[("SHUTDOWN_TIMEOUT_SECS", "10")],
        ..Launch::new(dir.path())
    };
    let mut server = launch.spawn();
    wait_serving(&addr, "/api/v1/health", Duration::from_secs(20)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        // One pool per client, reused across requests (reqwest keeps connections alive).
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        for _ in 0..WORKERS_PER_CLIENT {
            let (client, stop, ok, lost) = (client.clone(), stop.clone(), ok.clone(), lost.clone());
            let url = format!("http://{addr}/api/v1/health");
            workers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match client.get(&url).send().await {
                        Ok(r) if r.status() == 200 => match r.bytes().await {
                            Ok(_) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                lost.fetch_add(1, Ordering::Relaxed);
                                eprintln!("lost (body): {e:?}");
                            }
                        },
                        Ok(r) => {
                            lost.fetch_add(1, Ordering::Relaxed);
                            eprintln!("lost: status {}", r.status());
                        }
                        Err(e) => {
                            lost.fetch_add(1, Ordering::Relaxed);
                            eprintln!("lost: {e:?}");
                        }
                    }
                }
            }));
        }
    }

    for _ in 0..RESTARTS {
        tokio::time::sleep(Duration::from_millis(400)).await;
        signal(server.id(), libc::SIGTERM);
        let status = wait_exit(&mut server, Duration::from_secs(15)).await;
        assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
        server = launch.spawn();
        // systemd starts the next process and keeps sending traffic; the next SIGTERM comes
        // once it serves (a fresh connection reaches the new process: the old one is gone).
        wait_serving(&addr, "/api/v1/health", Duration::from_secs(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    signal(server.id(), libc::SIGTERM);
    wait_exit(&mut server, Duration::from_secs(15)).await;

    let (ok, lost) = (ok.load(Ordering::Relaxed), lost.load(Ordering::Relaxed));
    println!(
        "restarts: {RESTARTS} socket-activated restarts, {} pooled keep-alive workers: \
         {ok} requests answered, {lost} lost",
        CLIENTS * WORKERS_PER_CLIENT
    );
    assert!(ok > 0, "no request was answered");
    assert_eq!(lost, 0, "requests lost across restarts");
}
