//! The settings the server reads, as the two example environment files `.env.example` (development,
//! works as is) and `.env.production.example` (secrets as `<from the secrets manager>` placeholders).
//!
//! `src/config.rs` stays the one place that reads and validates settings; this table only describes
//! them for people. A test records every name `Config::from_source` asks for, so a setting added there
//! and forgotten here fails the build's tests, and another test keeps the committed files current.

use crate::config::SECRET_NAMES;

/// What an example file says about one setting.
#[derive(Clone, Copy)]
pub enum Example {
    /// An active line: `NAME=value`.
    Set(&'static str),
    /// A commented-out line (`# NAME=value`): the default applies, the value shows the syntax.
    Commented(&'static str),
}

pub struct Setting {
    pub name: &'static str,
    pub doc: &'static str,
    pub development: Example,
    pub production: Example,
}

/// Stands for a secret in `.env.production.example`; never a valid value (the production checks
/// reject it), so a copied example cannot start.
pub const PLACEHOLDER: &str = "<from the secrets manager>";

/// Names `Config` reads that do not belong in an example file: systemd sets the credentials
/// directory itself, and test hooks are refused in production and meaningless in development.
pub const NOT_IN_EXAMPLES: &[&str] = &["CREDENTIALS_DIRECTORY", "EDUCOIN_TEST_HOOKS"];

use Example::{Commented as C, Set as S};

#[rustfmt::skip]
pub const SETTINGS: &[Setting] = &[
    Setting { name: "NODE_ENV", doc: "development, test or production; production requires real secrets and logs JSON",
        development: S("development"), production: S("production") },
    Setting { name: "IP_ADDRESS", doc: "address of the API listener",
        development: C("0.0.0.0"), production: S("0.0.0.0") },
    Setting { name: "PORT", doc: "port of the API listener (the clients' examples use 5001)",
        development: C("5000"), production: S("5000") },
    Setting { name: "METRICS_ADDRESS", doc: "Prometheus listener host:port, or off",
        development: C("0.0.0.0:9464"), production: S("0.0.0.0:9464") },
    Setting { name: "STATE_DIRECTORY", doc: "holds the SQLite file and uploads/; systemd's StateDirectory= sets it",
        development: C("./data"), production: C("/var/lib/educoin") },
    Setting { name: "DATABASE_URL", doc: "unset: SQLite in STATE_DIRECTORY; else sqlite://PATH, mongodb://... or mongodb+srv://...",
        development: C("mongodb://127.0.0.1:27017/educoin?replicaSet=rs0"),
        production: S("mongodb://educoin:<from the secrets manager>@mongodb.internal:27017/educoin?replicaSet=rs0&authSource=admin") },
    Setting { name: "REDIS_URL", doc: "unset: in-process cache (one instance only); required for more than one replica",
        development: C("redis://127.0.0.1:6379/0"),
        production: S("rediss://:<from the secrets manager>@redis.internal:6380/0") },
    Setting { name: "REDIS_KEY_PREFIX", doc: "namespace for Redis keys and pub/sub channels",
        development: C("educoin:"), production: S("educoin:") },
    Setting { name: "JWT_SECRET", doc: ">= 32 random characters (openssl rand -hex 32); development: random per process",
        development: C("<openssl rand -hex 32>"), production: S(PLACEHOLDER) },
    Setting { name: "JWT_EXPIRE_IN", doc: "access token lifetime: seconds, or 15m, 12h, 7d, ...",
        development: C("1d"), production: S("1d") },
    Setting { name: "JWT_REFRESH_SECRET", doc: "like JWT_SECRET, and different from it",
        development: C("<openssl rand -hex 32>"), production: S(PLACEHOLDER) },
    Setting { name: "JWT_REFRESH_EXPIRE_IN", doc: "refresh token lifetime",
        development: C("30d"), production: S("30d") },
    Setting { name: "PASSCODE_KEY", doc: "64 hex characters (openssl rand -hex 32), encrypts student passcodes; development: a fixed key",
        development: C("<openssl rand -hex 32>"), production: S(PLACEHOLDER) },
    Setting { name: "EMAIL_HOST", doc: "SMTP server for password-reset codes; unset: development logs mail, production answers 503",
        development: C("smtp.example.org"), production: S("smtp.example.org") },
    Setting { name: "EMAIL_PORT", doc: "SMTP port",
        development: C("587"), production: S("587") },
    Setting { name: "EMAIL_USER", doc: "SMTP user (set together with EMAIL_PASS)",
        development: C("educoin@example.org"), production: S("educoin@example.org") },
    Setting { name: "EMAIL_PASS", doc: "SMTP password",
        development: C("<smtp password>"), production: S(PLACEHOLDER) },
    Setting { name: "EMAIL_FROM", doc: "sender address; defaults to EMAIL_USER",
        development: C("no-reply@example.org"), production: S("no-reply@example.org") },
    Setting { name: "SUPER_ADMIN_EMAIL", doc: "super admin created at start (idempotent), with SUPER_ADMIN_PASSWORD",
        development: C("admin@example.org"), production: S("admin@example.org") },
    Setting { name: "SUPER_ADMIN_PASSWORD", doc: "at least 12 characters in production",
        development: C("<a password>"), production: S(PLACEHOLDER) },
    Setting { name: "GOOGLE_CLIENT_ID", doc: "comma-separated OAuth client ids accepted as aud of Google ID tokens",
        development: C("1234-abcd.apps.googleusercontent.com"), production: C("1234-abcd.apps.googleusercontent.com") },
    Setting { name: "GOOGLE_CLIENT_SECRET", doc: "Google OAuth client secret",
        development: C("<google client secret>"), production: C(PLACEHOLDER) },
    Setting { name: "GOOGLE_JWKS_URL", doc: "where Google's signing keys are fetched",
        development: C("https://www.googleapis.com/oauth2/v3/certs"), production: C("https://www.googleapis.com/oauth2/v3/certs") },
    Setting { name: "GOOGLE_ALLOW_LEGACY_LOGIN", doc: "accept the old app's unverified Google body (anyone can log in as any teacher)",
        development: C("false"), production: S("false") },
    Setting { name: "STRIPE_SECRET_KEY", doc: "Stripe API key",
        development: C("<stripe secret key>"), production: C(PLACEHOLDER) },
    Setting { name: "STRIPE_WEBHOOK_SECRET", doc: "Stripe webhook signing secret",
        development: C("<stripe webhook secret>"), production: C(PLACEHOLDER) },
    Setting { name: "RATE_LIMIT_WINDOW_MS", doc: "window of the general limit per client address",
        development: C("900000"), production: C("900000") },
    Setting { name: "RATE_LIMIT_MAX_REQUESTS", doc: "requests per window and client address (health probes exempt)",
        development: C("1000"), production: C("1000") },
    Setting { name: "LOGIN_RATE_LIMIT_WINDOW_MS", doc: "window of the login limits",
        development: C("900000"), production: C("900000") },
    Setting { name: "LOGIN_RATE_LIMIT_MAX_FAILURES", doc: "failed password checks per client address (IPv6: per /64), any account",
        development: C("10"), production: C("10") },
    Setting { name: "LOGIN_RATE_LIMIT_SLOW_DOWN_MS", doc: "past the address budget, one password attempt per this period",
        development: C("60000"), production: C("60000") },
    Setting { name: "LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES", doc: "failed logins per account (any address)",
        development: C("5"), production: C("5") },
    Setting { name: "PASSCODE_RATE_LIMIT_MAX_ATTEMPTS", doc: "failed student passcodes per address (IPv6: per /64)",
        development: C("10"), production: C("10") },
    Setting { name: "PASSCODE_RATE_LIMIT_MAX_NETWORK_FAILURES", doc: "failed student passcodes per network (IPv4 /24, IPv6 /48)",
        development: C("30"), production: C("30") },
    Setting { name: "PASSCODE_RATE_LIMIT_SLOW_DOWN_MS", doc: "past the passcode address budget, one attempt per this period",
        development: C("300000"), production: C("300000") },
    Setting { name: "PASSCODE_RATE_LIMIT_MAX_FAILURES", doc: "failed passcodes across all addresses; past it only addresses without failures are checked",
        development: C("100"), production: C("100") },
    Setting { name: "SIGNUP_RATE_LIMIT_MAX", doc: "teacher sign-ups per address per login window",
        development: C("10"), production: C("10") },
    Setting { name: "PASSWORD_HASH_QUEUE_WAIT_MS", doc: "how long a request waits for a password-hashing slot before 503",
        development: C("2000"), production: C("2000") },
    Setting { name: "TRUSTED_PROXIES", doc: "IPs/CIDRs whose X-Forwarded-For is believed",
        development: C("127.0.0.1,::1"), production: C("10.0.0.0/8") },
    Setting { name: "FRONTEND_URL", doc: "comma-separated origins allowed by CORS (development: any origin)",
        development: C("http://localhost:3000"), production: S("https://dashboard.example.org") },
    Setting { name: "MAX_BODY_BYTES", doc: "request body limit (413 above it)",
        development: C("6291456"), production: C("6291456") },
    Setting { name: "LOG_LEVEL", doc: "level or filter (RUST_LOG overrides it for debugging)",
        development: C("info"), production: S("info") },
    Setting { name: "SHUTDOWN_TIMEOUT_SECS", doc: "how long in-flight requests may run after SIGTERM",
        development: C("20"), production: C("20") },
    Setting { name: "HTTP_IDLE_TIMEOUT_SECS", doc: "an idle keep-alive connection, or one still sending a request head, is closed after this",
        development: C("10"), production: C("10") },
    Setting { name: "HTTP_IO_TIMEOUT_SECS", doc: "a stalled request body or unread response closes the connection after this",
        development: C("30"), production: C("30") },
    Setting { name: "MAX_CONNECTIONS", doc: "open connections (WebSockets included); more wait in the listen backlog",
        development: C("10000"), production: C("10000") },
    Setting { name: "REALTIME_LEGACY_BROADCAST", doc: "send every notification to every socket, signed in or not, as the old server did",
        development: C("false"), production: S("false") },
    Setting { name: "REALTIME_MAX_SESSIONS", doc: "Socket.IO sessions whose socket signed in, per process",
        development: C("10000"), production: C("10000") },
    Setting { name: "REALTIME_MAX_PENDING_SESSIONS", doc: "Socket.IO sessions not signed in yet, in all (the oldest is closed when full)",
        development: C("1000"), production: C("1000") },
    Setting { name: "REALTIME_MAX_PENDING_PER_ADDRESS", doc: "Socket.IO sessions not signed in yet, per client address",
        development: C("32"), production: C("32") },
];

/// The text of `.env.example` (`production = false`) or `.env.production.example`.
pub fn render(production: bool) -> String {
    let (file, intro) = if production {
        (
            ".env.production.example",
            "# Production. Replace every <from the secrets manager> with the value from your secrets manager:\n\
             # the server refuses to start with a placeholder. Better, leave secrets out of this file: each\n\
             # secret NAME may come from the file named by NAME_FILE, or from the systemd credential named\n\
             # like NAME in lowercase (LoadCredential=), or a Kubernetes secret mounted as a file + NAME_FILE.\n\
             # Check the result without starting the server: educoin check-config\n",
        )
    } else {
        (
            ".env.example",
            "# Development: works as is (embedded SQLite, in-process cache, secrets generated per process).\n\
             # Uncomment a line to change its default. Check: educoin check-config\n",
        )
    };
    let mut out = format!(
        "# {file}: generated by `educoin env-example{}` from src/ops/env_example.rs; a test keeps it current.\n{intro}",
        if production { " --production" } else { "" }
    );
    for s in SETTINGS {
        let secret = if SECRET_NAMES.contains(&s.name) {
            " (secret)"
        } else {
            ""
        };
        out.push_str(&format!("\n# {}{secret}: {}\n", s.name, s.doc));
        match if production {
            s.production
        } else {
            s.development
        } {
            Example::Set(v) => out.push_str(&format!("{}={v}\n", s.name)),
            Example::Commented(v) => out.push_str(&format!("# {}={v}\n", s.name)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use super::*;
    use crate::config::{Config, Source};

    /// A source that remembers every name the configuration asks for.
    struct Recorder {
        values: BTreeMap<String, String>,
        asked: RefCell<BTreeSet<String>>,
    }

    impl Source for Recorder {
        fn var(&self, name: &str) -> Option<String> {
            self.asked.borrow_mut().insert(name.to_owned());
            self.values.get(name).cloned()
        }
        fn read_file(&self, _: &Path) -> std::io::Result<String> {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }

    fn names_read_by_config() -> BTreeSet<String> {
        let mut asked = BTreeSet::new();
        // Empty, and with every optional group switched on so that settings read only inside a
        // group (EMAIL_PORT after EMAIL_HOST, ...) are asked for too.
        let full: BTreeMap<String, String> = [
            ("NODE_ENV", "production"),
            ("EMAIL_HOST", "smtp.example.org"),
            ("SUPER_ADMIN_EMAIL", "a@example.org"),
            ("CREDENTIALS_DIRECTORY", "/nonexistent"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for values in [BTreeMap::new(), full] {
            let r = Recorder {
                values,
                asked: RefCell::default(),
            };
            let _ = Config::from_source(&r);
            asked.extend(r.asked.into_inner());
        }
        asked
            .into_iter()
            .filter(|n| {
                !n.strip_suffix("_FILE")
                    .is_some_and(|base| SECRET_NAMES.contains(&base))
            })
            .collect()
    }

    #[test]
    fn every_setting_the_config_reads_is_in_the_examples() {
        let read = names_read_by_config();
        let listed: BTreeSet<String> = SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        let excluded: BTreeSet<String> = NOT_IN_EXAMPLES.iter().map(|n| n.to_string()).collect();
        let missing: Vec<_> = read
            .difference(&listed)
            .filter(|n| !excluded.contains(*n))
            .collect();
        let unknown: Vec<_> = listed.difference(&read).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "src/ops/env_example.rs SETTINGS is out of step with src/config.rs: read but not listed \
             {missing:?}, listed but never read {unknown:?}"
        );
        println!("{} settings read by Config, all listed", read.len());
    }

    #[test]
    fn every_secret_has_a_placeholder_in_production_and_no_value() {
        for s in SETTINGS.iter().filter(|s| SECRET_NAMES.contains(&s.name)) {
            let v = match s.production {
                Example::Set(v) | Example::Commented(v) => v,
            };
            assert!(v.contains(PLACEHOLDER), "{}: {v}", s.name);
        }
    }

    #[test]
    fn committed_example_files_are_current() {
        for (file, production) in [(".env.example", false), (".env.production.example", true)] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            let committed = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                committed == render(production),
                "{file} is stale: run `cargo run -q -- env-example{} > {file}`",
                if production { " --production" } else { "" }
            );
        }
    }
}
