//! Students: created by their teacher, signed in with a 6-digit passcode alone.

use super::{Id, Millis};

#[derive(Clone, Debug, PartialEq)]
pub struct Student {
    pub id: Id,
    pub name: String,
    /// The passcode, sealed (see `domain::passcode`); shown only to the student and its teacher.
    pub passcode_sealed: String,
    /// HMAC of the passcode: login lookup and the unique index.
    pub passcode_lookup: String,
    pub date_of_birth: Option<Millis>,
    pub profile: Option<String>,
    /// The name of one of the teacher's classes.
    pub class: String,
    pub teacher: Id,
    pub points: i64,
    pub level: i64,
    pub rewards: i64,
    pub pending_points: i64,
    /// Points earned with approved tasks (negative tasks subtract), never lowered by claims: the
    /// level follows it, so spending points on a reward does not cost a level.
    pub earned_points: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

/// What a student may change about itself (CLIENT-CONTRACT §1: never points, level, rewards, role
/// or teacher).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StudentPatch {
    pub name: Option<String>,
    pub profile: Option<String>,
    pub date_of_birth: Option<Millis>,
}

/// `level = 1 + floor(max(earnedPoints, 0) / 100)`: CLIENT-CONTRACT §4's formula applied to the
/// points earned rather than the balance (docs/decisions.md, "Level on points earned").
pub fn level_for(earned_points: i64) -> i64 {
    1 + earned_points.max(0) / 100
}

/// A date of birth as the app sends it: `2015-04-01` or a full ISO-8601 timestamp.
pub fn parse_date(raw: &str) -> Option<Millis> {
    let raw = raw.trim();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Some(Millis(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis()));
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|d| Millis(d.timestamp_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(level_for(-50), 1);
        assert_eq!(level_for(0), 1);
        assert_eq!(level_for(99), 1);
        assert_eq!(level_for(100), 2);
        assert_eq!(level_for(250), 3);
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2015-04-01").unwrap().to_iso(),
            "2015-04-01T00:00:00.000Z"
        );
        assert_eq!(
            parse_date("2015-04-01T10:00:00.000Z").unwrap().to_iso(),
            "2015-04-01T10:00:00.000Z"
        );
        assert!(parse_date("yesterday").is_none());
    }
}
