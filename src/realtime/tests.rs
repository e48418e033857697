//! The engine's session lifecycle as a whole: the pools and their caps, slow clients, the
//! heartbeat and the connect timeout (sessions opened by the engine, timers running).

use std::net::IpAddr;
use std::time::Duration;

use super::engine::OpenError;
use super::limits::Limits;
use super::phase::{CloseReason, Transport};
use super::protocol;
use super::session::Handshake;
use super::testing::{self, eventually};
use super::transport::polling::Poll;

fn quick() -> Limits {
    Limits {
        ping_interval: Duration::from_millis(50),
        ping_timeout: Duration::from_millis(50),
        connect_timeout: Duration::from_secs(60),
        max_sessions: 2,
        max_queued_packets: 3,
        ..Limits::default()
    }
}

#[tokio::test]
async fn pending_sessions_make_room_and_signed_in_ones_are_capped_apart() {
    let limits = Limits {
        max_sessions: 2,
        max_pending: 3,
        max_pending_per_address: 2,
        ..quick()
    };
    let engine = testing::engine(limits);
    let from = |last: u8| Handshake {
        address: IpAddr::from([10, 0, 0, last]),
        ..Handshake::default()
    };
    let open = |h: Handshake| engine.open(Transport::Polling, h).unwrap();
    let (a1, a2) = (open(from(1)), open(from(1)));
    // One address over its share: its own oldest goes.
    let a3 = open(from(1));
    assert_eq!(a1.close_reason(), Some(CloseReason::Displaced));
    assert!(!a2.is_closed());
    let b1 = open(from(2));
    // The pool over its total: the oldest of all goes.
    let b2 = open(from(2));
    assert_eq!(a2.close_reason(), Some(CloseReason::Displaced));
    assert_eq!((engine.pending_count(), engine.session_count()), (3, 3));

    // Signing in leaves the pending pool; the signed-in pool has its own cap.
    assert!(engine.admit(&a3));
    assert!(engine.admit(&b1));
    assert!(!engine.admit(&b2), "the signed-in pool is full");
    assert_eq!(engine.pending_count(), 1);
    a3.close(CloseReason::ClientClose);
    assert!(
        engine.admit(&b2),
        "a closed signed-in session frees its place"
    );
    // Any number of anonymous handshakes displaces pending sessions only.
    let flood: Vec<_> = (0..50).map(|_| open(from(3))).collect();
    assert!(!b1.is_closed() && !b2.is_closed());
    assert_eq!(engine.pending_count(), 2);
    assert_eq!(
        flood.iter().filter(|s| s.is_closed()).count(),
        48,
        "all but the address's share were displaced"
    );
    assert!(!engine.admit(&a1), "a displaced session cannot sign in");

    engine.shutdown(Duration::from_millis(100)).await;
    assert_eq!(b1.close_reason(), Some(CloseReason::Shutdown));
    assert_eq!(engine.session_count(), 0);
    assert!(matches!(
        engine.open(Transport::Polling, Handshake::default()),
        Err(OpenError::Stopping)
    ));
}

#[tokio::test]
async fn a_slow_client_is_closed_instead_of_queueing_without_bound() {
    let engine = testing::engine(quick());
    let s = testing::session(&engine, Transport::WebSocket);
    for i in 0..3 {
        s.push(format!("4{i}").into());
    }
    assert!(!s.is_closed());
    s.push("4x".into());
    assert_eq!(s.close_reason(), Some(CloseReason::Overflow));
}

#[tokio::test]
async fn a_session_that_misses_its_pong_expires_and_one_that_answers_lives() {
    let engine = testing::engine(quick());
    let silent = testing::session(&engine, Transport::Polling);
    let lively = testing::session(&engine, Transport::Polling);
    let pong = {
        let lively = lively.clone();
        tokio::spawn(async move {
            // Answers every ping, as a client would.
            while !lively.is_closed() {
                if let Poll::Packets(body) = lively.poll().await
                    && body.split('\x1e').any(|p| p == protocol::PING)
                {
                    lively.on_pong();
                }
            }
        })
    };
    eventually("the silent session's expiry", || silent.is_closed()).await;
    assert_eq!(silent.close_reason(), Some(CloseReason::PingTimeout));
    assert!(engine.session(&silent.sid).is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!lively.is_closed(), "a session that answers pings stays");
    lively.close(CloseReason::ClientClose);
    pong.await.unwrap();
}

#[tokio::test]
async fn a_session_that_never_joins_the_namespace_is_closed() {
    let limits = Limits {
        connect_timeout: Duration::from_millis(50),
        ..Limits::default()
    };
    let engine = testing::engine(limits);
    let s = testing::session(&engine, Transport::Polling);
    eventually("the connect timeout", || s.is_closed()).await;
    assert_eq!(s.close_reason(), Some(CloseReason::ConnectTimeout));
}
