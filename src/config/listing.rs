//! `check-config`'s listing: every setting as read, with secrets shown only as set or unset, and
//! credentials stripped from URLs.

use secrecy::ExposeSecret;

use super::secrets::DEVELOPMENT_PASSCODE_KEY;
use super::settings::Settings;
use super::{CacheConfig, Config, DatabaseConfig};

impl Config {
    /// One `NAME=value` line per setting, in declaration order.
    pub(super) fn listing(&self, s: &Settings) -> Vec<String> {
        s.shown()
            .into_iter()
            .map(|(name, shown)| {
                let value = self.effective(name).unwrap_or(shown);
                format!("{name}={value}")
            })
            .collect()
    }

    /// What the listing shows instead of the setting as read, where grouping decided more: the
    /// database and cache in use, secrets made up for development, a disabled integration.
    fn effective(&self, name: &str) -> Option<String> {
        Some(match name {
            "DATABASE_URL" => match &self.database {
                DatabaseConfig::Sqlite { path } => format!("sqlite://{}", path.display()),
                DatabaseConfig::Mongo { url } => redact_url(url.expose_secret()),
            },
            "REDIS_URL" => match &self.cache {
                CacheConfig::Memory => "[unset: in-process cache, single instance only]".into(),
                CacheConfig::Redis { url } => redact_url(url.expose_secret()),
            },
            "JWT_SECRET" | "JWT_REFRESH_SECRET" if self.generated_secrets.contains(&name) => {
                "[generated for this process]".into()
            }
            "PASSCODE_KEY" if self.passcode_key.expose_secret() == DEVELOPMENT_PASSCODE_KEY => {
                "[development key]".into()
            }
            "EMAIL_HOST" if self.email.is_none() => {
                if self.environment.is_production() {
                    "[unset: email disabled, password reset answers 503]".into()
                } else {
                    "[unset: mail is logged, not sent]".into()
                }
            }
            _ => return None,
        })
    }
}

/// `mongodb://user:pass@host/db` → `mongodb://[credentials]@host/db`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                let s = u.to_string();
                s.replacen("://", "://[credentials]@", 1)
            } else {
                u.to_string()
            }
        }
        Err(_) => "[unparseable URL]".into(),
    }
}
