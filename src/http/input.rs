//! Reading what the clients send: loose where the old clients are loose (numbers as strings, the
//! literal `undefined` as a page, echoed whole objects), strict about what gets stored.

use poem_openapi::types::Any;

use super::ApiError;
use crate::domain::Id;
use crate::store::ListQuery;

/// The contract's page size.
pub const PAGE_SIZE: u64 = 10;

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

/// At most `max` characters, so that a client cannot store a novel in a name.
pub fn bounded(field: &str, value: String, max: usize) -> Result<String, ApiError> {
    if value.chars().count() > max {
        Err(ApiError::field(
            field,
            format!("{field} must have at most {max} characters"),
        ))
    } else {
        Ok(value)
    }
}

/// An optional text field of at most `max` characters.
pub fn optional_bounded(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    optional(value).map(|v| bounded(field, v, max)).transpose()
}

pub fn email(field: &str, value: Option<&str>) -> Result<String, ApiError> {
    let e = crate::domain::account::normalize_email(&required(field, value)?);
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.contains(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(ApiError::field(
            field,
            format!("{field} is not a valid email address"),
        ))
    }
}

/// The most an `image` reference may hold.
pub const IMAGE_MAX: usize = 500;

/// An image reference as the app stores it on categories and rewards: a path (`/images/x.png`), a
/// file name, or an `http(s)` URL; at most [`IMAGE_MAX`] characters, no control characters, and no
/// other URL scheme (`javascript:`, `data:`), since clients may put it in an `src`.
pub fn image_ref(field: &str, value: String) -> Result<String, ApiError> {
    let value = bounded(field, value, IMAGE_MAX)?;
    let scheme = value
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.contains('/'));
    let allowed = match scheme {
        None => true,
        Some(s) => s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"),
    };
    if allowed && !value.chars().any(char::is_control) {
        Ok(value)
    } else {
        Err(ApiError::field(
            field,
            format!("{field} must be an image path or an http(s) URL"),
        ))
    }
}

/// An optional [`image_ref`] (a student's or a Google sign-up's `profile`): empty means "not given".
pub fn optional_image(field: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    optional(value).map(|v| image_ref(field, v)).transpose()
}

/// An id in a body (`category`, `task`, ...): a 24-hex ObjectId.
pub fn body_id(field: &str, raw: &str) -> Result<Id, ApiError> {
    Id::parse(raw.trim()).map_err(|_| ApiError::field(field, format!("{field} must be a valid id")))
}

/// A path id: a 24-hex ObjectId.
pub fn path_id(what: &str, raw: &str) -> Result<Id, ApiError> {
    Id::parse(raw).map_err(|_| ApiError::field("id", format!("{raw:?} is not a valid {what} id")))
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
    fn image_references() {
        for ok in [
            "/images/a.png",
            "icon-3.png",
            "https://cdn.example.com/a.png?x=1:2",
            "HTTP://x/y",
        ] {
            assert!(image_ref("image", ok.into()).is_ok(), "{ok}");
        }
        for bad in ["javascript:alert(1)", "data:image/png;base64,AAAA", "a\nb"] {
            assert!(image_ref("image", bad.into()).is_err(), "{bad}");
        }
        assert!(image_ref("image", "x".repeat(501)).is_err());
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
        assert_eq!(email("email", Some(" A@B.org ")).unwrap(), "a@b.org");
        assert!(email("email", Some("nope")).is_err());
        assert!(email("email", Some("a@b")).is_err());
        assert!(email("email", None).is_err());
    }
}
