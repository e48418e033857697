//! WebSocket sessions: a WebSocket that opens a session of its own (the mobile app), one that
//! takes over a polling session (the dashboard's upgrade: `2probe` → `3probe`, the pending poll
//! released with a noop, then `5`), and the loop that serves either until it closes.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poem::web::websocket::{CloseCode, Message, WebSocketStream};

use crate::realtime::authenticator::Authenticator;
use crate::realtime::engine::{Engine, OpenError};
use crate::realtime::phase::{CloseReason, Transport};
use crate::realtime::protocol;
use crate::realtime::session::{Handshake, Session};

/// A WebSocket that opens a session of its own (`transport=websocket` without `sid`).
pub async fn run_new_websocket(
    engine: Arc<Engine>,
    authenticator: Arc<dyn Authenticator>,
    handshake: Handshake,
    ws: WebSocketStream,
) {
    let (mut sink, stream) = ws.split();
    let session = match engine.open(Transport::WebSocket, handshake) {
        Ok(s) => s,
        Err(e) => {
            let (code, why) = match e {
                OpenError::Stopping => (CloseCode::Away, "server shutting down"),
            };
            let _ = sink.send(Message::Close(Some((code, why.into())))).await;
            return;
        }
    };
    let open = engine.open_packet(&session.sid, Transport::WebSocket);
    if sink.send(Message::Text(open)).await.is_err() {
        session.close(CloseReason::TransportClose);
        return;
    }
    serve_websocket(authenticator.as_ref(), &session, sink, stream).await;
}

/// A WebSocket that takes over polling session `session` (`transport=websocket&sid=...`), whose
/// upgrade the caller has claimed.
pub async fn run_upgrade(
    engine: Arc<Engine>,
    authenticator: Arc<dyn Authenticator>,
    session: Arc<Session>,
    ws: WebSocketStream,
) {
    let (mut sink, mut stream) = ws.split();
    let probe = async {
        match stream.next().await {
            Some(Ok(Message::Text(t))) if t == protocol::PING_PROBE => {}
            _ => return false,
        }
        if sink
            .send(Message::Text(protocol::PONG_PROBE.into()))
            .await
            .is_err()
        {
            return false;
        }
        session.state().phase.probe_succeeded();
        session.wake.notify_waiters();
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(t))) if t == "5" => return true,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return false,
            }
        }
    };
    let upgraded = tokio::select! {
        _ = session.closed.cancelled() => false,
        r = tokio::time::timeout(engine.limits.upgrade_timeout, probe) => r.unwrap_or(false),
    };
    let upgraded = session.state().phase.finish_upgrade(upgraded);
    // A poll still pending answers noop (upgraded) or goes on waiting (not upgraded).
    session.wake.notify_waiters();
    if !upgraded || session.is_closed() {
        let code = if session.close_reason() == Some(CloseReason::Shutdown) {
            CloseCode::Away
        } else {
            CloseCode::Normal
        };
        let _ = sink.send(Message::Close(Some((code, String::new())))).await;
        return;
    }
    serve_websocket(authenticator.as_ref(), &session, sink, stream).await;
}

/// The close code a session's end gives its WebSocket; `None` when the WebSocket itself ended.
fn close_code(reason: Option<CloseReason>) -> Option<CloseCode> {
    match reason {
        Some(CloseReason::TransportClose) => None,
        Some(CloseReason::Shutdown) => Some(CloseCode::Away),
        Some(CloseReason::ParseError) => Some(CloseCode::Protocol),
        Some(CloseReason::PayloadTooLarge) => Some(CloseCode::Size),
        Some(CloseReason::Overflow) => Some(CloseCode::Policy),
        _ => Some(CloseCode::Normal),
    }
}

/// The active WebSocket of a session: sends the queue, handles incoming packets, and on close
/// sends a close frame (1001 going away when the server stops) and waits briefly for the reply.
async fn serve_websocket<Si, St>(
    authenticator: &dyn Authenticator,
    session: &Arc<Session>,
    mut sink: Si,
    mut stream: St,
) where
    Si: futures_util::Sink<Message> + Unpin,
    St: futures_util::Stream<Item = std::io::Result<Message>> + Unpin,
{
    loop {
        let notified = session.wake.notified();
        if session.is_closed() {
            break;
        }
        let packets = session.drain();
        if !packets.is_empty() {
            let mut failed = false;
            for p in packets {
                if sink.feed(Message::Text(p.to_string())).await.is_err() {
                    failed = true;
                    break;
                }
            }
            if failed || sink.flush().await.is_err() {
                session.close(CloseReason::TransportClose);
                return;
            }
        }
        tokio::select! {
            _ = notified => {}
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => session.on_packet(authenticator, &text).await,
                // No client of ours sends binary; WebSocket pings are answered by the library.
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    session.close(CloseReason::TransportClose);
                    return;
                }
            },
        }
    }
    let Some(code) = close_code(session.close_reason()) else {
        return;
    };
    if sink
        .send(Message::Close(Some((code, String::new()))))
        .await
        .is_err()
    {
        return;
    }
    // The closing handshake: wait (briefly) for the client's close frame.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
