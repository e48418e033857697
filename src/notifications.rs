//! Telling someone what happened: store the notification (and, with push on, its FCM outbox row),
//! then push it to the recipient's sockets (CLIENT-CONTRACT §4, §5).

use poem_openapi::types::ToJSON;

use crate::domain::Id;
use crate::domain::notification::{Notification, NotificationKind};
use crate::state::AppState;
use crate::wire::NotificationView;

/// Stores and pushes one notification. The event that caused it has already happened (points
/// moved, a task was assigned), so a failure here is logged and does not fail the request.
pub async fn send(state: &AppState, recipient: &Id, kind: NotificationKind, message: String) {
    let notification = Notification::new(recipient, kind, message, state.clock.now());
    // With push on, the notification and its outbox row are stored in one step
    // (`jobs::push_worker` sends it to the recipient's devices).
    let stored = if state.push.is_some() {
        state.store.push.insert_with_outbox(&notification).await
    } else {
        state.store.notifications.insert(&notification).await
    };
    if let Err(e) = stored {
        tracing::warn!(error = %e, kind = kind.as_str(), "could not store a notification");
        return;
    }
    // The socket event carries exactly what `GET /notifications` lists.
    let json = ToJSON::to_json(&NotificationView::from(&notification)).unwrap_or_default();
    state.realtime.notify(recipient, json).await;
}
