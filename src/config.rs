//! Every setting of the server, read and validated once at start.
//!
//! Names follow the old Node server's environment (`PORT`, `DATABASE_URL`, `JWT_SECRET`, ...) so that
//! existing deployments keep their `.env` files. A secret `X` may instead come from the file named by
//! `X_FILE`, or from a systemd credential `$CREDENTIALS_DIRECTORY/x` (what `LoadCredential=` provides).
//! Validation collects every problem and reports them together, so an operator fixes a broken
//! configuration in one round instead of one error per restart.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

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

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

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
    Mongo { url: Secret },
}

#[derive(Clone, Debug)]
pub enum CacheConfig {
    Memory,
    Redis { url: Secret },
}

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub secret: Secret,
    pub expires_in: Duration,
    pub refresh_secret: Secret,
    pub refresh_expires_in: Duration,
}

#[derive(Clone, Debug)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
}

#[derive(Clone, Debug)]
pub struct SuperAdminConfig {
    pub email: String,
    pub password: Secret,
}

#[derive(Clone, Debug)]
pub struct GoogleConfig {
    pub client_ids: Vec<String>,
    pub client_secret: Option<Secret>,
    pub jwks_url: String,
    /// Accept the old app's unverified `{type: "social", email}` body. Off by default: it lets anyone
    /// log in as any teacher.
    pub allow_legacy_login: bool,
}

#[derive(Clone, Debug)]
pub struct StripeConfig {
    pub secret_key: Option<Secret>,
    pub webhook_secret: Option<Secret>,
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
    pub passcode_key: Secret,
    pub email: Option<EmailConfig>,
    pub super_admin: Option<SuperAdminConfig>,
    pub google: GoogleConfig,
    pub stripe: StripeConfig,
    pub rate_limit: RateLimitConfig,
    pub frontend_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub http: HttpLimits,
    pub log_level: String,
    pub shutdown_timeout: Duration,
    pub data_dir: PathBuf,
    /// Test-only routes (`/api/v1/test/*`); refused in production.
    pub test_hooks: bool,
    /// Emit every notification to every connected socket, signed in or not, as the old server did.
    /// Off by default: it shows each user's notifications to everyone (CLIENT-CONTRACT §5).
    pub realtime_legacy_broadcast: bool,
    pub realtime_sessions: RealtimeSessionsConfig,
    /// Secrets generated for this process because none were configured (development only).
    pub generated_secrets: Vec<&'static str>,
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

const DEFAULT_PORT: u16 = 5000;
const DEFAULT_METRICS_ADDRESS: &str = "0.0.0.0:9464";
const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
const MIN_SECRET_LEN: usize = 32;

/// The secrets that may come from `X_FILE` or a systemd credential.
pub const SECRET_NAMES: &[&str] = &[
    "JWT_SECRET",
    "JWT_REFRESH_SECRET",
    "PASSCODE_KEY",
    "EMAIL_PASS",
    "SUPER_ADMIN_PASSWORD",
    "GOOGLE_CLIENT_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "DATABASE_URL",
    "REDIS_URL",
];

/// Reads settings one by one, remembering every problem instead of stopping at the first.
struct Reader<'a, S: Source> {
    source: &'a S,
    problems: Vec<String>,
}

impl<S: Source> Reader<'_, S> {
    fn plain(&self, name: &str) -> Option<String> {
        self.source
            .var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `X`, else the file named by `X_FILE`, else `$CREDENTIALS_DIRECTORY/x`.
    fn secret(&mut self, name: &str) -> Option<Secret> {
        debug_assert!(SECRET_NAMES.contains(&name));
        let direct = self.plain(name);
        let file_var = format!("{name}_FILE");
        let file = self.plain(&file_var);
        match (direct, file) {
            (Some(_), Some(_)) => {
                self.problems
                    .push(format!("{name} and {file_var} are both set; set only one"));
                None
            }
            (Some(v), None) => Some(Secret(v)),
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

    fn secret_file(&mut self, var: &str, path: &Path) -> Option<Secret> {
        match self.source.read_file(path) {
            Ok(content) => {
                let value = content.trim_end_matches(['\n', '\r']).to_owned();
                if value.is_empty() {
                    self.problems
                        .push(format!("{var}: the file {} is empty", path.display()));
                    None
                } else {
                    Some(Secret(value))
                }
            }
            Err(e) => {
                self.problems
                    .push(format!("{var}: cannot read {}: {e}", path.display()));
                None
            }
        }
    }

    fn parsed<T>(
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

    fn number<T: std::str::FromStr>(&mut self, name: &str, default: T) -> T {
        self.parsed(name, default, |raw| {
            raw.parse::<T>()
                .map_err(|_| "expected a whole number".to_owned())
        })
    }

    fn flag(&mut self, name: &str) -> bool {
        self.parsed(name, false, |raw| match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        })
    }

    fn millis(&mut self, name: &str, default: Duration) -> Duration {
        self.parsed(name, default, |raw| match raw.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err("expected a positive number of milliseconds".to_owned()),
        })
    }

    fn duration(&mut self, name: &str, default: Duration) -> Duration {
        self.parsed(name, default, parse_duration)
    }
}

/// `3600` (seconds), or a number with a unit as the old server's `ms` library took: `500ms`, `30s`,
/// `15m`, `12h`, `1d`, `2w`, `1y`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected a duration like 3600, 15m, 12h or 7d".to_owned())?;
    let secs = |mult: u64| Duration::from_secs(n.saturating_mul(mult));
    let d = match unit.trim() {
        "" | "s" => secs(1),
        "ms" => Duration::from_millis(n),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        "w" => secs(7 * 86_400),
        "y" => secs(365 * 86_400),
        other => {
            return Err(format!(
                "unknown unit {other:?}; use ms, s, m, h, d, w or y"
            ));
        }
    };
    if d.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(d)
}

/// Values that appear in the seed's example files and tutorials. A production secret built around
/// one of them was copied, not generated; the words are removed before its randomness is judged.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "change",
    "replace",
    "placeholder",
    "example",
    "secret",
    "password",
    "dev-",
    "test",
    "todo",
    "get_from",
    "xxxx",
    "1234",
];

/// The least estimated randomness of a production secret, in bits (docs/decisions.md, "Secret
/// strength"). `openssl rand -hex 32` estimates about 200 (never below 170 in 30,000 samples).
const MIN_SECRET_BITS: f64 = 64.0;

/// A conservative estimate of the randomness in `value`, in bits: the placeholder words are cut
/// out, and what is left counts as many characters as it has distinct trigrams that are not a run
/// (`aaa`) or a sequence (`abc`, `321`), each worth the Shannon entropy of its characters. Repeated
/// or sequential text thus scores near zero while random text of any alphabet keeps its length.
/// The lower of the estimates with and without doubled characters counts (`00112233...` is a
/// sequence too).
pub fn secret_bits(value: &str) -> f64 {
    let mut undoubled = String::with_capacity(value.len());
    for c in value.chars() {
        if !undoubled.ends_with(c) {
            undoubled.push(c);
        }
    }
    trigram_bits(value).min(trigram_bits(&undoubled))
}

fn trigram_bits(value: &str) -> f64 {
    let chars: Vec<char> = value.chars().collect();
    let lower: Vec<char> = value.to_lowercase().chars().collect();
    let mut kept = vec![true; chars.len()];
    if lower.len() == chars.len() {
        for marker in PLACEHOLDER_MARKERS {
            let m: Vec<char> = marker.chars().collect();
            for start in 0..chars.len().saturating_sub(m.len() - 1) {
                if lower[start..start + m.len()] == m[..] {
                    kept[start..start + m.len()].fill(false);
                }
            }
        }
    }
    let mut counts = std::collections::HashMap::new();
    let mut trigrams = std::collections::HashSet::new();
    let mut run: Vec<char> = Vec::new();
    let mut runs = Vec::new();
    for (c, keep) in chars.iter().zip(&kept) {
        if *keep {
            *counts.entry(*c).or_insert(0usize) += 1;
            run.push(*c);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    runs.push(run);
    for run in &runs {
        for t in run.windows(3) {
            let (a, b, c) = (t[0] as i64, t[1] as i64, t[2] as i64);
            let patterned = b - a == c - b && (b - a).abs() <= 1;
            if !patterned {
                trigrams.insert([t[0], t[1], t[2]]);
            }
        }
    }
    let total: usize = counts.values().sum();
    if total == 0 {
        return 0.0;
    }
    let per_char: f64 = counts
        .values()
        .map(|&n| {
            let p = n as f64 / total as f64;
            -p * p.log2()
        })
        .sum();
    trigrams.len() as f64 * per_char
}

fn weak_secret_reason(value: &str) -> Option<String> {
    if value.chars().count() < MIN_SECRET_LEN {
        return Some(format!(
            "is shorter than {MIN_SECRET_LEN} characters; generate one with `openssl rand -hex 32`"
        ));
    }
    if secret_bits(value) >= MIN_SECRET_BITS {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    Some(
        match PLACEHOLDER_MARKERS.iter().find(|m| lower.contains(*m)) {
            Some(marker) => format!(
                "looks like a placeholder (contains {marker:?}); generate one with `openssl rand -hex 32`"
            ),
            None => "has too little randomness (repeated or sequential characters); generate one \
                     with `openssl rand -hex 32`"
                .to_owned(),
        },
    )
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fixed development passcode key: passcodes stay readable across restarts of a dev server, and
/// production refuses to start without a real one.
const DEVELOPMENT_PASSCODE_KEY: &str =
    "646576656c6f706d656e74206f6e6c793a206e6f742061207365637265742121";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let mut r = Reader {
            source,
            problems: Vec::new(),
        };
        let mut generated_secrets = Vec::new();

        let environment = r.parsed("NODE_ENV", Environment::Development, |raw| {
            match raw.to_ascii_lowercase().as_str() {
                "development" | "dev" => Ok(Environment::Development),
                "test" => Ok(Environment::Test),
                "production" | "prod" => Ok(Environment::Production),
                _ => Err("expected development, test or production".to_owned()),
            }
        });
        let production = environment.is_production();

        let ip_address = r.parsed(
            "IP_ADDRESS",
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            |raw| match raw {
                "localhost" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                _ => raw
                    .parse()
                    .map_err(|_| "expected an IP address such as 0.0.0.0 or 127.0.0.1".to_owned()),
            },
        );
        let port = r.number("PORT", DEFAULT_PORT);
        let metrics_address = r.parsed(
            "METRICS_ADDRESS",
            DEFAULT_METRICS_ADDRESS.parse().ok(),
            |raw| match raw {
                "off" | "none" | "disabled" => Ok(None),
                _ => raw
                    .parse()
                    .map(Some)
                    .map_err(|_| "expected host:port such as 0.0.0.0:9464, or off".to_owned()),
            },
        );

        let data_dir = r
            .plain("STATE_DIRECTORY")
            // systemd may pass several directories separated by ':'; the first is ours.
            .and_then(|dirs| dirs.split(':').next().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("data"));

        let database = match r.secret("DATABASE_URL") {
            None => DatabaseConfig::Sqlite {
                path: data_dir.join("educoin.db"),
            },
            Some(url) => {
                let raw = url.expose();
                if let Some(path) = raw.strip_prefix("sqlite://") {
                    if path.is_empty() {
                        r.problems
                            .push("DATABASE_URL: sqlite:// needs a file path, e.g. sqlite:///var/lib/educoin/educoin.db".into());
                    }
                    DatabaseConfig::Sqlite { path: path.into() }
                } else if raw.starts_with("mongodb://") || raw.starts_with("mongodb+srv://") {
                    DatabaseConfig::Mongo { url }
                } else {
                    r.problems.push(
                        "DATABASE_URL must start with mongodb://, mongodb+srv:// or sqlite://"
                            .into(),
                    );
                    DatabaseConfig::Sqlite {
                        path: data_dir.join("educoin.db"),
                    }
                }
            }
        };

        let cache = match r.secret("REDIS_URL") {
            None => CacheConfig::Memory,
            Some(url) => {
                let raw = url.expose();
                if raw.starts_with("redis://")
                    || raw.starts_with("rediss://")
                    || raw.starts_with("redis+unix://")
                    || raw.starts_with("unix://")
                {
                    CacheConfig::Redis { url }
                } else {
                    r.problems.push(
                        "REDIS_URL must start with redis://, rediss://, redis+unix:// or unix://"
                            .into(),
                    );
                    CacheConfig::Memory
                }
            }
        };
        let redis_key_prefix = r
            .plain("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "educoin:".to_owned());

        let mut required_secret = |r: &mut Reader<'_, _>, name: &'static str| -> Secret {
            match r.secret(name) {
                Some(s) => {
                    if production && let Some(why) = weak_secret_reason(s.expose()) {
                        r.problems.push(format!("{name} {why}"));
                    }
                    s
                }
                None if production => {
                    r.problems
                        .push(format!("{name} is required in production (or {name}_FILE)"));
                    Secret(String::new())
                }
                None => {
                    generated_secrets.push(name);
                    Secret(random_hex(32))
                }
            }
        };
        let jwt_secret = required_secret(&mut r, "JWT_SECRET");
        let jwt_refresh_secret = required_secret(&mut r, "JWT_REFRESH_SECRET");
        if !jwt_secret.0.is_empty() && jwt_secret == jwt_refresh_secret {
            r.problems
                .push("JWT_REFRESH_SECRET must differ from JWT_SECRET".into());
        }
        let jwt = JwtConfig {
            secret: jwt_secret,
            expires_in: r.duration("JWT_EXPIRE_IN", Duration::from_secs(86_400)),
            refresh_secret: jwt_refresh_secret,
            refresh_expires_in: r
                .duration("JWT_REFRESH_EXPIRE_IN", Duration::from_secs(30 * 86_400)),
        };

        let passcode_key = match r.secret("PASSCODE_KEY") {
            Some(key) => {
                let k = key.expose();
                if k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit()) {
                    r.problems.push(
                        "PASSCODE_KEY must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32`".into(),
                    );
                } else if production && k.eq_ignore_ascii_case(DEVELOPMENT_PASSCODE_KEY) {
                    // It ships in the binary and the source: anyone could decrypt the passcodes.
                    r.problems.push(
                        "PASSCODE_KEY is the public development key; generate one with `openssl rand -hex 32`".into(),
                    );
                } else if production && let Some(why) = weak_secret_reason(k) {
                    r.problems.push(format!("PASSCODE_KEY {why}"));
                }
                key
            }
            None if production => {
                r.problems.push(
                    "PASSCODE_KEY is required in production (64 hex characters; `openssl rand -hex 32`)"
                        .into(),
                );
                Secret(String::new())
            }
            None => Secret(DEVELOPMENT_PASSCODE_KEY.to_owned()),
        };

        let email = match r.plain("EMAIL_HOST") {
            None => None,
            Some(host) => {
                let port = r.number("EMAIL_PORT", 587u16);
                let user = r.plain("EMAIL_USER");
                let password = r.secret("EMAIL_PASS");
                if user.is_some() != password.is_some() {
                    r.problems
                        .push("EMAIL_USER and EMAIL_PASS must be set together".into());
                }
                let from = match r.plain("EMAIL_FROM").or_else(|| user.clone()) {
                    Some(from) => from,
                    None => {
                        r.problems
                            .push("EMAIL_FROM is required when EMAIL_HOST is set".into());
                        String::new()
                    }
                };
                Some(EmailConfig {
                    host,
                    port,
                    user,
                    password,
                    from,
                })
            }
        };

        let super_admin = match (
            r.plain("SUPER_ADMIN_EMAIL"),
            r.secret("SUPER_ADMIN_PASSWORD"),
        ) {
            (None, None) => None,
            (Some(email), Some(password)) => {
                if !email.contains('@') {
                    r.problems
                        .push("SUPER_ADMIN_EMAIL is not an email address".into());
                }
                if production && password.expose().chars().count() < 12 {
                    r.problems.push(
                        "SUPER_ADMIN_PASSWORD must have at least 12 characters in production"
                            .into(),
                    );
                }
                Some(SuperAdminConfig { email, password })
            }
            _ => {
                r.problems
                    .push("SUPER_ADMIN_EMAIL and SUPER_ADMIN_PASSWORD must be set together".into());
                None
            }
        };

        let google = GoogleConfig {
            client_ids: r
                .plain("GOOGLE_CLIENT_ID")
                .map(|ids| split_list(&ids))
                .unwrap_or_default(),
            client_secret: r.secret("GOOGLE_CLIENT_SECRET"),
            jwks_url: r
                .plain("GOOGLE_JWKS_URL")
                .unwrap_or_else(|| GOOGLE_JWKS_URL.to_owned()),
            allow_legacy_login: r.flag("GOOGLE_ALLOW_LEGACY_LOGIN"),
        };
        let stripe = StripeConfig {
            secret_key: r.secret("STRIPE_SECRET_KEY"),
            webhook_secret: r.secret("STRIPE_WEBHOOK_SECRET"),
        };

        let rate_limit = RateLimitConfig {
            window: r.millis("RATE_LIMIT_WINDOW_MS", Duration::from_secs(900)),
            max_requests: r.number("RATE_LIMIT_MAX_REQUESTS", 1000u64),
            login_window: r.millis("LOGIN_RATE_LIMIT_WINDOW_MS", Duration::from_secs(900)),
            login_failures_per_address: r.number("LOGIN_RATE_LIMIT_MAX_FAILURES", 10u64),
            login_failures_per_account: r.number("LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES", 5u64),
            login_slow_down: r.millis("LOGIN_RATE_LIMIT_SLOW_DOWN_MS", Duration::from_secs(60)),
            passcode_failures_per_address: r.number("PASSCODE_RATE_LIMIT_MAX_ATTEMPTS", 10u64),
            passcode_failures_per_network: r
                .number("PASSCODE_RATE_LIMIT_MAX_NETWORK_FAILURES", 30u64),
            passcode_slow_down: r
                .millis("PASSCODE_RATE_LIMIT_SLOW_DOWN_MS", Duration::from_secs(300)),
            passcode_failures_global: r.number("PASSCODE_RATE_LIMIT_MAX_FAILURES", 100u64),
            signups_per_address: r.number("SIGNUP_RATE_LIMIT_MAX", 10u64),
            hash_queue_wait: r.millis("PASSWORD_HASH_QUEUE_WAIT_MS", Duration::from_secs(2)),
        };

        let frontend_origins = r
            .plain("FRONTEND_URL")
            .map(|raw| split_list(&raw))
            .unwrap_or_default();
        for origin in &frontend_origins {
            match url::Url::parse(origin) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => r.problems.push(format!(
                    "FRONTEND_URL: {origin:?} is not an origin like https://dashboard.example.com"
                )),
            }
        }

        let trusted_proxies = r.parsed("TRUSTED_PROXIES", Vec::new(), |raw| {
            split_list(raw)
                .iter()
                .map(|item| {
                    item.parse::<IpNet>()
                        .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| format!("{item:?} is not an IP address or CIDR range"))
                })
                .collect()
        });

        let max_body_bytes = r.number("MAX_BODY_BYTES", 6 * 1024 * 1024usize);
        let http = HttpLimits {
            idle_timeout: Duration::from_secs(r.number("HTTP_IDLE_TIMEOUT_SECS", 10u64).max(1)),
            io_timeout: Duration::from_secs(r.number("HTTP_IO_TIMEOUT_SECS", 30u64).max(1)),
            max_connections: r.number("MAX_CONNECTIONS", 10_000usize).max(1),
        };
        let log_level = r.plain("LOG_LEVEL").unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            r.problems.push(format!(
                "LOG_LEVEL={log_level:?} is not a level (error, warn, info, debug, trace) or filter"
            ));
        }
        let shutdown_timeout = Duration::from_secs(r.number("SHUTDOWN_TIMEOUT_SECS", 20u64));
        let realtime_legacy_broadcast = r.flag("REALTIME_LEGACY_BROADCAST");
        let realtime_sessions = RealtimeSessionsConfig {
            max_sessions: r.number("REALTIME_MAX_SESSIONS", 10_000usize).max(1),
            max_pending: r.number("REALTIME_MAX_PENDING_SESSIONS", 1_000usize).max(1),
            max_pending_per_address: r.number("REALTIME_MAX_PENDING_PER_ADDRESS", 32usize).max(1),
        };
        let test_hooks = r.flag("EDUCOIN_TEST_HOOKS");
        if test_hooks && production {
            r.problems
                .push("EDUCOIN_TEST_HOOKS must not be enabled in production".into());
        }

        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        Ok(Config {
            environment,
            ip_address,
            port,
            metrics_address,
            database,
            cache,
            redis_key_prefix,
            jwt,
            passcode_key,
            email,
            super_admin,
            google,
            stripe,
            rate_limit,
            frontend_origins,
            trusted_proxies,
            max_body_bytes,
            http,
            log_level,
            shutdown_timeout,
            data_dir,
            test_hooks,
            realtime_legacy_broadcast,
            realtime_sessions,
            generated_secrets,
        })
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
        off
    }

    /// The effective configuration, one `NAME=value` line each, with every secret shown only as
    /// set or unset and credentials stripped from URLs.
    pub fn redacted_lines(&self) -> Vec<String> {
        let set = |s: &Option<Secret>| if s.is_some() { "[set]" } else { "[unset]" };
        let mut lines = vec![
            format!("NODE_ENV={}", self.environment.as_str()),
            format!("IP_ADDRESS={}", self.ip_address),
            format!("PORT={}", self.port),
            format!(
                "METRICS_ADDRESS={}",
                self.metrics_address
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "off".into())
            ),
            match &self.database {
                DatabaseConfig::Sqlite { path } => {
                    format!("DATABASE_URL=sqlite://{}", path.display())
                }
                DatabaseConfig::Mongo { url } => {
                    format!("DATABASE_URL={}", redact_url(url.expose()))
                }
            },
            match &self.cache {
                CacheConfig::Memory => {
                    "REDIS_URL=[unset: in-process cache, single instance only]".into()
                }
                CacheConfig::Redis { url } => format!("REDIS_URL={}", redact_url(url.expose())),
            },
            format!("REDIS_KEY_PREFIX={}", self.redis_key_prefix),
            format!("JWT_SECRET={}", self.secret_state("JWT_SECRET")),
            format!("JWT_EXPIRE_IN={}s", self.jwt.expires_in.as_secs()),
            format!(
                "JWT_REFRESH_SECRET={}",
                self.secret_state("JWT_REFRESH_SECRET")
            ),
            format!(
                "JWT_REFRESH_EXPIRE_IN={}s",
                self.jwt.refresh_expires_in.as_secs()
            ),
            format!(
                "PASSCODE_KEY={}",
                if self.passcode_key.expose() == DEVELOPMENT_PASSCODE_KEY {
                    "[development key]"
                } else {
                    "[set]"
                }
            ),
        ];
        match &self.email {
            None if self.environment.is_production() => {
                lines.push("EMAIL_HOST=[unset: email disabled, password reset answers 503]".into())
            }
            None => lines.push("EMAIL_HOST=[unset: mail is logged, not sent]".into()),
            Some(e) => {
                lines.push(format!("EMAIL_HOST={}", e.host));
                lines.push(format!("EMAIL_PORT={}", e.port));
                lines.push(format!(
                    "EMAIL_USER={}",
                    e.user.as_deref().unwrap_or("[unset]")
                ));
                lines.push(format!("EMAIL_PASS={}", set(&e.password)));
                lines.push(format!("EMAIL_FROM={}", e.from));
            }
        }
        match &self.super_admin {
            None => lines.push("SUPER_ADMIN_EMAIL=[unset]".into()),
            Some(a) => {
                lines.push(format!("SUPER_ADMIN_EMAIL={}", a.email));
                lines.push("SUPER_ADMIN_PASSWORD=[set]".into());
            }
        }
        lines.extend([
            format!("GOOGLE_CLIENT_ID={}", self.google.client_ids.join(",")),
            format!("GOOGLE_CLIENT_SECRET={}", set(&self.google.client_secret)),
            format!("GOOGLE_JWKS_URL={}", self.google.jwks_url),
            format!(
                "GOOGLE_ALLOW_LEGACY_LOGIN={}",
                self.google.allow_legacy_login
            ),
            format!("STRIPE_SECRET_KEY={}", set(&self.stripe.secret_key)),
            format!("STRIPE_WEBHOOK_SECRET={}", set(&self.stripe.webhook_secret)),
            format!(
                "RATE_LIMIT_WINDOW_MS={}",
                self.rate_limit.window.as_millis()
            ),
            format!("RATE_LIMIT_MAX_REQUESTS={}", self.rate_limit.max_requests),
            format!(
                "LOGIN_RATE_LIMIT_WINDOW_MS={}",
                self.rate_limit.login_window.as_millis()
            ),
            format!(
                "LOGIN_RATE_LIMIT_MAX_FAILURES={}",
                self.rate_limit.login_failures_per_address
            ),
            format!(
                "LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES={}",
                self.rate_limit.login_failures_per_account
            ),
            format!(
                "LOGIN_RATE_LIMIT_SLOW_DOWN_MS={}",
                self.rate_limit.login_slow_down.as_millis()
            ),
            format!(
                "PASSCODE_RATE_LIMIT_MAX_ATTEMPTS={}",
                self.rate_limit.passcode_failures_per_address
            ),
            format!(
                "PASSCODE_RATE_LIMIT_MAX_NETWORK_FAILURES={}",
                self.rate_limit.passcode_failures_per_network
            ),
            format!(
                "PASSCODE_RATE_LIMIT_SLOW_DOWN_MS={}",
                self.rate_limit.passcode_slow_down.as_millis()
            ),
            format!(
                "PASSCODE_RATE_LIMIT_MAX_FAILURES={}",
                self.rate_limit.passcode_failures_global
            ),
            format!(
                "SIGNUP_RATE_LIMIT_MAX={}",
                self.rate_limit.signups_per_address
            ),
            format!(
                "PASSWORD_HASH_QUEUE_WAIT_MS={}",
                self.rate_limit.hash_queue_wait.as_millis()
            ),
            format!("FRONTEND_URL={}", self.frontend_origins.join(",")),
            format!(
                "TRUSTED_PROXIES={}",
                self.trusted_proxies
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            format!(
                "REALTIME_LEGACY_BROADCAST={}",
                self.realtime_legacy_broadcast
            ),
            format!(
                "REALTIME_MAX_SESSIONS={}",
                self.realtime_sessions.max_sessions
            ),
            format!(
                "REALTIME_MAX_PENDING_SESSIONS={}",
                self.realtime_sessions.max_pending
            ),
            format!(
                "REALTIME_MAX_PENDING_PER_ADDRESS={}",
                self.realtime_sessions.max_pending_per_address
            ),
            format!("MAX_BODY_BYTES={}", self.max_body_bytes),
            format!(
                "HTTP_IDLE_TIMEOUT_SECS={}",
                self.http.idle_timeout.as_secs()
            ),
            format!("HTTP_IO_TIMEOUT_SECS={}", self.http.io_timeout.as_secs()),
            format!("MAX_CONNECTIONS={}", self.http.max_connections),
            format!("LOG_LEVEL={}", self.log_level),
            format!("SHUTDOWN_TIMEOUT_SECS={}", self.shutdown_timeout.as_secs()),
            format!("STATE_DIRECTORY={}", self.data_dir.display()),
            format!("EDUCOIN_TEST_HOOKS={}", self.test_hooks),
        ]);
        lines
    }

    fn secret_state(&self, name: &'static str) -> &'static str {
        if self.generated_secrets.contains(&name) {
            "[generated for this process]"
        } else {
            "[set]"
        }
    }
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|s| s.trim().trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
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

#[cfg(test)]
mod tests {
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
        assert_eq!(c.jwt.secret.expose(), "from-credential");
        assert_eq!(c.jwt.refresh_secret.expose(), "from-file");
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
    }
}
