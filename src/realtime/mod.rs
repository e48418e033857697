//! Realtime delivery of notifications to connected clients (CLIENT-CONTRACT §5).
//!
//! Handlers call [`Realtime::notify`] after a notification is stored. The event goes through the
//! cache's pub/sub (Redis in production), so that every replica delivers it to the recipient's
//! sockets it holds.

use std::sync::Arc;

use crate::cache::Cache;
use crate::domain::Id;

/// The pub/sub channel that carries notifications between replicas.
pub const CHANNEL: &str = "realtime:notification";

pub struct Realtime {
    cache: Arc<dyn Cache>,
}

impl Realtime {
    pub fn new(cache: Arc<dyn Cache>) -> Self {
        Realtime { cache }
    }

    /// Delivers `notification` (the stored document, as JSON) to every socket of `recipient`, on
    /// every replica, as the event `notification::<recipient>`. Best effort: the notification is
    /// already stored, so a failure here is logged and never fails the request.
    pub async fn notify(&self, recipient: &Id, notification: serde_json::Value) {
        let payload = serde_json::json!({ "recipient": recipient.as_str(), "data": notification });
        if let Err(e) = self.cache.publish(CHANNEL, &payload.to_string()).await {
            tracing::warn!(error = %e, "could not publish a realtime notification");
        }
    }
}
