//! HTTP long-polling: a GET waits until there is something to send and sends all of it; a POST
//! carries the client's packets. One of each at a time: a second one ends the session, as
//! engine.io does.

use std::sync::Arc;

use crate::realtime::authenticator::Authenticator;
use crate::realtime::phase::{CloseReason, Request, RequestRefused, Transport};
use crate::realtime::protocol;
use crate::realtime::session::Session;

/// What a polling GET answers.
pub enum Poll {
    /// The packets, joined for the response body.
    Packets(String),
    /// The session is not (or no longer) on polling.
    WrongTransport,
    /// Another GET is pending: the session is closed (as engine.io does).
    Overlap,
}

/// Why a polling POST was refused.
pub enum PostError {
    WrongTransport,
    Overlap,
}

/// Ends the request in the session's phase when the request ends, even when the client goes away.
struct InFlight<'a> {
    session: &'a Session,
    request: Request,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.session.state().phase.end_request(self.request);
    }
}

impl Session {
    /// Starts a long-polling request; on an overlap the session is closed.
    fn begin(&self, request: Request) -> Result<InFlight<'_>, RequestRefused> {
        let started = self.state().phase.begin_request(request);
        match started {
            Ok(()) => Ok(InFlight {
                session: self,
                request,
            }),
            Err(RequestRefused::Overlap) => {
                self.close(CloseReason::Overlap);
                Err(RequestRefused::Overlap)
            }
            Err(e) => Err(e),
        }
    }

    /// The long-polling GET: waits until there is something to send, then sends all of it.
    pub async fn poll(&self) -> Poll {
        let _in_flight = match self.begin(Request::Get) {
            Ok(guard) => guard,
            Err(RequestRefused::WrongTransport) => return Poll::WrongTransport,
            Err(RequestRefused::Overlap) => return Poll::Overlap,
            Err(RequestRefused::Closed) => return Poll::Packets(protocol::CLOSE.to_owned()),
        };
        loop {
            let notified = self.wake.notified();
            {
                let mut st = self.state();
                if st.phase.is_closed() {
                    // Tells the client that the server ended the session (it reconnects).
                    return Poll::Packets(protocol::CLOSE.to_owned());
                }
                if st.phase.transport() != Some(Transport::Polling) {
                    return Poll::Packets(protocol::NOOP.to_owned());
                }
                if !st.queue.is_empty() {
                    let packets: Vec<Arc<str>> = st.queue.drain(..).collect();
                    return Poll::Packets(protocol::join_payload(&packets));
                }
                if st.phase.upgrade_probed() {
                    // Releases the client's pending poll so that it can pause polling and upgrade.
                    return Poll::Packets(protocol::NOOP.to_owned());
                }
            }
            notified.await;
        }
    }

    /// The long-polling POST: handles the packets of one request body.
    pub async fn post(
        self: &Arc<Self>,
        authenticator: &dyn Authenticator,
        body: &str,
    ) -> Result<(), PostError> {
        let _in_flight = match self.begin(Request::Post) {
            Ok(guard) => guard,
            Err(RequestRefused::WrongTransport) => return Err(PostError::WrongTransport),
            Err(RequestRefused::Overlap) => return Err(PostError::Overlap),
            // Ended meanwhile: its packets have nothing left to act on.
            Err(RequestRefused::Closed) => return Ok(()),
        };
        for packet in protocol::split_payload(body) {
            self.on_packet(authenticator, packet).await;
            if self.is_closed() {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::engine::Limits;
    use crate::realtime::testing::{self, eventually};

    /// Whether a GET is waiting: a second one now is refused.
    fn get_pending(s: &Session) -> bool {
        let mut probe = s.state().phase.clone();
        probe.begin_request(Request::Get) == Err(RequestRefused::Overlap)
    }

    #[tokio::test]
    async fn a_long_poll_waits_for_packets_and_a_second_one_is_refused() {
        let engine = testing::engine(Limits::default());
        let s = testing::session(&engine, Transport::Polling);
        let first = tokio::spawn({
            let s = s.clone();
            async move {
                match s.poll().await {
                    Poll::Packets(body) => body,
                    _ => panic!("the first poll is served"),
                }
            }
        });
        eventually("the first poll pending", || get_pending(&s)).await;
        s.push("42[\"a\",1]".into());
        s.push("42[\"b\",2]".into());
        // Either both packets in one answer, or the first alone (the poll woke in between).
        let body = first.await.unwrap();
        assert!(body.starts_with("42[\"a\",1]"), "{body}");

        let pending = tokio::spawn({
            let s = s.clone();
            async move { s.poll().await }
        });
        eventually("the second poll pending", || get_pending(&s)).await;
        assert!(matches!(s.poll().await, Poll::Overlap));
        // The overlap ends the session; the pending poll answers with the close packet.
        match pending.await.unwrap() {
            Poll::Packets(body) => assert_eq!(body, protocol::CLOSE),
            _ => panic!("the pending poll is answered"),
        }
        assert_eq!(s.close_reason(), Some(CloseReason::Overlap));
    }

    #[tokio::test]
    async fn a_websocket_session_refuses_polling() {
        let engine = testing::engine(Limits::default());
        let s = testing::session(&engine, Transport::WebSocket);
        assert!(matches!(s.poll().await, Poll::WrongTransport));
        let auth = crate::realtime::testing::Tokens::default();
        assert!(matches!(
            s.post(&auth, "3").await,
            Err(PostError::WrongTransport)
        ));
        assert!(!s.is_closed());
    }
}
