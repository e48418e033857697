//! Where records and cache entries live: `DATABASE_URL` picks SQLite or MongoDB (SQLite in the
//! state directory when unset), `REDIS_URL` Redis or the in-process cache.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::settings::Settings;

#[derive(Clone, Debug)]
pub enum DatabaseConfig {
    Sqlite { path: PathBuf },
    Mongo { url: SecretString },
}

#[derive(Clone, Debug)]
pub enum CacheConfig {
    Memory,
    Redis { url: SecretString },
}

pub(super) fn database(s: &Settings, problems: &mut Vec<String>) -> DatabaseConfig {
    // Without DATABASE_URL, SQLite in the state directory (uploads go beside it).
    let data_dir = &s.state_directory;
    match s.database_url.clone() {
        None => DatabaseConfig::Sqlite {
            path: data_dir.join("educoin.db"),
        },
        Some(url) => {
            let raw = url.expose_secret();
            if let Some(path) = raw.strip_prefix("sqlite://") {
                if path.is_empty() {
                    problems.push("DATABASE_URL: sqlite:// needs a file path, e.g. sqlite:///var/lib/educoin/educoin.db".into());
                }
                DatabaseConfig::Sqlite { path: path.into() }
            } else if raw.starts_with("mongodb://") || raw.starts_with("mongodb+srv://") {
                DatabaseConfig::Mongo { url }
            } else {
                problems.push(
                    "DATABASE_URL must start with mongodb://, mongodb+srv:// or sqlite://".into(),
                );
                DatabaseConfig::Sqlite {
                    path: data_dir.join("educoin.db"),
                }
            }
        }
    }
}

pub(super) fn cache(s: &Settings, problems: &mut Vec<String>) -> CacheConfig {
    match s.redis_url.clone() {
        None => CacheConfig::Memory,
        Some(url) => {
            let raw = url.expose_secret();
            if raw.starts_with("redis://")
                || raw.starts_with("rediss://")
                || raw.starts_with("redis+unix://")
                || raw.starts_with("unix://")
            {
                CacheConfig::Redis { url }
            } else {
                problems.push(
                    "REDIS_URL must start with redis://, rediss://, redis+unix:// or unix://"
                        .into(),
                );
                CacheConfig::Memory
            }
        }
    }
}
