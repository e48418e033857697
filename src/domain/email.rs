//! An email address as we store and compare it: trimmed and lower-cased, so that `Ada@X.org` and
//! ` ada@x.org` are one account.

use super::account::normalize_email as normalize;
use super::invalid::{Invalid, trimmed};
use super::text_value::text_value;

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
}

text_value!(Email);

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
