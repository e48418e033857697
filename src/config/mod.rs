//! Every setting of the server, read and validated once at start.
//!
//! Each setting is declared once in `settings.rs` (name, kind, default, secret or not, doc line); the
//! `settings!` macro (`declare.rs`) generates its field, parsing, listing and documentation rows. This
//! module groups the settings for their users and checks what no single setting can: secrets required
//! in production, settings that only go together. A secret `X` may come from `X`, from the file named
//! by `X_FILE`, or from a systemd credential `$CREDENTIALS_DIRECTORY/x` (what `LoadCredential=`
//! provides). Every problem is collected and reported together, so an operator fixes a broken
//! configuration in one round instead of one error per restart.

mod declare;
pub mod kinds;
mod payments;
mod reader;
mod settings;
mod strength;
pub mod table;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

pub use declare::{Example, Setting};
pub use kinds::parse_duration;
pub use payments::{PaymentPolicy, StripeConfig};
pub use reader::{ProcessEnv, Source};
pub use settings::{PLACEHOLDER, Settings, catalog, secret_names};
pub use strength::secret_bits;
use strength::{random_hex, weak_secret_reason};

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
pub enum DatabaseConfig {
    Sqlite { path: PathBuf },
    Mongo { url: SecretString },
}

#[derive(Clone, Debug)]
pub enum CacheConfig {
    Memory,
    Redis { url: SecretString },
}

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub secret: SecretString,
    pub expires_in: Duration,
    pub refresh_secret: SecretString,
    pub refresh_expires_in: Duration,
}

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

/// Push through FCM HTTP v1 (`src/push`). Without a service-account key push is off (a warning at
/// start); devices still register and notifications are still stored.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// The service-account JSON, base64 (parsed by `push::ServiceAccount`, which warns when unusable).
    pub service_account_key: Option<SecretString>,
    pub api_base: String,
    /// Overrides the key's `token_uri` (tests).
    pub token_uri: Option<String>,
    pub max_devices_per_account: usize,
    pub retry_deadline: Duration,
    pub initial_backoff: Duration,
    /// How long a claimed outbox row stays this replica's (at least 30 s of sending time).
    pub lease: Duration,
}

#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    pub window: Duration,
    pub max_requests: u64,
    /// The window of the login limits below.
    pub login_window: Duration,
    /// Failed logins from one address (any account) before it must wait.
    pub login_failures_per_address: u64,
    /// Failed logins on one account (any address) before it must wait.
    pub login_failures_per_account: u64,
    /// Past the address budget, one password attempt per this period (slowed, not shut out).
    pub login_slow_down: Duration,
    /// Failed passcode logins from one address (an IPv6 /64) per window.
    pub passcode_failures_per_address: u64,
    /// Failed passcode logins from one network (IPv4 /24, IPv6 /48) per window.
    pub passcode_failures_per_network: u64,
    /// Past the passcode address budget, one attempt per this period.
    pub passcode_slow_down: Duration,
    /// Failed passcode logins across all addresses per window; past it, only addresses with no
    /// failure in the window are checked (docs/decisions.md, "Brute-force limits").
    pub passcode_failures_global: u64,
    /// Teacher sign-ups from one address per login window (each costs an argon2 hash).
    pub signups_per_address: u64,
    /// How long a request waits for a password-hashing slot before it is answered 503.
    pub hash_queue_wait: Duration,
    /// Payment intents from one address per login window (the public payment route).
    pub payment_intents_per_address: u64,
    /// Payment intents toward one project per login window.
    pub payment_intents_per_project: u64,
}

/// Socket.IO session caps per process (docs/decisions.md, "Socket.IO handshake floods").
#[derive(Clone, Debug)]
pub struct RealtimeSessionsConfig {
    /// Sessions whose socket has signed in.
    pub max_sessions: usize,
    /// Sessions that have not signed in yet, from all addresses; beyond it the oldest is dropped.
    pub max_pending: usize,
    /// Sessions that have not signed in yet, from one client address; beyond it that address's
    /// oldest is dropped.
    pub max_pending_per_address: usize,
}

/// Limits on every HTTP connection (`src/http/server.rs`; why these figures: `docs/decisions.md`).
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// How long a connection may wait for its next request, and take to send a request head.
    pub idle_timeout: Duration,
    /// How long a request body may stall, or a response wait for the client to read it.
    pub io_timeout: Duration,
    /// Open connections (WebSockets included); more wait in the kernel's backlog.
    pub max_connections: usize,
}

/// Where traces go and how many are kept (src/telemetry/); every field has its OTEL_* setting.
#[derive(Clone, Debug)]
pub struct TracingConfig {
    /// The full traces URL (`<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`), `None`: export off.
    pub traces_url: Option<String>,
    /// Set when the URL came from `JAEGER_ENDPOINT`: what was given, for the start-up log line.
    pub mapped_from_jaeger: Option<String>,
    pub service_name: String,
    /// Follow a sampled/unsampled parent; only new traces use `ratio`.
    pub parent_based: bool,
    /// Share of new traces sampled, 0 to 1.
    pub ratio: f64,
    pub export_timeout: Duration,
    pub max_queue: usize,
    pub schedule_delay: Duration,
}

/// Logs, traces and error reports.
#[derive(Clone, Debug)]
pub struct ObservabilityConfig {
    /// auto, journald, json or pretty (`LOG_FORMAT`).
    pub log_format: String,
    pub tracing: TracingConfig,
    pub sentry_dsn: Option<SecretString>,
    /// `STATE_DIRECTORY`: its filesystem's free bytes are a metric (`src/ops/disk.rs`).
    pub state_directory: PathBuf,
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL, the signal path appended as the spec says) or the
/// seed's `JAEGER_ENDPOINT` (Jaeger's Thrift collector URL; Jaeger takes OTLP/HTTP on port 4318 of
/// the same host). Returns the traces URL and, when mapped, the Jaeger URL it came from.
pub fn traces_url(
    otlp: Option<&str>,
    jaeger: Option<&str>,
) -> Result<Option<(String, Option<String>)>, String> {
    let check = |name: &str, raw: &str| -> Result<url::Url, String> {
        match url::Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
            _ => Err(format!("{name}: {raw:?} is not an http(s) URL")),
        }
    };
    if let Some(raw) = otlp.filter(|r| !r.trim().is_empty()) {
        check("OTEL_EXPORTER_OTLP_ENDPOINT", raw)?;
        return Ok(Some((
            format!("{}/v1/traces", raw.trim_end_matches('/')),
            None,
        )));
    }
    if let Some(raw) = jaeger.filter(|r| !r.trim().is_empty()) {
        let mut u = check("JAEGER_ENDPOINT", raw)?;
        let _ = u.set_port(Some(4318));
        u.set_path("/v1/traces");
        u.set_query(None);
        return Ok(Some((u.to_string(), Some(raw.to_owned()))));
    }
    Ok(None)
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

/// The fixed development passcode key: passcodes stay readable across restarts of a dev server, and
/// production refuses to start without a real one.
const DEVELOPMENT_PASSCODE_KEY: &str =
    "646576656c6f706d656e74206f6e6c793a206e6f742061207365637265742121";

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

        // Without DATABASE_URL, SQLite in the state directory (uploads go beside it).
        let data_dir = &s.state_directory;
        let database = match s.database_url.clone() {
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
                        "DATABASE_URL must start with mongodb://, mongodb+srv:// or sqlite://"
                            .into(),
                    );
                    DatabaseConfig::Sqlite {
                        path: data_dir.join("educoin.db"),
                    }
                }
            }
        };

        let cache = match s.redis_url.clone() {
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
        };

        let mut required_secret = |value: Option<SecretString>,
                                   name: &'static str|
         -> SecretString {
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
                    generated_secrets.push(name);
                    SecretString::from(random_hex(32))
                }
            }
        };
        let jwt_secret = required_secret(s.jwt_secret.clone(), "JWT_SECRET");
        let jwt_refresh_secret =
            required_secret(s.jwt_refresh_secret.clone(), "JWT_REFRESH_SECRET");
        if !jwt_secret.expose_secret().is_empty()
            && jwt_secret.expose_secret() == jwt_refresh_secret.expose_secret()
        {
            problems.push("JWT_REFRESH_SECRET must differ from JWT_SECRET".into());
        }
        let jwt = JwtConfig {
            secret: jwt_secret,
            expires_in: s.jwt_expire_in,
            refresh_secret: jwt_refresh_secret,
            refresh_expires_in: s.jwt_refresh_expire_in,
        };

        let passcode_key = match s.passcode_key.clone() {
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
        };

        let email = match s.email_host.clone() {
            None => None,
            Some(host) => {
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
        };

        let super_admin = match (s.super_admin_email.clone(), s.super_admin_password.clone()) {
            (None, None) => None,
            (Some(email), Some(password)) => {
                if !email.contains('@') {
                    problems.push("SUPER_ADMIN_EMAIL is not an email address".into());
                }
                if production && password.expose_secret().chars().count() < 12 {
                    problems.push(
                        "SUPER_ADMIN_PASSWORD must have at least 12 characters in production"
                            .into(),
                    );
                }
                Some(SuperAdminConfig { email, password })
            }
            _ => {
                problems
                    .push("SUPER_ADMIN_EMAIL and SUPER_ADMIN_PASSWORD must be set together".into());
                None
            }
        };

        for origin in &s.frontend_url {
            match url::Url::parse(origin) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => problems.push(format!(
                    "FRONTEND_URL: {origin:?} is not an origin like https://dashboard.example.com"
                )),
            }
        }
        let payments = payments::group(&s, production, &mut problems);
        if s.test_hooks && production {
            problems.push("EDUCOIN_TEST_HOOKS must not be enabled in production".into());
        }
        let observability = observability(&s, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }

        // Zero would stop every connection or session; one is the least that works.
        s.http_idle_timeout = s.http_idle_timeout.max(Duration::from_secs(1));
        s.http_io_timeout = s.http_io_timeout.max(Duration::from_secs(1));
        s.max_connections = s.max_connections.max(1);
        s.realtime_max_sessions = s.realtime_max_sessions.max(1);
        s.realtime_max_pending_sessions = s.realtime_max_pending_sessions.max(1);
        s.realtime_max_pending_per_address = s.realtime_max_pending_per_address.max(1);

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
            google: GoogleConfig {
                client_ids: s.google_client_id.clone(),
                jwks_url: s.google_jwks_url.clone(),
                allow_legacy_login: s.google_allow_legacy_login,
            },
            rate_limit: RateLimitConfig {
                window: s.rate_limit_window,
                max_requests: s.rate_limit_max_requests,
                login_window: s.login_rate_limit_window,
                login_failures_per_address: s.login_rate_limit_max_failures,
                login_failures_per_account: s.login_rate_limit_max_account_failures,
                login_slow_down: s.login_rate_limit_slow_down,
                passcode_failures_per_address: s.passcode_rate_limit_max_attempts,
                passcode_failures_per_network: s.passcode_rate_limit_max_network_failures,
                passcode_slow_down: s.passcode_rate_limit_slow_down,
                passcode_failures_global: s.passcode_rate_limit_max_failures,
                signups_per_address: s.signup_rate_limit_max,
                hash_queue_wait: s.password_hash_queue_wait,
                payment_intents_per_address: s.payment_rate_limit_per_address.max(1),
                payment_intents_per_project: s.payment_rate_limit_per_project.max(1),
            },
            frontend_origins: s.frontend_url.clone(),
            trusted_proxies: s.trusted_proxies.clone(),
            max_body_bytes: s.max_body_bytes,
            http: HttpLimits {
                idle_timeout: s.http_idle_timeout,
                io_timeout: s.http_io_timeout,
                max_connections: s.max_connections,
            },
            log_level: s.log_level.clone(),
            shutdown_timeout: s.shutdown_timeout,
            test_hooks: s.test_hooks,
            realtime_legacy_broadcast: s.realtime_legacy_broadcast,
            realtime_sessions: RealtimeSessionsConfig {
                max_sessions: s.realtime_max_sessions,
                max_pending: s.realtime_max_pending_sessions,
                max_pending_per_address: s.realtime_max_pending_per_address,
            },
            push: PushConfig {
                service_account_key: s.firebase_service_account_key_base64.clone(),
                api_base: s.fcm_api_base.trim_end_matches('/').to_owned(),
                token_uri: s.fcm_token_uri.clone(),
                max_devices_per_account: s.push_max_devices_per_account.max(1),
                retry_deadline: s.push_retry_deadline,
                initial_backoff: s.push_retry_initial_backoff,
                lease: s.push_lease.max(Duration::from_secs(1)),
            },
            observability,
            generated_secrets,
            payments: payments.policy,
            stripe: payments.stripe,
            warnings: payments.warnings,
            redacted: Vec::new(),
        };
        config.redacted = s
            .shown()
            .into_iter()
            .map(|(name, shown)| {
                let value = config.effective(name).unwrap_or(shown);
                format!("{name}={value}")
            })
            .collect();
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

/// The observability group, with its problems (a bad URL, sampler or ratio).
fn observability(s: &Settings, problems: &mut Vec<String>) -> ObservabilityConfig {
    if !matches!(
        s.log_format.as_str(),
        "auto" | "journald" | "json" | "pretty"
    ) {
        problems.push("LOG_FORMAT must be auto, journald, json or pretty".into());
    }
    let traces = traces_url(
        s.otel_exporter_otlp_endpoint.as_deref(),
        s.jaeger_endpoint.as_deref(),
    )
    .unwrap_or_else(|e| {
        problems.push(e);
        None
    });
    let (parent_based, always) = match s.otel_traces_sampler.as_str() {
        "parentbased_traceidratio" => (true, None),
        "parentbased_always_on" => (true, Some(1.0)),
        "parentbased_always_off" => (true, Some(0.0)),
        "traceidratio" => (false, None),
        "always_on" => (false, Some(1.0)),
        "always_off" => (false, Some(0.0)),
        other => {
            problems.push(format!(
                "OTEL_TRACES_SAMPLER: {other:?} is not one of parentbased_traceidratio, \
                 parentbased_always_on, parentbased_always_off, traceidratio, always_on, always_off"
            ));
            (true, None)
        }
    };
    let arg = s.otel_traces_sampler_arg;
    if !(0.0..=1.0).contains(&arg) {
        problems.push("OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1".into());
    }
    let (traces_url, mapped_from_jaeger) = traces.unzip();
    ObservabilityConfig {
        log_format: s.log_format.clone(),
        tracing: TracingConfig {
            traces_url,
            mapped_from_jaeger: mapped_from_jaeger.flatten(),
            service_name: s.otel_service_name.clone(),
            parent_based,
            ratio: always.unwrap_or(arg.clamp(0.0, 1.0)),
            export_timeout: s.otel_exporter_otlp_timeout,
            max_queue: s.otel_bsp_max_queue_size.max(1),
            schedule_delay: s.otel_bsp_schedule_delay,
        },
        sentry_dsn: s.sentry_dsn.clone(),
        state_directory: s.state_directory.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::strength::MIN_SECRET_BITS;
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_environment_is_a_working_development_config() {
        let c = Config::from_source(&env(&[])).unwrap();
        assert_eq!(c.environment, Environment::Development);
        assert_eq!(c.port, 5000);
        assert!(matches!(c.database, DatabaseConfig::Sqlite { .. }));
        assert!(matches!(c.cache, CacheConfig::Memory));
        assert_eq!(
            c.generated_secrets,
            vec!["JWT_SECRET", "JWT_REFRESH_SECRET"]
        );
    }

    #[test]
    fn production_lists_every_problem_at_once() {
        let err = Config::from_source(&env(&[
            ("NODE_ENV", "production"),
            ("JWT_SECRET", "dev-jwt-secret-change-in-production"),
            ("PORT", "http"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("JWT_SECRET looks like a placeholder"),
            "{text}"
        );
        assert!(text.contains("JWT_REFRESH_SECRET is required"), "{text}");
        assert!(text.contains("PASSCODE_KEY is required"), "{text}");
        assert!(text.contains("PORT=\"http\""), "{text}");
        assert!(
            !text.contains("dev-jwt-secret-change-in-production"),
            "secret leaked: {text}"
        );
    }

    fn production_with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = env(&[
            ("NODE_ENV", "production"),
            ("EMAIL_HOST", "smtp.school.test"),
            ("EMAIL_FROM", "noreply@school.test"),
        ]);
        for name in ["JWT_SECRET", "JWT_REFRESH_SECRET", "PASSCODE_KEY"] {
            all.insert(name.into(), random_hex(32));
        }
        for (k, v) in pairs {
            all.insert(k.to_string(), v.to_string());
        }
        Config::from_source(&all)
    }

    #[test]
    fn production_refuses_a_passcode_key_without_randomness() {
        let zero = "0".repeat(64);
        let pattern = "0123456789abcdef".repeat(4);
        let doubled = "00112233445566778899aabbccddeeff".repeat(2);
        let dev = DEVELOPMENT_PASSCODE_KEY.to_owned();
        for key in [
            zero.as_str(),
            pattern.as_str(),
            doubled.as_str(),
            dev.as_str(),
        ] {
            let err = production_with(&[("PASSCODE_KEY", key)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("PASSCODE_KEY"), "{key}: {err}");
            assert!(!err.contains(key), "key leaked: {err}");
        }
        // Development keeps accepting them (the fixed development key is the default there).
        assert!(Config::from_source(&env(&[("PASSCODE_KEY", &zero)])).is_ok());
        assert!(production_with(&[]).is_ok());
    }

    #[test]
    fn a_thousand_generated_secrets_are_all_accepted() {
        use base64::Engine as _;
        use rand::RngCore;
        let mut lowest = f64::MAX;
        for _ in 0..1000 {
            // `openssl rand -hex 32` for every secret, and `openssl rand -base64 32` for the JWTs.
            let hex = random_hex(32);
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            lowest = lowest.min(secret_bits(&hex)).min(secret_bits(&b64));
            let other = random_hex(32);
            if let Err(e) = production_with(&[
                ("JWT_SECRET", &hex),
                ("JWT_REFRESH_SECRET", &b64),
                ("PASSCODE_KEY", &other),
            ]) {
                panic!("generated secrets refused: {e}");
            }
        }
        println!(
            "lowest estimate of 2,000 generated secrets: {lowest:.0} bits (minimum {MIN_SECRET_BITS})"
        );
        // Hex that happens to contain a marker (`1234`) is still random.
        let mut with_marker = random_hex(32);
        with_marker.replace_range(20..24, "1234");
        assert!(weak_secret_reason(&with_marker).is_none());
    }

    #[test]
    fn placeholders_and_patterns_are_refused_whatever_their_length() {
        for weak in [
            "dev-jwt-secret-change-in-production",
            "changemechangemechangemechangemechangeme",
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "k1-0123456789abcdef0123456789abcdef",
        ] {
            assert!(weak_secret_reason(weak).is_some(), "{weak} accepted");
        }
        assert!(weak_secret_reason("Zq8vN3kP0xW7tY2mB5cR9dF1gH4jK6lS").is_none());
    }

    #[test]
    fn secrets_come_from_files_and_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwt_secret"), "from-credential\n").unwrap();
        let file = dir.path().join("refresh");
        std::fs::write(&file, "from-file").unwrap();
        let c = Config::from_source(&env(&[
            ("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap()),
            ("JWT_REFRESH_SECRET_FILE", file.to_str().unwrap()),
        ]))
        .unwrap();
        assert_eq!(c.jwt.secret.expose_secret(), "from-credential");
        assert_eq!(c.jwt.refresh_secret.expose_secret(), "from-file");
    }

    #[test]
    fn a_secret_and_its_file_together_is_an_error() {
        let err = Config::from_source(&env(&[
            ("JWT_SECRET", "a"),
            ("JWT_SECRET_FILE", "/nonexistent"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("JWT_SECRET and JWT_SECRET_FILE are both set")
        );
    }

    #[test]
    fn the_development_passcode_key_is_a_valid_key() {
        assert!(
            crate::domain::passcode::PasscodeCipher::from_hex_key(DEVELOPMENT_PASSCODE_KEY).is_ok()
        );
    }

    #[test]
    fn durations_follow_the_old_servers_units() {
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("3600").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0").is_err());
    }

    #[test]
    fn redacted_lines_hold_no_secret() {
        let c = Config::from_source(&env(&[
            (
                "DATABASE_URL",
                "mongodb://root:hunter2@db.internal:27017/educoin",
            ),
            ("JWT_SECRET", "s3cr3t-value-that-must-not-appear"),
        ]))
        .unwrap();
        let text = c.redacted_lines().join("\n");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(text.contains("db.internal"), "{text}");
        // A set secret is listed as set; one made up for this process says so.
        assert!(text.contains("\nJWT_SECRET=[set]\n"), "{text}");
        assert!(
            text.contains("\nJWT_REFRESH_SECRET=[generated for this process]\n"),
            "{text}"
        );
    }

    #[test]
    fn the_listing_has_one_line_per_declared_setting_in_order() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "smtp-password").unwrap();
        let c = Config::from_source(&env(&[
            ("EMAIL_HOST", "smtp.school.test"),
            ("EMAIL_USER", "mailer"),
            ("EMAIL_PASS_FILE", file.path().to_str().unwrap()),
            ("SUPER_ADMIN_EMAIL", "root@school.test"),
            ("SUPER_ADMIN_PASSWORD", "a long admin password"),
        ]))
        .unwrap();
        let names: Vec<String> = c
            .redacted_lines()
            .iter()
            .map(|l| l.split_once('=').unwrap().0.to_owned())
            .collect();
        let declared: Vec<String> = catalog().iter().map(|s| s.name.to_owned()).collect();
        assert_eq!(names, declared);
        let lines = c.redacted_lines();
        for set in [
            "EMAIL_PASS=[set]",
            "SUPER_ADMIN_PASSWORD=[set]",
            "EMAIL_USER=mailer",
        ] {
            assert!(lines.iter().any(|l| l == set), "{set}: {lines:?}");
        }
        let text = lines.join("\n");
        assert!(!text.contains("smtp-password") && !text.contains("a long admin password"));
    }
}
