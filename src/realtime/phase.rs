//! Where an Engine.IO session is in its life, as one value. The transport, the upgrade, the
//! pending long-polling requests, the heartbeat and the Socket.IO socket only exist while the
//! session is open, and each can only be in the states listed here: an upgrade is probed only
//! after it was claimed and only on polling, a socket has an epoch only once it is connected,
//! and a closed session keeps nothing but the reason. The methods are the transitions; each
//! says whether it happened, so that the caller acts only on the one that did.

/// The transport a session starts on, or has moved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Polling,
    WebSocket,
}

/// Why a session ended (for the logs, and the WebSocket close code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent the close packet.
    ClientClose,
    /// The WebSocket closed or failed.
    TransportClose,
    PingTimeout,
    ConnectTimeout,
    /// A pending session dropped to make room for a newer handshake.
    Displaced,
    /// A second concurrent GET or POST on a polling session.
    Overlap,
    /// More queued packets than `max_queued_packets`.
    Overflow,
    ParseError,
    PayloadTooLarge,
    /// The server is stopping: WebSockets get close code 1001 (going away).
    Shutdown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    Open(Open),
    Closed(CloseReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    link: Link,
    socket: Socket,
    awaiting_pong: bool,
}

/// The transport in use and what only that transport has.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    Polling {
        upgrade: Upgrade,
        /// A long-polling GET is waiting for packets.
        get: bool,
        /// A long-polling POST is being handled.
        post: bool,
    },
    WebSocket,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upgrade {
    None,
    /// A WebSocket has asked to take over this polling session.
    Claimed,
    /// Its probe succeeded: polling answers noop until the upgrade completes or fails.
    Probed,
}

/// The Socket.IO socket of the main namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Socket {
    Absent,
    /// A CONNECT is being authenticated.
    Connecting,
    /// `epoch`: the token epoch it was authenticated under (`None`: anonymous, legacy broadcast).
    Connected {
        id: String,
        epoch: Option<i64>,
    },
}

/// A long-polling request kind; one of each may be in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Get,
    Post,
}

/// Why a long-polling request cannot be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestRefused {
    /// The session is (now) on a WebSocket.
    WrongTransport,
    /// Another request of the same kind is in flight: engine.io ends the session then.
    Overlap,
    Closed,
}

impl Phase {
    pub fn new(transport: Transport) -> Phase {
        let link = match transport {
            Transport::Polling => Link::Polling {
                upgrade: Upgrade::None,
                get: false,
                post: false,
            },
            Transport::WebSocket => Link::WebSocket,
        };
        Phase::Open(Open {
            link,
            socket: Socket::Absent,
            awaiting_pong: false,
        })
    }

    fn open(&mut self) -> Option<&mut Open> {
        match self {
            Phase::Open(open) => Some(open),
            Phase::Closed(_) => None,
        }
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        match self {
            Phase::Open(_) => None,
            Phase::Closed(reason) => Some(*reason),
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self, Phase::Closed(_))
    }

    /// Ends the session; `Some` the first time only, with the socket it had (to unregister).
    pub fn close(&mut self, reason: CloseReason) -> Option<Option<String>> {
        match std::mem::replace(self, Phase::Closed(reason)) {
            Phase::Open(open) => Some(match open.socket {
                Socket::Connected { id, .. } => Some(id),
                Socket::Absent | Socket::Connecting => None,
            }),
            // Already closed: the first reason stays.
            closed @ Phase::Closed(_) => {
                *self = closed;
                None
            }
        }
    }

    /// `None` once closed.
    pub fn transport(&self) -> Option<Transport> {
        match self {
            Phase::Open(Open {
                link: Link::Polling { .. },
                ..
            }) => Some(Transport::Polling),
            Phase::Open(Open {
                link: Link::WebSocket,
                ..
            }) => Some(Transport::WebSocket),
            Phase::Closed(_) => None,
        }
    }

    /// A long-polling request starts.
    pub fn begin_request(&mut self, request: Request) -> Result<(), RequestRefused> {
        let open = self.open().ok_or(RequestRefused::Closed)?;
        let Link::Polling { get, post, .. } = &mut open.link else {
            return Err(RequestRefused::WrongTransport);
        };
        let busy = match request {
            Request::Get => get,
            Request::Post => post,
        };
        if *busy {
            return Err(RequestRefused::Overlap);
        }
        *busy = true;
        Ok(())
    }

    /// A long-polling request ended (answered, or its client went away).
    pub fn end_request(&mut self, request: Request) {
        if let Some(Open {
            link: Link::Polling { get, post, .. },
            ..
        }) = self.open()
        {
            match request {
                Request::Get => *get = false,
                Request::Post => *post = false,
            }
        }
    }

    /// Polling → upgrade claimed; `false` when not on polling, already claimed, or closed.
    pub fn claim_upgrade(&mut self) -> bool {
        match self.open() {
            Some(Open {
                link: Link::Polling { upgrade, .. },
                ..
            }) if *upgrade == Upgrade::None => {
                *upgrade = Upgrade::Claimed;
                true
            }
            _ => false,
        }
    }

    /// The claimed upgrade's probe succeeded.
    pub fn probe_succeeded(&mut self) {
        if let Some(Open {
            link: Link::Polling { upgrade, .. },
            ..
        }) = self.open()
            && *upgrade == Upgrade::Claimed
        {
            *upgrade = Upgrade::Probed;
        }
    }

    /// Whether a pending poll should be released so that the client can finish the upgrade.
    pub fn upgrade_probed(&self) -> bool {
        matches!(
            self,
            Phase::Open(Open {
                link: Link::Polling {
                    upgrade: Upgrade::Probed,
                    ..
                },
                ..
            })
        )
    }

    /// The claimed upgrade ended: the session moves to the WebSocket (`upgraded`), or stays on
    /// polling and may be claimed again. Returns whether the session is now on the WebSocket.
    pub fn finish_upgrade(&mut self, upgraded: bool) -> bool {
        let Some(open) = self.open() else {
            return false;
        };
        match &mut open.link {
            Link::Polling { upgrade, .. } if *upgrade != Upgrade::None => {
                if upgraded {
                    open.link = Link::WebSocket;
                    true
                } else {
                    *upgrade = Upgrade::None;
                    false
                }
            }
            Link::Polling { .. } => false,
            Link::WebSocket => true,
        }
    }

    /// A ping was sent.
    pub fn expect_pong(&mut self) {
        if let Some(open) = self.open() {
            open.awaiting_pong = true;
        }
    }

    pub fn pong(&mut self) {
        if let Some(open) = self.open() {
            open.awaiting_pong = false;
        }
    }

    pub fn awaiting_pong(&self) -> bool {
        matches!(
            self,
            Phase::Open(Open {
                awaiting_pong: true,
                ..
            })
        )
    }

    /// A CONNECT starts authenticating; `false` when a socket exists or connects already, or the
    /// session is closed.
    pub fn begin_connect(&mut self) -> bool {
        match self.open() {
            Some(open) if open.socket == Socket::Absent => {
                open.socket = Socket::Connecting;
                true
            }
            _ => false,
        }
    }

    /// The CONNECT was refused: the client may try again.
    pub fn connect_refused(&mut self) {
        if let Some(open) = self.open()
            && open.socket == Socket::Connecting
        {
            open.socket = Socket::Absent;
        }
    }

    /// The CONNECT was accepted as socket `id`; `false` when the session closed meanwhile.
    pub fn connected(&mut self, id: String, epoch: Option<i64>) -> bool {
        match self.open() {
            Some(open) if open.socket == Socket::Connecting => {
                open.socket = Socket::Connected { id, epoch };
                true
            }
            _ => false,
        }
    }

    /// The connected socket's id and token epoch.
    pub fn socket(&self) -> Option<(&str, Option<i64>)> {
        match self {
            Phase::Open(Open {
                socket: Socket::Connected { id, epoch },
                ..
            }) => Some((id, *epoch)),
            _ => None,
        }
    }

    /// Neither a socket nor a CONNECT in progress: the connect timeout applies.
    pub fn is_idle(&self) -> bool {
        match self {
            Phase::Open(open) => open.socket == Socket::Absent,
            Phase::Closed(_) => true,
        }
    }

    /// Ends the socket, whichever it is (the client's DISCONNECT); its id, to unregister.
    pub fn leave(&mut self) -> Option<String> {
        let open = self.open()?;
        match std::mem::replace(&mut open.socket, Socket::Absent) {
            Socket::Connected { id, .. } => Some(id),
            other => {
                open.socket = other;
                None
            }
        }
    }

    /// Ends socket `id` if it is still this session's; `false` when it is not.
    pub fn end_socket(&mut self, id: &str) -> bool {
        match self.open() {
            Some(open) if matches!(&open.socket, Socket::Connected { id: ours, .. } if ours == id) =>
            {
                open.socket = Socket::Absent;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_is_claimed_once_probed_then_moves_to_the_websocket() {
        let mut p = Phase::new(Transport::Polling);
        p.probe_succeeded();
        assert!(!p.upgrade_probed(), "no probe without a claim");
        assert!(p.claim_upgrade());
        assert!(!p.claim_upgrade(), "one claim at a time");
        p.probe_succeeded();
        assert!(p.upgrade_probed());
        assert!(p.finish_upgrade(true));
        assert_eq!(p.transport(), Some(Transport::WebSocket));
        assert!(!p.claim_upgrade(), "a WebSocket session cannot upgrade");
        assert_eq!(
            p.begin_request(Request::Get),
            Err(RequestRefused::WrongTransport)
        );
    }

    #[test]
    fn a_failed_upgrade_stays_on_polling_and_may_be_claimed_again() {
        let mut p = Phase::new(Transport::Polling);
        assert!(p.claim_upgrade());
        assert!(!p.finish_upgrade(false));
        assert_eq!(p.transport(), Some(Transport::Polling));
        assert!(p.claim_upgrade());
    }

    #[test]
    fn one_get_and_one_post_at_a_time() {
        let mut p = Phase::new(Transport::Polling);
        assert_eq!(p.begin_request(Request::Get), Ok(()));
        assert_eq!(p.begin_request(Request::Post), Ok(()));
        assert_eq!(p.begin_request(Request::Get), Err(RequestRefused::Overlap));
        p.end_request(Request::Get);
        assert_eq!(p.begin_request(Request::Get), Ok(()));
    }

    #[test]
    fn a_socket_connects_once_and_ends_only_by_its_own_id() {
        let mut p = Phase::new(Transport::WebSocket);
        assert!(p.is_idle());
        assert!(p.begin_connect());
        assert!(!p.begin_connect(), "one CONNECT at a time");
        assert!(!p.is_idle());
        assert!(p.connected("s1".into(), Some(3)));
        assert_eq!(p.socket(), Some(("s1", Some(3))));
        assert!(!p.begin_connect(), "already connected");
        assert!(!p.end_socket("s0"));
        assert!(p.end_socket("s1"));
        assert_eq!(p.socket(), None);
        assert!(p.is_idle());
        assert_eq!(p.leave(), None);
        assert!(p.begin_connect());
        p.connect_refused();
        assert!(p.is_idle());
    }

    #[test]
    fn closing_happens_once_keeps_the_first_reason_and_hands_back_the_socket() {
        let mut p = Phase::new(Transport::Polling);
        assert!(p.begin_connect());
        assert!(p.connected("s1".into(), None));
        assert_eq!(p.close(CloseReason::PingTimeout), Some(Some("s1".into())));
        assert_eq!(p.close(CloseReason::Shutdown), None);
        assert_eq!(p.close_reason(), Some(CloseReason::PingTimeout));
        // Nothing moves a closed session.
        assert!(!p.begin_connect());
        assert!(!p.claim_upgrade());
        assert_eq!(p.transport(), None);
        assert_eq!(p.begin_request(Request::Get), Err(RequestRefused::Closed));
        p.expect_pong();
        assert!(!p.awaiting_pong());
    }

    #[test]
    fn a_connect_that_finishes_after_the_close_is_dropped() {
        let mut p = Phase::new(Transport::WebSocket);
        assert!(p.begin_connect());
        assert_eq!(p.close(CloseReason::ClientClose), Some(None));
        assert!(!p.connected("s1".into(), Some(1)));
        assert_eq!(p.socket(), None);
    }
}
