//! The `settings!` macro: each setting is declared once (environment name, kind, default, doc line,
//! development and production example) and everything else is generated from that declaration: the
//! [`Settings`](super::Settings) field, its parsing (with `_FILE` and systemd credentials for
//! secrets), its line in `check-config`'s redacted listing, its rows in the example env files and in
//! the README's configuration table.

/// What an example env file says about one setting.
#[derive(Clone, Copy, Debug)]
pub enum Example {
    /// An active line: `NAME=value`.
    Set(&'static str),
    /// A commented-out line (`# NAME=value`): the default applies, the value shows the syntax.
    Commented(&'static str),
    /// Not in the example files (test-only settings).
    Omitted,
}

/// One setting as declared, for the people-facing renderings.
#[derive(Clone, Debug)]
pub struct Setting {
    pub name: &'static str,
    pub doc: &'static str,
    /// Read from `X`, `X_FILE` or a systemd credential, and never shown.
    pub secret: bool,
    /// The default as the listing shows it (`[unset]` for an optional setting).
    pub default: String,
    pub development: Example,
    pub production: Example,
}

/// `/// doc line` then `field: Kind = "NAME", default <value>, dev <Example>, prod <Example>;`
macro_rules! settings {
    ($(
        #[doc = $doc:literal]
        $field:ident: $kind:ty = $name:literal,
            default $default:expr, dev $dev:expr, prod $prod:expr;
    )+) => {
        /// Every setting as read from the environment, before the cross-checks and grouping of
        /// [`Config`](super::Config).
        pub struct Settings {
            $( #[doc = $doc] pub $field: <$kind as Kind>::Value, )+
        }

        impl Settings {
            pub fn read<S: Source + ?Sized>(r: &mut Reader<'_, S>) -> Self {
                Self { $( $field: <$kind as Kind>::read(r, $name, $default), )+ }
            }

            /// `(NAME, value)` in declaration order, every secret only as set or unset.
            pub fn shown(&self) -> Vec<(&'static str, String)> {
                vec![$( ($name, <$kind as Kind>::show(&self.$field)), )+]
            }
        }

        /// Every setting's declaration, in order.
        pub fn catalog() -> Vec<Setting> {
            vec![$(
                Setting {
                    name: $name,
                    doc: $doc.trim(),
                    secret: <$kind as Kind>::SECRET,
                    default: <$kind as Kind>::show(&$default),
                    development: $dev,
                    production: $prod,
                },
            )+]
        }
    };
}

pub(super) use settings;
