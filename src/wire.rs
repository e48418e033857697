//! Wire shapes sent by more than one edge: a notification is both an item of
//! `GET /notifications` and the payload of the `notification` socket event (CLIENT-CONTRACT §4,
//! §5), so its shape sits below both `api` and `notifications`, and they cannot drift apart.

use poem_openapi::Object;

use crate::domain::notification::Notification;

#[derive(Object, Debug, Clone)]
#[oai(rename = "Notification")]
pub struct NotificationView {
    #[oai(rename = "_id")]
    pub id: String,
    /// The recipient's id.
    pub recipient: String,
    /// `Teacher` or `Student`.
    #[oai(rename = "recipientModel")]
    pub recipient_model: String,
    pub message: String,
    pub read: bool,
    /// `TEACHER` or `STUDENT`: the recipient's role.
    pub role: String,
    /// `taskAssigned`, `taskAchieved`, `taskApproved`, `rewardAssigned` or `rewardClaimed`.
    #[oai(rename = "type")]
    pub kind: String,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        NotificationView {
            id: n.id.to_string(),
            recipient: n.recipient.to_string(),
            recipient_model: n.recipient_model().into(),
            message: n.message.clone(),
            read: n.read,
            role: n.role.as_str().into(),
            kind: n.kind.as_str().into(),
            created_at: n.created_at.to_iso(),
            updated_at: n.updated_at.to_iso(),
            version: n.version,
        }
    }
}
