//! Engine.IO, the transport under Socket.IO: long-polling (`polling`), WebSocket sessions and
//! the upgrade of a polling session to a WebSocket (`websocket`), the HTTP endpoint that routes
//! requests to them (`http`), and here the Engine.IO packets a client sends on either.

pub mod http;
pub mod polling;
pub mod websocket;

use std::sync::Arc;

use super::authenticator::Authenticator;
use super::phase::CloseReason;
use super::protocol::{self, EngineKind};
use super::session::Session;

impl Session {
    /// Handles one Engine.IO packet from the client, on any transport.
    pub async fn on_packet(self: &Arc<Self>, authenticator: &dyn Authenticator, text: &str) {
        let packet = match protocol::decode_engine(text) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(sid = %self.sid, error = %e, "realtime: bad Engine.IO packet");
                self.close(CloseReason::ParseError);
                return;
            }
        };
        match packet.kind {
            EngineKind::Close => self.close(CloseReason::ClientClose),
            EngineKind::Pong => self.on_pong(),
            EngineKind::Message => self.on_message(authenticator, packet.data).await,
            // Engine.IO v4 clients do not ping (the probe is handled by the upgrade); the rest
            // carries nothing for the server.
            EngineKind::Ping | EngineKind::Open | EngineKind::Upgrade | EngineKind::Noop => {}
        }
    }
}
