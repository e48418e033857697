//! Reading what the clients send: loose where the old clients are loose (numbers as strings, the
//! literal `undefined` as a page, echoed whole objects), strict about what gets stored.

use poem_openapi::types::Any;

use super::ApiError;
use crate::domain::assignment::{RewardAssignment, TaskAssignment};
use crate::domain::invalid::{FromText, Invalid};
use crate::domain::notification::Notification;
use crate::domain::payments::Project;
use crate::domain::points::Ranged;
use crate::domain::{Category, Class, Id, Preset, Reward, Student, Task};
use crate::store::ListQuery;

/// The contract's page size.
pub const PAGE_SIZE: u64 = 10;

/// An optional query parameter taken as text (`page`, `search`, the admin filters): the handler
/// parses it, so that a malformed value gets the envelope's 400 in the contract's words.
pub type QueryText = poem_openapi::param::Query<Option<String>>;

/// `page` is 1-based; anything that is not a positive number (the app sends `undefined`) is 1, and
/// a number above [`ListQuery::MAX_PAGE`] (however many digits) is that page, which is past the
/// end of every list. An empty `search` means no filter. NUL characters are dropped from `search`:
/// no name holds one, and MongoDB cannot put one in a regular expression.
pub fn list_query(page: Option<&str>, search: Option<&str>) -> ListQuery {
    ListQuery {
        page: page.map(str::trim).map_or(1, |p| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse::<u64>()
                    .unwrap_or(u64::MAX)
                    .clamp(1, ListQuery::MAX_PAGE)
            } else {
                1
            }
        }),
        limit: PAGE_SIZE,
        search: search
            .map(|s| s.replace('\0', ""))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
    }
}

/// A required text field, trimmed and non-empty.
pub fn required(field: &str, value: Option<&str>) -> Result<String, ApiError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(ApiError::field(field, format!("{field} is required"))),
    }
}

/// An optional text field: trimmed; empty means "not given".
pub fn optional(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The envelope's answer to a value the domain refused in `field`.
pub fn refused(field: &str, why: Invalid) -> ApiError {
    ApiError::field(field, why.message(field))
}

/// A required field parsed into its domain type (`Name`, `Email`, `ImageRef`, ...): missing or
/// blank is "`field` is required", anything else the type refuses is its own sentence.
pub fn parse<T: FromText>(field: &str, value: Option<&str>) -> Result<T, ApiError> {
    T::from_text(value.unwrap_or_default()).map_err(|why| refused(field, why))
}

/// An optional field parsed into its domain type; missing or blank means "not given".
pub fn parse_optional<T: FromText>(
    field: &str,
    value: Option<&str>,
) -> Result<Option<T>, ApiError> {
    optional(value)
        .map(|v| T::from_text(&v).map_err(|why| refused(field, why)))
        .transpose()
}

/// An optional whole number (a number or a numeric string) in `MIN..=MAX` (`points`,
/// `requiredPoints`).
pub fn ranged<const MIN: i64, const MAX: i64>(
    field: &str,
    value: Option<&Any<serde_json::Value>>,
) -> Result<Option<Ranged<MIN, MAX>>, ApiError> {
    integer(field, value)?
        .map(|n| Ranged::parse(n).map_err(|why| refused(field, why)))
        .transpose()
}

/// An id in a body (`category`, `task`, ...): a 24-hex ObjectId.
pub fn body_id(field: &str, raw: &str) -> Result<Id, ApiError> {
    Id::parse(raw.trim()).map_err(|_| ApiError::field(field, format!("{field} must be a valid id")))
}

/// A path id: a 24-hex ObjectId.
pub fn path_id(what: &str, raw: &str) -> Result<Id, ApiError> {
    Id::parse(raw).map_err(|_| ApiError::field("id", format!("{raw:?} is not a valid {what} id")))
}

/// What a route's path id names, in its 400's words ("\"x\" is not a valid class id").
pub trait PathName {
    const PATH_NAME: &'static str;
}

/// The records a route names by a path id, each with the word its 400 uses.
macro_rules! path_names {
    ($($record:ty => $name:literal,)*) => {$(
        impl PathName for $record {
            const PATH_NAME: &'static str = $name;
        }
    )*};
}

path_names! {
    Class => "class",
    Category => "category",
    Task => "task",
    Reward => "reward",
    Student => "student",
    TaskAssignment => "assigned task",
    RewardAssignment => "assigned reward",
    Notification => "notification",
    Preset => "preset",
    Project => "project",
}

/// Text that the clients may send as a JSON string or a number (`"123456"` or `123456`).
pub fn text_or_number(
    field: &str,
    value: Option<&Any<serde_json::Value>>,
) -> Result<Option<String>, ApiError> {
    match value.map(|v| &v.0) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::field(
            field,
            format!("{field} must be text or a number"),
        )),
    }
}

/// A numeric code (passcode, emailed code) that the clients send as a string or as a JSON number.
/// A number has lost its leading zeros (`042137` arrives as `42137`), so it is padded back to
/// `width` digits; a string is taken as typed.
pub fn digit_code(
    field: &str,
    value: Option<&Any<serde_json::Value>>,
    width: usize,
) -> Result<Option<String>, ApiError> {
    match value.map(|v| &v.0) {
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(n) => Ok(Some(format!("{n:0width$}"))),
            None => Err(ApiError::field(
                field,
                format!("{field} must be a {width}-digit code"),
            )),
        },
        _ => text_or_number(field, value),
    }
}

/// A whole number the clients may send as a number or a numeric string (`25` or `"25"`).
pub fn integer(
    field: &str,
    value: Option<&Any<serde_json::Value>>,
) -> Result<Option<i64>, ApiError> {
    let invalid = || ApiError::field(field, format!("{field} must be a whole number"));
    match value.map(|v| &v.0) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_i64().map(Some).ok_or_else(invalid),
        Some(serde_json::Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_default_to_one() {
        assert_eq!(list_query(Some("undefined"), None).page, 1);
        assert_eq!(list_query(Some("0"), None).page, 1);
        assert_eq!(list_query(Some("3"), Some("  ")).page, 3);
        assert_eq!(list_query(Some("-2"), None).page, 1);
        assert_eq!(
            list_query(Some("9223372036854775807"), None).page,
            ListQuery::MAX_PAGE
        );
        assert_eq!(
            list_query(Some("99999999999999999999999"), None).page,
            ListQuery::MAX_PAGE
        );
        assert_eq!(
            list_query(None, Some(" a\0b ")).search.as_deref(),
            Some("ab")
        );
        assert_eq!(list_query(None, Some("\0")).search, None);
        assert_eq!(list_query(None, Some("  ")).search, None);
        assert_eq!(
            list_query(None, Some(" ann ")).search.as_deref(),
            Some("ann")
        );
    }

    #[test]
    fn numbers_may_be_strings() {
        let v = |j: serde_json::Value| Some(Any(j));
        assert_eq!(
            integer("points", v(serde_json::json!("25")).as_ref()).unwrap(),
            Some(25)
        );
        assert_eq!(
            integer("points", v(serde_json::json!(25)).as_ref()).unwrap(),
            Some(25)
        );
        assert!(integer("points", v(serde_json::json!("25x")).as_ref()).is_err());
        assert!(integer("points", v(serde_json::json!(2.5)).as_ref()).is_err());
        assert_eq!(
            text_or_number("password", v(serde_json::json!(123456)).as_ref())
                .unwrap()
                .as_deref(),
            Some("123456")
        );
    }

    #[test]
    fn domain_refusals_name_the_field() {
        use crate::domain::{ImageRef, Name};
        let message = |e: ApiError| match e {
            ApiError::Validation { message, errors } => (message, errors[0].path.clone()),
            other => panic!("{other:?}"),
        };
        let e = parse::<Name>("className", Some("  ")).unwrap_err();
        assert_eq!(
            message(e),
            ("className is required".into(), "className".into())
        );
        let e = parse::<ImageRef>("profile", Some("javascript:x")).unwrap_err();
        assert_eq!(
            message(e).0,
            "profile must be an image path or an http(s) URL"
        );
        assert_eq!(parse_optional::<Name>("name", Some(" ")).unwrap(), None);
        let v = |j: serde_json::Value| Some(Any(j));
        let e = ranged::<0, 10>("requiredPoints", v(serde_json::json!("11")).as_ref()).unwrap_err();
        assert_eq!(message(e).0, "requiredPoints must be from 0 to 10");
        assert_eq!(ranged::<0, 10>("requiredPoints", None).unwrap(), None);
    }

    #[test]
    fn codes_sent_as_numbers_get_their_leading_zeros_back() {
        let v = |j: serde_json::Value| Some(Any(j));
        let code = |j, w| digit_code("code", v(j).as_ref(), w).unwrap();
        assert_eq!(code(serde_json::json!(427), 4).as_deref(), Some("0427"));
        assert_eq!(code(serde_json::json!(0), 4).as_deref(), Some("0000"));
        assert_eq!(code(serde_json::json!(42137), 6).as_deref(), Some("042137"));
        assert_eq!(
            code(serde_json::json!(" 0427 "), 4).as_deref(),
            Some("0427")
        );
        assert_eq!(
            code(serde_json::json!("427"), 4).as_deref(),
            Some("427"),
            "strings are as typed"
        );
        assert!(digit_code("code", v(serde_json::json!(-1)).as_ref(), 4).is_err());
        assert!(digit_code("code", v(serde_json::json!(1.5)).as_ref(), 4).is_err());
    }

    #[test]
    fn emails() {
        use crate::domain::Email;
        let e = |raw| parse::<Email>("email", raw);
        assert_eq!(e(Some(" A@B.org ")).unwrap().as_str(), "a@b.org");
        assert!(e(Some("nope")).is_err());
        assert!(e(Some("a@b")).is_err());
        assert!(e(None).is_err());
    }
}
