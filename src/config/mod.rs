//! Every setting of the server, read and validated once at start.
//!
//! Each setting is declared once in `settings.rs` (name, kind, default, secret or not, doc line); the
//! `settings!` macro (`declare.rs`) generates its field, parsing, listing and documentation rows. This
//! module groups the settings for their users and checks what no single setting can: secrets required
//! in production, settings that only go together. A secret `X` may come from `X`, from the file named
//! by `X_FILE`, or from a systemd credential `$CREDENTIALS_DIRECTORY/x` (what `LoadCredential=`
//! provides). Every problem is collected and reported together, so an operator fixes a broken
//! configuration in one round instead of one error per restart.

mod accounts;
mod declare;
pub mod kinds;
mod limits;
mod listing;
mod observability;
mod payments;
mod push;
mod reader;
mod secrets;
mod settings;
mod stores;
mod strength;
pub mod table;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;

pub use accounts::{EmailConfig, GoogleConfig, SuperAdminConfig};
pub use declare::{Example, Setting};
pub use kinds::parse_duration;
pub use limits::{HttpLimits, RateLimitConfig, RealtimeSessionsConfig};
pub use listing::redact_url;
pub use observability::{ObservabilityConfig, TracingConfig, traces_url};
pub use payments::{PaymentPolicy, StripeConfig};
pub use push::PushConfig;
pub use reader::{ProcessEnv, Source};
pub use secrets::JwtConfig;
pub use settings::{PLACEHOLDER, Settings, catalog, secret_names};
pub use stores::{CacheConfig, DatabaseConfig};
pub use strength::secret_bits;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    pub fn is_production(self) -> bool {
        self == Environment::Production
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub environment: Environment,
    pub ip_address: IpAddr,
    pub port: u16,
    /// `None` when metrics are switched off (`METRICS_ADDRESS=off`).
    pub metrics_address: Option<SocketAddr>,
    pub database: DatabaseConfig,
    pub cache: CacheConfig,
    pub redis_key_prefix: String,
    pub jwt: JwtConfig,
    /// 32 bytes: the AEAD key for student passcodes (and the HMAC key is derived from it).
    pub passcode_key: SecretString,
    pub email: Option<EmailConfig>,
    pub super_admin: Option<SuperAdminConfig>,
    pub google: GoogleConfig,
    pub rate_limit: RateLimitConfig,
    pub frontend_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub http: HttpLimits,
    pub log_level: String,
    pub shutdown_timeout: Duration,
    /// Test-only routes (`/api/v1/test/*`); refused in production.
    pub test_hooks: bool,
    /// Emit every notification to every connected socket, signed in or not, as the old server did.
    /// Off by default: it shows each user's notifications to everyone (CLIENT-CONTRACT §5).
    pub realtime_legacy_broadcast: bool,
    pub realtime_sessions: RealtimeSessionsConfig,
    pub push: PushConfig,
    pub observability: ObservabilityConfig,
    /// Secrets generated for this process because none were configured (development only).
    pub generated_secrets: Vec<&'static str>,
    /// What payments may be (fee, bounds, currency, limits), whether or not Stripe is on.
    pub payments: PaymentPolicy,
    /// `None` when `STRIPE_SECRET_KEY` is unset: payment routes answer 503.
    pub stripe: Option<StripeConfig>,
    /// Settings that work but deserve an operator's look (logged at start).
    pub warnings: Vec<String>,
    /// `check-config`'s listing, made at load time from the settings as read.
    redacted: Vec<String>,
}

/// An optional integration left unconfigured: what it is, the settings that would enable it, and
/// what does not work meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisabledIntegration {
    pub name: &'static str,
    pub settings: &'static str,
    pub effect: &'static str,
}

/// Every problem found in the configuration, reported together.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(source: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        let mut r = reader::Reader::new(source);
        let mut s = Settings::read(&mut r);
        let mut problems = r.problems;
        let production = s.environment.is_production();
        let mut generated_secrets = Vec::new();

        let database = stores::database(&s, &mut problems);
        let cache = stores::cache(&s, &mut problems);
        let jwt = secrets::jwt(&s, production, &mut problems, &mut generated_secrets);
        let passcode_key = secrets::passcode_key(&s, production, &mut problems);
        let email = accounts::email(&s, &mut problems);
        let super_admin = accounts::super_admin(&s, production, &mut problems);
        accounts::check_origins(&s, &mut problems);
        let payments = payments::group(&s, production, &mut problems);
        if s.test_hooks && production {
            problems.push("EDUCOIN_TEST_HOOKS must not be enabled in production".into());
        }
        let observability = observability::observability(&s, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        limits::at_least_one(&mut s);

        let mut config = Config {
            environment: s.environment,
            ip_address: s.ip_address,
            port: s.port,
            metrics_address: s.metrics_address,
            database,
            cache,
            redis_key_prefix: s.redis_key_prefix.clone(),
            jwt,
            passcode_key,
            email,
            super_admin,
            google: accounts::google(&s),
            rate_limit: limits::rate_limit(&s),
            frontend_origins: s.frontend_url.clone(),
            trusted_proxies: s.trusted_proxies.clone(),
            max_body_bytes: s.max_body_bytes,
            http: limits::http(&s),
            log_level: s.log_level.clone(),
            shutdown_timeout: s.shutdown_timeout,
            test_hooks: s.test_hooks,
            realtime_legacy_broadcast: s.realtime_legacy_broadcast,
            realtime_sessions: limits::realtime_sessions(&s),
            push: push::push(&s),
            observability,
            generated_secrets,
            payments: payments.policy,
            stripe: payments.stripe,
            warnings: payments.warnings,
            redacted: Vec::new(),
        };
        config.redacted = config.listing(&s);
        Ok(config)
    }

    pub fn http_address(&self) -> SocketAddr {
        SocketAddr::new(self.ip_address, self.port)
    }

    /// Optional integrations that are not configured. The server starts without them (with a
    /// warning naming the settings) and the routes that need them answer 503.
    pub fn disabled_integrations(&self) -> Vec<DisabledIntegration> {
        let mut off = Vec::new();
        // Development logs mail instead of sending it, so password reset still works there.
        if self.email.is_none() && self.environment.is_production() {
            off.push(DisabledIntegration {
                name: "email",
                settings: "EMAIL_HOST, EMAIL_FROM",
                effect: "password-reset codes cannot be sent: /auth/forget-password answers 503",
            });
        }
        if self.stripe.is_none() {
            off.push(DisabledIntegration {
                name: "payments",
                settings: "STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET",
                effect: "classroom projects cannot take payments: payment routes answer 503",
            });
        }
        if self.push.service_account_key.is_none() {
            off.push(DisabledIntegration {
                name: "push",
                settings: "FIREBASE_SERVICE_ACCOUNT_KEY_BASE64",
                effect: "no push through FCM (devices still register; Socket.IO still delivers)",
            });
        }
        off
    }

    /// The effective configuration, one `NAME=value` line per setting, with every secret shown only
    /// as set or unset and credentials stripped from URLs.
    pub fn redacted_lines(&self) -> Vec<String> {
        self.redacted.clone()
    }
}
