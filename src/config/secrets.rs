//! The signing and sealing keys: required (and checked for randomness) in production, made up for
//! the process in development so that a bare `cargo run` works.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::settings::Settings;
use super::strength::{random_hex, weak_secret_reason};

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub secret: SecretString,
    pub expires_in: Duration,
    pub refresh_secret: SecretString,
    pub refresh_expires_in: Duration,
}

/// The fixed development passcode key: passcodes stay readable across restarts of a dev server, and
/// production refuses to start without a real one.
pub(super) const DEVELOPMENT_PASSCODE_KEY: &str =
    "646576656c6f706d656e74206f6e6c793a206e6f742061207365637265742121";

/// The two JWT secrets; `generated` collects the names of those made up for this process.
pub(super) fn jwt(
    s: &Settings,
    production: bool,
    problems: &mut Vec<String>,
    generated: &mut Vec<&'static str>,
) -> JwtConfig {
    let mut required_secret = |value: Option<SecretString>, name: &'static str| -> SecretString {
        match value {
            Some(secret) => {
                if production && let Some(why) = weak_secret_reason(secret.expose_secret()) {
                    problems.push(format!("{name} {why}"));
                }
                secret
            }
            None if production => {
                problems.push(format!("{name} is required in production (or {name}_FILE)"));
                SecretString::from("")
            }
            None => {
                generated.push(name);
                SecretString::from(random_hex(32))
            }
        }
    };
    let secret = required_secret(s.jwt_secret.clone(), "JWT_SECRET");
    let refresh_secret = required_secret(s.jwt_refresh_secret.clone(), "JWT_REFRESH_SECRET");
    if !secret.expose_secret().is_empty()
        && secret.expose_secret() == refresh_secret.expose_secret()
    {
        problems.push("JWT_REFRESH_SECRET must differ from JWT_SECRET".into());
    }
    JwtConfig {
        secret,
        expires_in: s.jwt_expire_in,
        refresh_secret,
        refresh_expires_in: s.jwt_refresh_expire_in,
    }
}

pub(super) fn passcode_key(
    s: &Settings,
    production: bool,
    problems: &mut Vec<String>,
) -> SecretString {
    match s.passcode_key.clone() {
        Some(key) => {
            let k = key.expose_secret();
            if k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit()) {
                problems.push(
                    "PASSCODE_KEY must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32`".into(),
                );
            } else if production && k.eq_ignore_ascii_case(DEVELOPMENT_PASSCODE_KEY) {
                // It ships in the binary and the source: anyone could decrypt the passcodes.
                problems.push(
                    "PASSCODE_KEY is the public development key; generate one with `openssl rand -hex 32`".into(),
                );
            } else if production && let Some(why) = weak_secret_reason(k) {
                problems.push(format!("PASSCODE_KEY {why}"));
            }
            key
        }
        None if production => {
            problems.push(
                "PASSCODE_KEY is required in production (64 hex characters; `openssl rand -hex 32`)"
                    .into(),
            );
            SecretString::from("")
        }
        None => SecretString::from(DEVELOPMENT_PASSCODE_KEY),
    }
}
