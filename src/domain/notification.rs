//! Notifications: stored for their recipient and pushed to its sockets (CLIENT-CONTRACT §4, §5).

use super::named::named_enum;
use super::{Id, Millis, Role};

named_enum! {
    /// The five events of CLIENT-CONTRACT §4 that notify someone, and a supporter's payment.
    pub enum NotificationKind {
        TaskAssigned = "taskAssigned",
        TaskAchieved = "taskAchieved",
        TaskApproved = "taskApproved",
        RewardAssigned = "rewardAssigned",
        RewardClaimed = "rewardClaimed",
        /// A supporter's payment toward one of the teacher's projects succeeded.
        PaymentReceived = "paymentReceived",
    }
}

impl NotificationKind {
    /// Who receives it: a student hears about what its teacher did, and the reverse.
    pub fn recipient_role(self) -> Role {
        match self {
            NotificationKind::TaskAssigned
            | NotificationKind::TaskApproved
            | NotificationKind::RewardAssigned => Role::Student,
            NotificationKind::TaskAchieved
            | NotificationKind::RewardClaimed
            | NotificationKind::PaymentReceived => Role::Teacher,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub id: Id,
    pub recipient: Id,
    /// `TEACHER` or `STUDENT` (the JSON's `recipientModel` is `Teacher` / `Student`).
    pub role: Role,
    pub kind: NotificationKind,
    pub message: String,
    pub read: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

impl Notification {
    /// `Teacher` or `Student`: the Mongoose model name the old server stored beside the recipient.
    pub fn recipient_model(&self) -> &'static str {
        if self.role == Role::Student {
            "Student"
        } else {
            "Teacher"
        }
    }

    pub fn new(recipient: &Id, kind: NotificationKind, message: String, now: Millis) -> Self {
        Notification {
            id: Id::generate(),
            recipient: recipient.clone(),
            role: kind.recipient_role(),
            kind,
            message,
            read: false,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}
