//! What every text value type shares once it is parsed: read access as `&str`, a way back to a
//! `String` for the records that store it, and [`FromText`](super::invalid::FromText) for the HTTP
//! edge. Written once here so that each type's file holds only its rule.

/// For a newtype `$name(String)` (optionally `$name<const N: usize>`) with an inherent
/// `parse(&str) -> Result<Self, Invalid>`.
macro_rules! text_value {
    ($name:ident $(<const $c:ident: $ct:ty>)?) => {
        impl$(<const $c: $ct>)? $name$(<$c>)? {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl$(<const $c: $ct>)? From<$name$(<$c>)?> for String {
            fn from(v: $name$(<$c>)?) -> String {
                v.0
            }
        }

        /// Read as the text it holds (`&email` where a `&str` is wanted).
        impl$(<const $c: $ct>)? std::ops::Deref for $name$(<$c>)? {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl$(<const $c: $ct>)? AsRef<str> for $name$(<$c>)? {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl$(<const $c: $ct>)? std::fmt::Debug for $name$(<$c>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl$(<const $c: $ct>)? std::fmt::Display for $name$(<$c>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl$(<const $c: $ct>)? $crate::domain::invalid::FromText for $name$(<$c>)? {
            fn from_text(raw: &str) -> Result<Self, $crate::domain::invalid::Invalid> {
                Self::parse(raw)
            }
        }
    };
}

pub(crate) use text_value;
