//! What a teacher hands to a student: a task to do (points when approved) or a reward to claim
//! (paid with points), and the state machines of both (CLIENT-CONTRACT §4).

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::classroom::Repeat;
use super::named::named_enum;
use super::{Id, Millis};

named_enum! {
    /// `notStarted` → (student achieves) `inProgress` → (teacher approves) `completed`.
    pub enum TaskStatus {
        NotStarted = "notStarted",
        InProgress = "inProgress",
        Completed = "completed",
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TaskAssignment {
    pub id: Id,
    pub task: Id,
    pub student: Id,
    pub teacher: Id,
    pub status: TaskStatus,
    /// The task's points, copied when the student achieves it, so that `approve` moves exactly
    /// what `achieve` put in `pendingPoints` even if the teacher edits the task in between.
    pub points: i64,
    /// Keeps one open assignment per task and student: `<task>:<student>` while open, the
    /// assignment's own id once completed (both stores hold a unique index on it).
    pub slot: String,
    /// Where the assignment came from: its own id when a teacher assigned it, `after:<id>` of the
    /// completed assignment it repeats otherwise. Unique, so that racing job runners open a
    /// repetition once.
    pub origin: String,
    pub approved_at: Option<Millis>,
    /// When the repeating-task job opens the next one; `None` when not due (open, or done).
    pub renew_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

impl TaskAssignment {
    /// A new `notStarted` assignment: the repetition of `repeats`, or one a teacher assigns (`None`).
    pub fn open(task: &Id, student: &Id, teacher: &Id, repeats: Option<&Id>, now: Millis) -> Self {
        let id = Id::generate();
        TaskAssignment {
            origin: repeats.map_or_else(|| id.to_string(), |done| format!("after:{done}")),
            slot: open_slot(task, student),
            id,
            task: task.clone(),
            student: student.clone(),
            teacher: teacher.clone(),
            status: TaskStatus::NotStarted,
            points: 0,
            approved_at: None,
            renew_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

/// The `slot` of an open assignment of `task` for `student`.
pub fn open_slot(task: &Id, student: &Id) -> String {
    format!("{task}:{student}")
}

/// What became of a state transition requested by a client.
#[derive(Clone, Debug, PartialEq)]
pub enum Transition<T> {
    Done(T),
    /// No such record of this caller.
    NotFound,
    /// The record is not in the state the transition starts from (already done, or too early).
    WrongState(T),
}

/// A step along a task assignment's state machine, as its owner asks for it (CLIENT-CONTRACT §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStep {
    /// The student did the task: `notStarted` → `inProgress`, recording the task's `points` on
    /// the assignment; they wait in the student's `pendingPoints`.
    Achieve { points: i64 },
    /// The teacher approves: `inProgress` → `completed`; the points move to the balance and count
    /// as earned, and the repetition is due at `renew_at`.
    Approve { renew_at: Millis },
}

impl TaskStep {
    /// The status the assignment must be in for the step.
    pub fn starts_from(self) -> TaskStatus {
        match self {
            TaskStep::Achieve { .. } => TaskStatus::NotStarted,
            TaskStep::Approve { .. } => TaskStatus::InProgress,
        }
    }

    /// Whether the step is the assignment's teacher's to take (otherwise its student's).
    pub fn by_teacher(self) -> bool {
        matches!(self, TaskStep::Approve { .. })
    }

    /// How the step moves the student's balances, for an assignment worth `points`.
    pub fn points_move(self, points: i64) -> PointsMove {
        match self {
            TaskStep::Achieve { .. } => PointsMove::achieve(points),
            TaskStep::Approve { .. } => PointsMove::approve(points),
        }
    }
}

/// How a transition moves a student's balances (both stores apply exactly this).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointsMove {
    pub points: i64,
    pub pending: i64,
    pub rewards: i64,
    pub earned: i64,
    /// The balance the student must have for the move to apply (a claim's price).
    pub min_points: Option<i64>,
}

impl PointsMove {
    /// `achieve`: the task's points wait in `pendingPoints`.
    pub fn achieve(points: i64) -> Self {
        PointsMove {
            points: 0,
            pending: points,
            rewards: 0,
            earned: 0,
            min_points: None,
        }
    }

    /// `approve`: the waiting points move to the balance and count as earned (a negative task
    /// lowers both).
    pub fn approve(points: i64) -> Self {
        PointsMove {
            points,
            pending: -points,
            rewards: 0,
            earned: points,
            min_points: None,
        }
    }

    /// A claim pays `price` from the balance, never below it; points earned stay.
    pub fn claim(price: i64) -> Self {
        PointsMove {
            points: -price,
            pending: 0,
            rewards: 1,
            earned: 0,
            min_points: Some(price),
        }
    }
}

/// The start of the period after the one holding `at` (UTC day; ISO week from Monday; calendar
/// month): when a repeating task approved at `at` opens again.
pub fn next_period_start(repeat: Repeat, at: Millis) -> Millis {
    let day = chrono::DateTime::from_timestamp_millis(at.0)
        .unwrap_or_default()
        .date_naive();
    let next: NaiveDate = match repeat {
        Repeat::Everyday => day + Duration::days(1),
        Repeat::Weekly => day + Duration::days(7 - i64::from(day.weekday().num_days_from_monday())),
        Repeat::Monthly => {
            let (y, m) = if day.month() == 12 {
                (day.year() + 1, 1)
            } else {
                (day.year(), day.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(day)
        }
    };
    Millis(
        Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0).unwrap_or_default())
            .timestamp_millis(),
    )
}

named_enum! {
    /// `unclaimed` → (student claims, paying `requiredPoints`) `claimed`.
    pub enum RewardStatus { Unclaimed = "unclaimed", Claimed = "claimed" }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RewardAssignment {
    pub id: Id,
    pub reward: Id,
    pub student: Id,
    pub teacher: Id,
    pub status: RewardStatus,
    /// What the claim cost (the reward's price at that moment); 0 while unclaimed.
    pub paid: i64,
    pub claimed_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

/// Why a claim did not happen.
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimRefused {
    NotFound,
    AlreadyClaimed,
    /// The student has fewer points than the price.
    NotEnoughPoints {
        points: i64,
        price: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(iso: &str) -> Millis {
        Millis(
            chrono::DateTime::parse_from_rfc3339(iso)
                .unwrap()
                .timestamp_millis(),
        )
    }

    #[test]
    fn periods_roll_over_in_utc() {
        // Wednesday 2026-11-25, just before midnight.
        let wed = "2026-11-25T23:59:59.999Z";
        for (repeat, from, next) in [
            (Repeat::Everyday, wed, "2026-11-26T00:00:00.000Z"),
            (Repeat::Weekly, wed, "2026-11-30T00:00:00.000Z"),
            // A Monday's next week is the Monday after, not the same day.
            (
                Repeat::Weekly,
                "2026-11-30T00:00:00.000Z",
                "2026-12-07T00:00:00.000Z",
            ),
            (Repeat::Monthly, wed, "2026-12-01T00:00:00.000Z"),
            (
                Repeat::Monthly,
                "2026-12-31T12:00:00.000Z",
                "2027-01-01T00:00:00.000Z",
            ),
        ] {
            let got = next_period_start(repeat, at(from)).to_iso();
            assert_eq!(got, next, "{repeat:?} after {from}");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            TaskStatus::NotStarted,
            TaskStatus::InProgress,
            TaskStatus::Completed,
        ] {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        for s in [RewardStatus::Unclaimed, RewardStatus::Claimed] {
            assert_eq!(RewardStatus::parse(s.as_str()), Some(s));
        }
    }
}
