//! The Socket.IO main namespace on top of an Engine.IO session: CONNECT with authentication
//! (`40{"sid"}` or the client's `connect_error` `44{"message","data"}`), the client's DISCONNECT,
//! and the server ending a socket (`41`, which the client does not retry by itself).

use std::sync::Arc;

use serde_json::{Value, json};

use super::authenticator::{Authenticator, Principal, Refusal};
use super::protocol::{self, SocketPacket};
use super::session::{Session, random_id};
use super::timers;

impl Session {
    /// Handles one Socket.IO packet (the data of an Engine.IO message).
    pub(super) async fn on_message(
        self: &Arc<Self>,
        authenticator: &dyn Authenticator,
        data: &str,
    ) {
        match protocol::decode_socket(data) {
            Ok(SocketPacket::Connect { namespace, auth }) => {
                self.on_connect(authenticator, namespace, auth).await
            }
            Ok(SocketPacket::Disconnect { namespace }) => {
                if namespace == protocol::MAIN_NAMESPACE {
                    let socket = self.state().phase.leave();
                    if let (Some(id), Some(owner)) = (socket, self.owner()) {
                        owner.hub().unregister(&id);
                        tokio::spawn(timers::connect_timeout(
                            self.clone(),
                            owner.limits().connect_timeout,
                        ));
                    }
                }
            }
            // Our clients emit nothing; events, acks and binary packets are ignored.
            Ok(SocketPacket::Other) => {}
            Err(e) => {
                tracing::debug!(sid = %self.sid, error = %e, "realtime: bad Socket.IO packet");
                self.close(super::phase::CloseReason::ParseError);
            }
        }
    }

    /// The Socket.IO CONNECT of the main namespace: authenticates, registers the socket under its
    /// user, answers `40{"sid"}`; or answers `44{"message"}` (the client's `connect_error`).
    async fn on_connect(
        self: &Arc<Self>,
        authenticator: &dyn Authenticator,
        namespace: &str,
        auth: Option<Value>,
    ) {
        let Some(owner) = self.owner() else { return };
        if namespace != protocol::MAIN_NAMESPACE {
            self.push_str(protocol::connect_error(
                namespace,
                "Invalid namespace",
                Some(json!({"status": 404})),
            ));
            return;
        }
        if !self.state().phase.begin_connect() {
            return;
        }
        let outcome = match self.authenticate(authenticator, auth.as_ref()).await {
            Ok(who) => Ok(Some(who)),
            Err(_) if owner.legacy_broadcast() => Ok(None),
            Err(refusal) => Err(refusal),
        };
        let outcome = match outcome {
            Ok(_) if !owner.admit(self) => Err(Refusal {
                message: "The server has too many connections. Please try again later.".into(),
                status: 503,
            }),
            other => other,
        };
        let (reply, evicted) = {
            let mut st = self.state();
            match outcome {
                Ok(who) => {
                    let id = random_id();
                    if !st
                        .phase
                        .connected(id.clone(), who.as_ref().map(|w| w.epoch))
                    {
                        // Closed while authenticating: nothing to register or answer.
                        return;
                    }
                    // Registered under the session's lock, so that a concurrent close either sees
                    // the socket (and unregisters it) or runs before it exists.
                    let user = who.as_ref().map(|w| w.account.as_str());
                    let evicted = owner.hub().register(&id, user, self.clone());
                    if let Some(w) = &who {
                        tokio::spawn(timers::expire_socket(
                            self.clone(),
                            id.clone(),
                            w.expires_at,
                            owner.now(),
                        ));
                    }
                    (protocol::connect_ok(&id), evicted)
                }
                Err(refusal) => {
                    st.phase.connect_refused();
                    if st.phase.is_closed() {
                        return;
                    }
                    (
                        protocol::connect_error(
                            protocol::MAIN_NAMESPACE,
                            &refusal.message,
                            Some(json!({"status": refusal.status})),
                        ),
                        Vec::new(),
                    )
                }
            }
        };
        self.push_str(reply);
        for (id, other) in evicted {
            other.evict(&id);
        }
    }

    /// The user of the handshake's token: `auth.token`, else the `token` query parameter, else the
    /// `Authorization` header.
    async fn authenticate(
        &self,
        authenticator: &dyn Authenticator,
        auth: Option<&Value>,
    ) -> Result<Principal, Refusal> {
        let from_auth = auth
            .and_then(|a| a.get("token"))
            .and_then(Value::as_str)
            .and_then(|t| authenticator.token(t));
        let token = from_auth
            .or(self.handshake.query_token.as_deref())
            .or(self.handshake.header_token.as_deref());
        let Some(token) = token else {
            return Err(Refusal {
                message: "Authentication required: connect with your access token (auth.token)."
                    .into(),
                status: 401,
            });
        };
        authenticator.authenticate(token).await
    }

    /// Ends socket `id` if it is still this session's socket: unregisters it and sends `41` (the
    /// client does not reconnect by itself; the app connects again with a fresh token). The
    /// Engine.IO session is given `connect_timeout` to join again or go.
    pub fn end_socket(self: &Arc<Self>, id: &str) {
        if !self.state().phase.end_socket(id) {
            return;
        }
        if let Some(owner) = self.owner() {
            owner.hub().unregister(id);
            tokio::spawn(timers::connect_timeout(
                self.clone(),
                owner.limits().connect_timeout,
            ));
        }
        self.push_str(protocol::disconnect(protocol::MAIN_NAMESPACE));
    }

    /// Ends socket `id` that the hub already removed (its user opened too many): `41`, so that
    /// this client does not reconnect by itself.
    pub(super) fn evict(self: &Arc<Self>, id: &str) {
        if !self.state().phase.end_socket(id) {
            return;
        }
        // Without a socket the session would keep a signed-in place for nothing.
        if let Some(owner) = self.owner() {
            tokio::spawn(timers::connect_timeout(
                self.clone(),
                owner.limits().connect_timeout,
            ));
        }
        self.push_str(protocol::disconnect(protocol::MAIN_NAMESPACE));
    }
}

/// The connect and auth paths without HTTP: packets go in through `on_packet` as either
/// transport would hand them over, and the answers are read from the session's queue.
#[cfg(test)]
mod tests {
    use super::super::engine::Engine;
    use super::super::limits::Limits;
    use super::super::phase::{CloseReason, Transport};
    use super::super::session::Handshake;
    use super::super::testing::{self, Tokens};
    use super::*;

    fn tokens() -> Tokens {
        Tokens::default()
            .with("t-alice", "alice", 3)
            .with("t-bob", "bob", 1)
    }

    fn open(engine: &Arc<Engine>, handshake: Handshake) -> Arc<Session> {
        engine.open(Transport::WebSocket, handshake).unwrap()
    }

    fn replies(s: &Session) -> Vec<String> {
        s.drain().iter().map(|p| p.to_string()).collect()
    }

    /// The one reply to a CONNECT: `Ok(sid)` or `Err((message, status))`.
    fn connect_reply(s: &Session) -> Result<String, (String, u16)> {
        let replies = replies(s);
        assert_eq!(replies.len(), 1, "{replies:?}");
        if let Some(ok) = replies[0].strip_prefix("40") {
            let v: Value = serde_json::from_str(ok).unwrap();
            return Ok(v["sid"].as_str().unwrap().to_owned());
        }
        let v: Value = serde_json::from_str(replies[0].strip_prefix("44").unwrap()).unwrap();
        Err((
            v["message"].as_str().unwrap().to_owned(),
            v["data"]["status"].as_u64().unwrap() as u16,
        ))
    }

    #[tokio::test]
    async fn a_good_auth_token_joins_and_the_socket_gets_only_its_users_events() {
        let engine = testing::engine(Limits::default());
        let (alice, bob) = (
            open(&engine, Handshake::default()),
            open(&engine, Handshake::default()),
        );
        alice.on_packet(&tokens(), r#"40{"token":"t-alice"}"#).await;
        bob.on_packet(&tokens(), r#"40{"token":"Bearer t-bob"}"#)
            .await;
        let sid = connect_reply(&alice).unwrap();
        assert!(connect_reply(&bob).is_ok());
        assert_eq!(alice.state().phase.socket(), Some((sid.as_str(), Some(3))));
        assert_eq!(
            engine.pending_count(),
            0,
            "signed in, out of the pending pool"
        );

        engine.deliver("alice", &json!({"_id": "n1"}));
        assert_eq!(
            replies(&alice),
            [r#"42["notification::alice",{"_id":"n1"}]"#]
        );
        assert!(replies(&bob).is_empty());
    }

    #[tokio::test]
    async fn a_socket_ends_when_the_injected_clock_says_its_token_expired() {
        let clock = Arc::new(crate::clock::TestClock::new());
        let engine = Engine::new(Limits::default(), false, clock.clone());
        let s = open(&engine, Handshake::default());
        // The token is valid for an hour by the system's clock; the engine's clock is two hours on.
        clock.advance(std::time::Duration::from_secs(2 * 3600));
        s.on_packet(&tokens(), r#"40{"token":"t-alice"}"#).await;
        assert!(connect_reply(&s).is_ok());
        testing::eventually("the expired socket's end", || engine.hub.is_empty()).await;
    }

    #[tokio::test]
    async fn missing_or_bad_tokens_are_refused_and_the_session_may_try_again() {
        let engine = testing::engine(Limits::default());
        let s = open(&engine, Handshake::default());
        s.on_packet(&tokens(), "40").await;
        let (message, status) = connect_reply(&s).unwrap_err();
        assert_eq!(status, 401);
        assert!(message.contains("auth.token"), "{message}");
        s.on_packet(&tokens(), r#"40{"token":"forged"}"#).await;
        assert_eq!(connect_reply(&s).unwrap_err().1, 401);
        s.on_packet(&tokens(), r#"40{"token":"Bearer "}"#).await;
        assert_eq!(connect_reply(&s).unwrap_err().1, 401);
        assert!(!s.is_closed() && engine.hub.is_empty());
        assert_eq!(engine.pending_count(), 1);

        s.on_packet(&tokens(), r#"40{"token":"t-alice"}"#).await;
        assert!(connect_reply(&s).is_ok());
    }

    #[tokio::test]
    async fn the_query_then_the_header_token_count_when_auth_has_none_and_a_bad_auth_wins() {
        let engine = testing::engine(Limits::default());
        let query = || Handshake {
            query_token: Some("t-alice".into()),
            header_token: Some("t-bob".into()),
            ..Handshake::default()
        };
        let s = open(&engine, query());
        s.on_packet(&tokens(), "40").await;
        assert!(connect_reply(&s).is_ok());
        assert_eq!(engine.hub.of_user("alice").len(), 1);

        let header = open(
            &engine,
            Handshake {
                header_token: Some("t-bob".into()),
                ..Handshake::default()
            },
        );
        header.on_packet(&tokens(), "40{}").await;
        assert!(connect_reply(&header).is_ok());
        assert_eq!(engine.hub.of_user("bob").len(), 1);

        let bad_auth = open(&engine, query());
        bad_auth
            .on_packet(&tokens(), r#"40{"token":"forged"}"#)
            .await;
        assert_eq!(connect_reply(&bad_auth).unwrap_err().1, 401);
    }

    #[tokio::test]
    async fn another_namespace_is_refused_with_404() {
        let engine = testing::engine(Limits::default());
        let s = open(&engine, Handshake::default());
        s.on_packet(&tokens(), r#"40/admin,{"token":"t-alice"}"#)
            .await;
        let replies = replies(&s);
        let body = replies[0].strip_prefix("44/admin,").unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap(),
            json!({"message": "Invalid namespace", "data": {"status": 404}})
        );
        assert!(engine.hub.is_empty());
    }

    #[tokio::test]
    async fn the_legacy_broadcast_admits_anonymous_sockets_and_sends_them_everything() {
        let engine = Engine::new(Limits::default(), true, testing::clock());
        let s = open(&engine, Handshake::default());
        s.on_packet(&tokens(), r#"40{"token":"forged"}"#).await;
        let sid = connect_reply(&s).unwrap();
        assert_eq!(s.state().phase.socket(), Some((sid.as_str(), None)));
        engine.deliver("alice", &json!(1));
        assert_eq!(replies(&s), [r#"42["notification::alice",1]"#]);
    }

    /// Two sessions under the default limits changed by `limit`: the first signed in as alice,
    /// then the second connecting with `token`.
    async fn after_alice(
        limit: impl FnOnce(&mut Limits),
        token: &str,
    ) -> (Arc<Engine>, Arc<Session>, Arc<Session>) {
        let mut limits = Limits::default();
        limit(&mut limits);
        let engine = testing::engine(limits);
        let first = open(&engine, Handshake::default());
        let second = open(&engine, Handshake::default());
        first.on_packet(&tokens(), r#"40{"token":"t-alice"}"#).await;
        assert!(connect_reply(&first).is_ok());
        let connect = format!(r#"40{{"token":"{token}"}}"#);
        second.on_packet(&tokens(), &connect).await;
        (engine, first, second)
    }

    #[tokio::test]
    async fn a_full_signed_in_pool_answers_503() {
        let (_engine, _first, second) = after_alice(|l| l.max_sessions = 1, "t-bob").await;
        assert_eq!(connect_reply(&second).unwrap_err().1, 503);
    }

    #[tokio::test]
    async fn a_second_connect_is_ignored_and_a_disconnect_frees_the_socket() {
        let engine = testing::engine(Limits::default());
        let s = open(&engine, Handshake::default());
        s.on_packet(&tokens(), r#"40{"token":"t-alice"}"#).await;
        s.on_packet(&tokens(), r#"40{"token":"t-alice"}"#).await;
        assert!(connect_reply(&s).is_ok(), "one answer only");
        s.on_packet(&tokens(), "41").await;
        assert!(engine.hub.is_empty());
        assert_eq!(s.state().phase.socket(), None);
        assert!(replies(&s).is_empty());
        // It may join again.
        s.on_packet(&tokens(), r#"40{"token":"t-alice"}"#).await;
        assert!(connect_reply(&s).is_ok());
    }

    #[tokio::test]
    async fn a_user_over_the_socket_limit_has_the_oldest_socket_disconnected() {
        let (engine, old, new) = after_alice(|l| l.max_sockets_per_user = 1, "t-alice").await;
        assert!(connect_reply(&new).is_ok());
        assert_eq!(old.state().phase.socket(), None);
        assert_eq!(replies(&old), ["41"]);
        assert_eq!(engine.hub.of_user("alice").len(), 1);
        // Closing the evicted session does not unregister the new socket.
        old.close(CloseReason::ClientClose);
        assert_eq!(engine.hub.of_user("alice").len(), 1);
        new.close(CloseReason::ClientClose);
        assert!(engine.hub.is_empty());
    }

    #[tokio::test]
    async fn a_revocation_ends_only_the_sockets_of_older_epochs() {
        let engine = testing::engine(Limits::default());
        let s = open(&engine, Handshake::default());
        s.on_packet(&tokens(), r#"40{"token":"t-alice"}"#).await;
        assert!(connect_reply(&s).is_ok());
        engine.revoke("alice", Some(3));
        assert!(replies(&s).is_empty(), "epoch 3 is not below 3");
        engine.revoke("alice", Some(4));
        assert_eq!(replies(&s), ["41"]);
        assert!(engine.hub.is_empty());
        assert!(!s.is_closed(), "the session may join again");
    }

    #[tokio::test]
    async fn a_malformed_packet_closes_the_session_without_a_panic() {
        let engine = testing::engine(Limits::default());
        for packet in ["4é", "4€{}", "é", "40{oops", "47", ""] {
            let s = open(&engine, Handshake::default());
            s.on_packet(&tokens(), packet).await;
            assert_eq!(
                s.close_reason(),
                Some(CloseReason::ParseError),
                "{packet:?}"
            );
        }
        assert_eq!(engine.session_count(), 0);
    }
}
