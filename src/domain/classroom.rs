//! A teacher's classroom: classes (students belong to one by name), task categories, tasks (what
//! earns or costs points, and how often it repeats) and rewards (what points buy).

use super::named::named_enum;
use super::{Id, Millis};

#[derive(Clone, Debug, PartialEq)]
pub struct Class {
    pub id: Id,
    /// Unique per teacher; students store this name (see `Student::class`).
    pub class_name: String,
    pub start_date: Millis,
    pub end_date: Option<Millis>,
    pub teacher: Id,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

/// A class's editable fields, already merged with the current values and validated (see
/// [`check_dates`]): the store writes all three at once.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassChange {
    pub class_name: String,
    pub start_date: Millis,
    pub end_date: Option<Millis>,
    /// The `__v` of the class these values were merged with: the store writes them only while
    /// the class is still at it, so that an edit never undoes one made in between.
    pub expected_version: i64,
}

/// `endDate` may not come before `startDate`. `Err` is a sentence for the user.
pub fn check_dates(start: Millis, end: Option<Millis>) -> Result<(), String> {
    match end {
        Some(end) if end < start => Err("endDate cannot be before startDate".into()),
        _ => Ok(()),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    pub id: Id,
    pub name: String,
    /// A path (`/images/...`) or URL of the category's icon.
    pub image: String,
    pub teacher: Id,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CategoryPatch {
    pub name: Option<String>,
    pub image: Option<String>,
}

named_enum! {
    /// Whether a task rewards good behaviour or records bad behaviour. The points' sign is what the
    /// balance uses (`approve` adds `points`); the type is how the app files and colours the task.
    pub enum TaskType { Good = "good", Bad = "bad" }
}

named_enum! {
    /// How often a completed task opens again for the same student (CLIENT-CONTRACT §4): at the start
    /// of the next UTC day, ISO week (from Monday) or calendar month.
    pub enum Repeat { Everyday = "everyday", Weekly = "weekly", Monthly = "monthly" }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub id: Id,
    pub name: String,
    /// Added to a student's balance when an assignment of this task is approved; in the range of
    /// [`TaskPoints`](super::TaskPoints).
    pub points: i64,
    /// One of the same teacher's categories.
    pub category: Id,
    pub kind: TaskType,
    pub repeat: Repeat,
    pub teacher: Id,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskPatch {
    pub name: Option<String>,
    pub points: Option<i64>,
    pub category: Option<Id>,
    pub kind: Option<TaskType>,
    pub repeat: Option<Repeat>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reward {
    pub id: Id,
    pub name: String,
    pub image: String,
    /// What a claim costs; never negative.
    pub required_points: i64,
    pub teacher: Id,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RewardPatch {
    pub name: Option<String>,
    pub image: Option<String>,
    pub required_points: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_order() {
        assert!(check_dates(Millis(10), None).is_ok());
        assert!(check_dates(Millis(10), Some(Millis(10))).is_ok());
        assert!(check_dates(Millis(10), Some(Millis(9))).is_err());
    }

    #[test]
    fn enums_round_trip() {
        for t in [TaskType::Good, TaskType::Bad] {
            assert_eq!(TaskType::parse(t.as_str()), Some(t));
        }
        for r in [Repeat::Everyday, Repeat::Weekly, Repeat::Monthly] {
            assert_eq!(Repeat::parse(r.as_str()), Some(r));
        }
        assert_eq!(TaskType::parse("Good"), None);
        assert_eq!(Repeat::parse("daily"), None);
    }
}
