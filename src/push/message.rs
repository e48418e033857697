//! The FCM HTTP v1 `Message` for one notification and one device
//! (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages).

use std::time::Duration;

use serde_json::{Value, json};

use crate::domain::Millis;
use crate::domain::notification::{Notification, NotificationKind};
use crate::store::Platform;

/// The title shown above the notification's message.
pub fn title(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::TaskAssigned => "New task",
        NotificationKind::TaskAchieved => "Task completed",
        NotificationKind::TaskApproved => "Task approved",
        NotificationKind::RewardAssigned => "New reward",
        NotificationKind::RewardClaimed => "Reward claimed",
        NotificationKind::PaymentReceived => "Payment received",
    }
}

/// The request body of `messages:send`. Only the device's own platform override is set.
///
/// - Collapse key = the notification id: notifications are distinct events and never replace
///   each other, but a push sent twice (a crash between FCM's answer and the outbox update) then
///   replaces its first copy on the device instead of showing twice.
/// - TTL = what is left of the retry deadline: past it the notification is stale everywhere.
/// - High priority: each push is a user-visible alert.
pub fn body(
    n: &Notification,
    token: &str,
    platform: Platform,
    ttl: Duration,
    now: Millis,
) -> Value {
    let collapse = n.id.to_hex();
    let ttl_secs = ttl.as_secs().max(1);
    let mut message = json!({
        "token": token,
        "notification": { "title": title(n.kind), "body": n.message },
        "data": { "notificationId": collapse, "kind": n.kind.as_str() },
    });
    let overrides = match platform {
        Platform::Android => (
            "android",
            json!({
                "collapse_key": collapse,
                "priority": "HIGH",
                "ttl": format!("{ttl_secs}s"),
            }),
        ),
        Platform::Ios => (
            "apns",
            json!({
                "headers": {
                    "apns-collapse-id": collapse,
                    "apns-priority": "10",
                    "apns-push-type": "alert",
                    "apns-expiration": (now.0 / 1000 + ttl_secs as i64).to_string(),
                },
                "payload": { "aps": { "sound": "default" } },
            }),
        ),
        Platform::Web => (
            "webpush",
            json!({
                "headers": {
                    "TTL": ttl_secs.to_string(),
                    "Urgency": "high",
                    "Topic": collapse,
                },
            }),
        ),
    };
    message[overrides.0] = overrides.1;
    json!({ "message": message })
}
