//! What the assignment routes tell the other party (CLIENT-CONTRACT §4): each event's kind and
//! sentence side by side, so that the five sentences read as the contract lists them and a
//! handler's tail is one line: `Notice::task_assigned(me, &task).send(state, &student.id)`.

use crate::domain::notification::NotificationKind;
use crate::domain::{Id, Reward, Student, Task, Teacher};
use crate::notifications;
use crate::state::AppState;

pub(super) struct Notice {
    kind: NotificationKind,
    message: String,
}

impl Notice {
    /// To the student.
    pub fn task_assigned(teacher: &Teacher, task: &Task) -> Self {
        let message = format!("{} assigned you a new task: {}", teacher.name, task.name);
        Notice::of(NotificationKind::TaskAssigned, message)
    }

    /// To the teacher.
    pub fn task_achieved(student: &Student, task: &Task) -> Self {
        let message = format!("{} completed the task {}", student.name, task.name);
        Notice::of(NotificationKind::TaskAchieved, message)
    }

    /// To the student: `points` signed (`+10`, `-5`).
    pub fn task_approved(teacher: &Teacher, task: &Task, points: i64) -> Self {
        let message = format!(
            "{} approved your task {}: {points:+} points",
            teacher.name, task.name
        );
        Notice::of(NotificationKind::TaskApproved, message)
    }

    /// To the student, with the reward's price as it is now.
    pub fn reward_assigned(teacher: &Teacher, reward: &Reward) -> Self {
        let message = format!(
            "{} offered you a reward: {} for {} points",
            teacher.name, reward.name, reward.required_points
        );
        Notice::of(NotificationKind::RewardAssigned, message)
    }

    /// To the teacher.
    pub fn reward_claimed(student: &Student, reward: &Reward) -> Self {
        let message = format!("{} claimed the reward {}", student.name, reward.name);
        Notice::of(NotificationKind::RewardClaimed, message)
    }

    fn of(kind: NotificationKind, message: String) -> Self {
        Notice { kind, message }
    }

    /// Stores it for `recipient` and pushes it; the event has happened, so a failure is only
    /// logged (see `notifications::send`).
    pub async fn send(self, state: &AppState, recipient: &Id) {
        notifications::send(state, recipient, self.kind, self.message).await
    }
}
