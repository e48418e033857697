//! Where settings come from, and the reader that collects every problem instead of stopping at the
//! first, so that an operator fixes a broken configuration in one round instead of one per restart.

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::SecretString;

/// Where a setting comes from: the process environment in production, a map in tests.
pub trait Source {
    fn var(&self, name: &str) -> Option<String>;
    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// The real process environment.
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Reads settings one by one, remembering every problem.
pub struct Reader<'a, S: Source + ?Sized> {
    source: &'a S,
    pub problems: Vec<String>,
}

impl<'a, S: Source + ?Sized> Reader<'a, S> {
    pub fn new(source: &'a S) -> Self {
        Self {
            source,
            problems: Vec::new(),
        }
    }

    /// The trimmed value; an empty one counts as unset (as `X=` in an env file means).
    pub fn plain(&self, name: &str) -> Option<String> {
        self.source
            .var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `X`, else the file named by `X_FILE`, else `$CREDENTIALS_DIRECTORY/x`.
    pub fn secret(&mut self, name: &str) -> Option<SecretString> {
        let direct = self.plain(name);
        let file_var = format!("{name}_FILE");
        let file = self.plain(&file_var);
        match (direct, file) {
            (Some(_), Some(_)) => {
                self.problems
                    .push(format!("{name} and {file_var} are both set; set only one"));
                None
            }
            (Some(v), None) => Some(SecretString::from(v)),
            (None, Some(path)) => self.secret_file(&file_var, Path::new(&path)),
            (None, None) => {
                let dir = self.plain("CREDENTIALS_DIRECTORY")?;
                let path = Path::new(&dir).join(name.to_ascii_lowercase());
                if path.exists() {
                    self.secret_file("CREDENTIALS_DIRECTORY", &path)
                } else {
                    None
                }
            }
        }
    }

    fn secret_file(&mut self, var: &str, path: &Path) -> Option<SecretString> {
        match self.source.read_file(path) {
            Ok(content) => {
                let value = content.trim_end_matches(['\n', '\r']).to_owned();
                if value.is_empty() {
                    self.problems
                        .push(format!("{var}: the file {} is empty", path.display()));
                    None
                } else {
                    Some(SecretString::from(value))
                }
            }
            Err(e) => {
                self.problems
                    .push(format!("{var}: cannot read {}: {e}", path.display()));
                None
            }
        }
    }

    /// The parsed value, or `default` when unset; a value that does not parse is a problem (and
    /// the default stands in so that the other settings are still checked).
    pub fn parsed<T>(
        &mut self,
        name: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        match self.plain(name) {
            None => default,
            Some(raw) => match parse(&raw) {
                Ok(v) => v,
                Err(why) => {
                    self.problems.push(format!("{name}={raw:?}: {why}"));
                    default
                }
            },
        }
    }
}
