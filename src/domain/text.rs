//! Free text with a length limit: names, contact details, feedback. Each kind is an alias of
//! [`Bounded`] with its limit, so a limit is written once (it used to be a `NAME_MAX` per handler).

use super::invalid::{Invalid, at_most, trimmed};
use super::text_value::text_value;

/// Trimmed, non-empty text of at most `MAX` characters; built only by [`Bounded::parse`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bounded<const MAX: usize>(String);

/// A person's, class's, category's, task's or reward's name.
pub type Name = Bounded<100>;
/// A contact line or a location on an account.
pub type Detail = Bounded<200>;
/// What a teacher or student tells us (a few paragraphs, not a book).
pub type FeedbackText = Bounded<2000>;

impl<const MAX: usize> Bounded<MAX> {
    pub const MAX: usize = MAX;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = trimmed(raw)?;
        at_most(value, MAX)?;
        Ok(Bounded(value.to_owned()))
    }
}

text_value!(Bounded<const MAX: usize>);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(Name::parse("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(Name::parse(" \t ").unwrap_err(), Invalid::Missing);
        assert!(
            Name::parse(&"é".repeat(100)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            Name::parse(&"x".repeat(101)).unwrap_err(),
            Invalid::TooLong { max: 100 }
        );
        assert!(Detail::parse(&"x".repeat(200)).is_ok());
        assert!(FeedbackText::parse(&"x".repeat(2001)).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_what_it_accepts_parses_again(raw in "\\PC{0,120}|\\s*") {
            if let Ok(name) = Name::parse(&raw) {
                prop_assert_eq!(name.as_str(), raw.trim());
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= Name::MAX);
                prop_assert_eq!(Name::parse(name.as_str()), Ok(name.clone()));
            }
        }
    }
}
