//! An image reference a client sends (a category's or reward's `image`, a student's or a Google
//! sign-up's `profile`): what the apps put in an image's `src`.

use super::invalid::{Invalid, at_most, trimmed};
use super::text_value::text_value;

/// The most a reference may hold.
pub const MAX_LEN: usize = 500;

/// A path (`/images/x.png`), a file name, or an `http(s)` URL; at most [`MAX_LEN`] characters, no
/// control characters, and no other URL scheme (`javascript:`, `data:`), since clients put it in an
/// `src`. Built only by [`ImageRef::parse`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ImageRef(String);

impl ImageRef {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = trimmed(raw)?;
        at_most(value, MAX_LEN)?;
        // A scheme is what comes before the first `:`, unless a `/` does first (`/a:b` is a path).
        let scheme = value
            .split_once(':')
            .map(|(s, _)| s)
            .filter(|s| !s.contains('/'));
        let allowed = match scheme {
            None => true,
            Some(s) => s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"),
        };
        if allowed && !value.chars().any(char::is_control) {
            Ok(ImageRef(value.to_owned()))
        } else {
            Err(Invalid::Image)
        }
    }
}

text_value!(ImageRef);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_names_and_web_urls_only() {
        for ok in [
            "/images/a.png",
            "icon-3.png",
            "https://cdn.example.com/a.png?x=1:2",
            "HTTP://x/y",
            "/a:b.png",
        ] {
            assert!(ImageRef::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:image/png;base64,AAAA",
            "a\nb",
            "/images/a\u{7}.png",
        ] {
            assert_eq!(ImageRef::parse(bad).unwrap_err(), Invalid::Image, "{bad}");
        }
        assert_eq!(
            ImageRef::parse(&"x".repeat(501)).unwrap_err(),
            Invalid::TooLong { max: 500 }
        );
        assert_eq!(ImageRef::parse(" ").unwrap_err(), Invalid::Missing);
    }

    proptest! {
        #[test]
        fn never_panics_and_accepted_references_round_trip(
            raw in "\\PC{0,60}|[a-zA-Z]{0,12}:[ -~]{0,30}|\\p{Cc}{0,3}/images/[a-f0-9.]{0,12}"
        ) {
            if let Ok(image) = ImageRef::parse(&raw) {
                prop_assert_eq!(image.as_str(), raw.trim());
                prop_assert!(!image.as_str().chars().any(char::is_control));
                let scheme = image.as_str().split_once(':').map(|(s, _)| s.to_ascii_lowercase());
                prop_assert!(scheme.is_none_or(|s| s.contains('/') || s == "http" || s == "https"));
                prop_assert_eq!(ImageRef::parse(image.as_str()), Ok(image.clone()));
            }
        }
    }
}
