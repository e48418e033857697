//! The settings around accounts: mail for password resets, the super admin made at start, Google
//! sign-in, and the browser origins allowed to call.

use secrecy::{ExposeSecret, SecretString};

use super::settings::Settings;

#[derive(Clone, Debug)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<SecretString>,
    pub from: String,
}

#[derive(Clone, Debug)]
pub struct SuperAdminConfig {
    pub email: String,
    pub password: SecretString,
}

#[derive(Clone, Debug)]
pub struct GoogleConfig {
    pub client_ids: Vec<String>,
    pub jwks_url: String,
    /// Accept the old app's unverified `{type: "social", email}` body. Off by default: it lets anyone
    /// log in as any teacher.
    pub allow_legacy_login: bool,
}

pub(super) fn email(s: &Settings, problems: &mut Vec<String>) -> Option<EmailConfig> {
    let host = s.email_host.clone()?;
    let user = s.email_user.clone();
    let password = s.email_pass.clone();
    if user.is_some() != password.is_some() {
        problems.push("EMAIL_USER and EMAIL_PASS must be set together".into());
    }
    let from = match s.email_from.clone().or_else(|| user.clone()) {
        Some(from) => from,
        None => {
            problems.push("EMAIL_FROM is required when EMAIL_HOST is set".into());
            String::new()
        }
    };
    Some(EmailConfig {
        host,
        port: s.email_port,
        user,
        password,
        from,
    })
}

pub(super) fn super_admin(
    s: &Settings,
    production: bool,
    problems: &mut Vec<String>,
) -> Option<SuperAdminConfig> {
    match (s.super_admin_email.clone(), s.super_admin_password.clone()) {
        (None, None) => None,
        (Some(email), Some(password)) => {
            if !email.contains('@') {
                problems.push("SUPER_ADMIN_EMAIL is not an email address".into());
            }
            if production && password.expose_secret().chars().count() < 12 {
                problems.push(
                    "SUPER_ADMIN_PASSWORD must have at least 12 characters in production".into(),
                );
            }
            Some(SuperAdminConfig { email, password })
        }
        _ => {
            problems.push("SUPER_ADMIN_EMAIL and SUPER_ADMIN_PASSWORD must be set together".into());
            None
        }
    }
}

pub(super) fn google(s: &Settings) -> GoogleConfig {
    GoogleConfig {
        client_ids: s.google_client_id.clone(),
        jwks_url: s.google_jwks_url.clone(),
        allow_legacy_login: s.google_allow_legacy_login,
    }
}

/// Each `FRONTEND_URL` must be an origin (CORS compares origins, not URLs).
pub(super) fn check_origins(s: &Settings, problems: &mut Vec<String>) {
    for origin in &s.frontend_url {
        match url::Url::parse(origin) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => problems.push(format!(
                "FRONTEND_URL: {origin:?} is not an origin like https://dashboard.example.com"
            )),
        }
    }
}
