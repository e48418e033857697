//! Why a value a client sent was refused, said once for every field that has the rule.
//!
//! The domain parsers know the rule but not the field it came in; [`Invalid::message`] puts the
//! two together, so that "name must have at most 100 characters" is written in one place.

/// A refused value. `Display` names no field; the HTTP edge uses [`Invalid::message`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Nothing, or only white space.
    #[error("a value is required")]
    Missing,
    #[error("at most {max} characters are allowed")]
    TooLong { max: usize },
    #[error("not a valid email address")]
    Email,
    #[error("not an image path or an http(s) URL")]
    Image,
    #[error("not a number from {min} to {max}")]
    OutOfRange { min: i64, max: i64 },
    #[error("The password must have at least {min} characters")]
    PasswordTooShort { min: usize },
    #[error("The password must have at most {max} characters")]
    PasswordTooLong { max: usize },
    #[error("The password cannot be only spaces")]
    PasswordBlank,
    #[error("The passcode must be exactly 6 digits")]
    Passcode,
    /// Markup or control characters where plain text is expected.
    #[error("only plain text is allowed (no < > or control characters)")]
    PlainText,
}

impl Invalid {
    /// The sentence for the user when the value came in `field` (CLIENT-CONTRACT: the clients show
    /// it as it is, and tests assert many of them word for word).
    pub fn message(&self, field: &str) -> String {
        match self {
            Invalid::Missing => format!("{field} is required"),
            Invalid::TooLong { max } => format!("{field} must have at most {max} characters"),
            Invalid::Email => format!("{field} is not a valid email address"),
            Invalid::Image => format!("{field} must be an image path or an http(s) URL"),
            Invalid::OutOfRange { min, max } => format!("{field} must be from {min} to {max}"),
            Invalid::PlainText => {
                format!("{field} must be plain text (no < > or control characters)")
            }
            // Sentences of their own: the password and passcode rules read the same in every field.
            Invalid::PasswordTooShort { .. }
            | Invalid::PasswordTooLong { .. }
            | Invalid::PasswordBlank
            | Invalid::Passcode => self.to_string(),
        }
    }
}

/// A value built from the text of one field; what the HTTP edge asks of every domain type.
pub trait FromText: Sized {
    fn from_text(raw: &str) -> Result<Self, Invalid>;
}

/// Trims `raw` and refuses an empty result: the first rule of every text field.
pub(crate) fn trimmed(raw: &str) -> Result<&str, Invalid> {
    match raw.trim() {
        "" => Err(Invalid::Missing),
        v => Ok(v),
    }
}

/// Refuses more than `max` characters (not bytes: `é` is one).
pub(crate) fn at_most(value: &str, max: usize) -> Result<(), Invalid> {
    if value.chars().count() > max {
        Err(Invalid::TooLong { max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_where_the_contract_does() {
        assert_eq!(Invalid::Missing.message("name"), "name is required");
        assert_eq!(
            Invalid::TooLong { max: 100 }.message("className"),
            "className must have at most 100 characters"
        );
        assert_eq!(
            Invalid::OutOfRange {
                min: 0,
                max: 1_000_000
            }
            .message("requiredPoints"),
            "requiredPoints must be from 0 to 1000000"
        );
        assert_eq!(
            Invalid::Passcode.message("password"),
            "The passcode must be exactly 6 digits"
        );
    }
}
