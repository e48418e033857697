//! An email address as we store and compare it: trimmed and lower-cased, so that `Ada@X.org` and
//! ` ada@x.org` are one account.

use std::fmt;

use super::account::normalize_email as normalize;
use super::invalid::{Invalid, trimmed};

/// The longest address SMTP can deliver to (RFC 5321's path limit, less the brackets).
pub const MAX_LEN: usize = 254;

/// A normalised address with a non-empty local part and a dotted domain; built only by
/// [`Email::parse`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let e = normalize(trimmed(raw)?);
        let valid = e.len() <= MAX_LEN
            && e.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !e.contains(char::is_whitespace);
        if valid {
            Ok(Email(e))
        } else {
            Err(Invalid::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

/// Read as the text it holds (`&email` where a `&str` is wanted); it is only built by parsing.
impl std::ops::Deref for Email {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl super::invalid::FromText for Email {
    fn from_text(raw: &str) -> Result<Self, Invalid> {
        Self::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_and_checks_the_shape() {
        assert_eq!(Email::parse(" A@B.org ").unwrap().as_str(), "a@b.org");
        assert_eq!(Email::parse("  ").unwrap_err(), Invalid::Missing);
        for bad in ["nope", "a@b", "@b.org", "a@.b.org", "a@b.org.", "a b@c.org"] {
            assert_eq!(Email::parse(bad).unwrap_err(), Invalid::Email, "{bad}");
        }
        let long = format!("{}@b.org", "a".repeat(MAX_LEN - 6));
        assert!(Email::parse(&long).is_ok());
        assert!(Email::parse(&format!("a{long}")).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_accepted_addresses_round_trip(
            raw in "\\PC{0,40}|[A-Za-z0-9._ -]{1,20}@[A-Za-z0-9.-]{1,20}"
        ) {
            if let Ok(e) = Email::parse(&raw) {
                prop_assert_eq!(e.as_str(), normalize(&raw));
                prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
            }
        }
    }
}
