//! Enums whose variants are stored and sent by name (`notStarted`, `TEACHER`, `avatar`, ...). The
//! name of each variant is written once, in a table that gives both directions (`as_str` and
//! `parse`), so that what is written and what is read back cannot disagree.

/// Declares `$name` with its variants, `as_str` (the variant's name) and `parse` (the exact name
/// back; anything else is `None`). Every such enum is a plain copyable value; more derives may be
/// added as attributes.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The stored form only, exactly as `as_str` writes it.
            pub fn parse(raw: &str) -> Option<Self> {
                match raw {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use named_enum;
