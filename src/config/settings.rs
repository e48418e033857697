//! Every setting of the server, each declared once. The names follow the old Node server's
//! environment (`PORT`, `DATABASE_URL`, `JWT_SECRET`, ...) so that existing deployments keep their
//! `.env` files. Grouping and cross-checks (secrets required in production, settings that go
//! together) are in `super::Config::from_source`.

use std::path::PathBuf;
use std::time::Duration;

use super::Environment;
use super::declare::{Example, Setting, settings};
use super::kinds::*;
use super::reader::{Reader, Source};
use Example::{Commented as C, Omitted, Set as S};

/// Stands for a secret in `.env.production.example`; never a valid value (the production checks
/// reject it), so a copied example cannot start.
pub const PLACEHOLDER: &str = "<from the secrets manager>";

const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
const STRIPE_API_BASE: &str = "https://api.stripe.com";
const STRIPE_JS_URL: &str = "https://js.stripe.com/v3/";
const FCM_API_BASE: &str = "https://fcm.googleapis.com";
const FCM_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

settings! {
    /// development, test or production; production requires real secrets and logs JSON
    environment: EnvironmentName = "NODE_ENV",
        default Environment::Development, dev S("development"), prod S("production");
    /// address of the API listener
    ip_address: ListenAddress = "IP_ADDRESS",
        default [0, 0, 0, 0].into(), dev C("0.0.0.0"), prod S("0.0.0.0");
    /// port of the API listener (the clients' examples use 5001)
    port: Number<u16> = "PORT",
        default 5000, dev C("5000"), prod S("5000");
    /// Prometheus listener host:port, or off
    metrics_address: OptionalSocket = "METRICS_ADDRESS",
        default Some(([0, 0, 0, 0], 9464).into()), dev C("0.0.0.0:9464"), prod S("0.0.0.0:9464");
    /// holds the SQLite file and, beside it, uploads/ (back up both); systemd's StateDirectory= sets it
    state_directory: StateDirectory = "STATE_DIRECTORY",
        default PathBuf::from("data"), dev C("./data"), prod C("/var/lib/educoin");
    /// unset: SQLite in STATE_DIRECTORY; else sqlite://PATH, mongodb://... or mongodb+srv://...
    database_url: Secret = "DATABASE_URL",
        default None, dev C("mongodb://127.0.0.1:27017/educoin?replicaSet=rs0"),
        prod S("mongodb://educoin:<from the secrets manager>@mongodb.internal:27017/educoin?replicaSet=rs0&authSource=admin");
    /// unset: in-process cache (one instance only); required for more than one replica
    redis_url: Secret = "REDIS_URL",
        default None, dev C("redis://127.0.0.1:6379/0"),
        prod S("rediss://:<from the secrets manager>@redis.internal:6380/0");
    /// namespace for Redis keys and pub/sub channels
    redis_key_prefix: Text = "REDIS_KEY_PREFIX",
        default "educoin:".to_owned(), dev C("educoin:"), prod S("educoin:");
    /// >= 32 random characters (openssl rand -hex 32); required in production; development: random per process
    jwt_secret: Secret = "JWT_SECRET",
        default None, dev C("<openssl rand -hex 32>"), prod S(PLACEHOLDER);
    /// access token lifetime: seconds, or 15m, 12h, 7d, ...
    jwt_expire_in: Lifetime = "JWT_EXPIRE_IN",
        default Duration::from_secs(86_400), dev C("1d"), prod S("1d");
    /// like JWT_SECRET, and different from it
    jwt_refresh_secret: Secret = "JWT_REFRESH_SECRET",
        default None, dev C("<openssl rand -hex 32>"), prod S(PLACEHOLDER);
    /// refresh token lifetime
    jwt_refresh_expire_in: Lifetime = "JWT_REFRESH_EXPIRE_IN",
        default Duration::from_secs(30 * 86_400), dev C("30d"), prod S("30d");
    /// 64 hex characters (openssl rand -hex 32), encrypts student passcodes; required in production; development: a fixed key
    passcode_key: Secret = "PASSCODE_KEY",
        default None, dev C("<openssl rand -hex 32>"), prod S(PLACEHOLDER);
    /// SMTP server for password-reset codes; unset: development logs mail, production answers 503
    email_host: OptionalText = "EMAIL_HOST",
        default None, dev C("smtp.example.org"), prod S("smtp.example.org");
    /// SMTP port
    email_port: Number<u16> = "EMAIL_PORT",
        default 587, dev C("587"), prod S("587");
    /// SMTP user (set together with EMAIL_PASS)
    email_user: OptionalText = "EMAIL_USER",
        default None, dev C("educoin@example.org"), prod S("educoin@example.org");
    /// SMTP password
    email_pass: Secret = "EMAIL_PASS",
        default None, dev C("<smtp password>"), prod S(PLACEHOLDER);
    /// sender address; defaults to EMAIL_USER
    email_from: OptionalText = "EMAIL_FROM",
        default None, dev C("no-reply@example.org"), prod S("no-reply@example.org");
    /// super admin created at start (idempotent), with SUPER_ADMIN_PASSWORD
    super_admin_email: OptionalText = "SUPER_ADMIN_EMAIL",
        default None, dev C("admin@example.org"), prod S("admin@example.org");
    /// at least 12 characters in production
    super_admin_password: Secret = "SUPER_ADMIN_PASSWORD",
        default None, dev C("<a password>"), prod S(PLACEHOLDER);
    /// comma-separated OAuth client ids accepted as aud of Google ID tokens
    google_client_id: List = "GOOGLE_CLIENT_ID",
        default Vec::new(), dev C("1234-abcd.apps.googleusercontent.com"),
        prod C("1234-abcd.apps.googleusercontent.com");
    /// where Google's signing keys are fetched
    google_jwks_url: Text = "GOOGLE_JWKS_URL",
        default GOOGLE_JWKS_URL.to_owned(), dev C(GOOGLE_JWKS_URL), prod C(GOOGLE_JWKS_URL);
    /// accept the old app's unverified Google body (anyone can log in as any teacher; warns at start)
    google_allow_legacy_login: Flag = "GOOGLE_ALLOW_LEGACY_LOGIN",
        default false, dev C("false"), prod S("false");
    /// window of the general limit per client address
    rate_limit_window: Millis = "RATE_LIMIT_WINDOW_MS",
        default Duration::from_secs(900), dev C("900000"), prod C("900000");
    /// requests per window and client address (health probes exempt)
    rate_limit_max_requests: Number<u64> = "RATE_LIMIT_MAX_REQUESTS",
        default 1000, dev C("1000"), prod C("1000");
    /// window of the login limits
    login_rate_limit_window: Millis = "LOGIN_RATE_LIMIT_WINDOW_MS",
        default Duration::from_secs(900), dev C("900000"), prod C("900000");
    /// failed password checks (logins, change-password) per client address (IPv6: per /64), any account
    login_rate_limit_max_failures: Number<u64> = "LOGIN_RATE_LIMIT_MAX_FAILURES",
        default 10, dev C("10"), prod C("10");
    /// past the address budget, one password attempt per this period
    login_rate_limit_slow_down: Millis = "LOGIN_RATE_LIMIT_SLOW_DOWN_MS",
        default Duration::from_secs(60), dev C("60000"), prod C("60000");
    /// failed logins per account (any address)
    login_rate_limit_max_account_failures: Number<u64> = "LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES",
        default 5, dev C("5"), prod C("5");
    /// failed student passcodes per address (IPv6: per /64)
    passcode_rate_limit_max_attempts: Number<u64> = "PASSCODE_RATE_LIMIT_MAX_ATTEMPTS",
        default 10, dev C("10"), prod C("10");
    /// failed student passcodes per network (IPv4 /24, IPv6 /48)
    passcode_rate_limit_max_network_failures: Number<u64> = "PASSCODE_RATE_LIMIT_MAX_NETWORK_FAILURES",
        default 30, dev C("30"), prod C("30");
    /// past the passcode address budget, one attempt per this period
    passcode_rate_limit_slow_down: Millis = "PASSCODE_RATE_LIMIT_SLOW_DOWN_MS",
        default Duration::from_secs(300), dev C("300000"), prod C("300000");
    /// failed passcodes across all addresses; past it only addresses without failures are checked
    passcode_rate_limit_max_failures: Number<u64> = "PASSCODE_RATE_LIMIT_MAX_FAILURES",
        default 100, dev C("100"), prod C("100");
    /// teacher sign-ups per address per login window
    signup_rate_limit_max: Number<u64> = "SIGNUP_RATE_LIMIT_MAX",
        default 10, dev C("10"), prod C("10");
    /// how long a request waits for a password-hashing slot before 503 with Retry-After
    password_hash_queue_wait: Millis = "PASSWORD_HASH_QUEUE_WAIT_MS",
        default Duration::from_secs(2), dev C("2000"), prod C("2000");
    /// IPs/CIDRs whose X-Forwarded-For is believed
    trusted_proxies: Networks = "TRUSTED_PROXIES",
        default Vec::new(), dev C("127.0.0.1,::1"), prod C("10.0.0.0/8");
    /// comma-separated origins allowed by CORS (unset: any origin in development, none in production, with a warning)
    frontend_url: List = "FRONTEND_URL",
        default Vec::new(), dev C("http://localhost:3000"), prod S("https://dashboard.example.org");
    /// request body limit (413 above it)
    max_body_bytes: Number<usize> = "MAX_BODY_BYTES",
        default 6 * 1024 * 1024, dev C("6291456"), prod C("6291456");
    /// level or filter (RUST_LOG overrides it for debugging)
    log_level: LogFilter = "LOG_LEVEL",
        default "info".to_owned(), dev C("info"), prod S("info");
    /// how long in-flight requests may run after SIGTERM
    shutdown_timeout: Seconds = "SHUTDOWN_TIMEOUT_SECS",
        default Duration::from_secs(20), dev C("20"), prod C("20");
    /// an idle keep-alive connection, or one still sending a request head, is closed after this
    http_idle_timeout: Seconds = "HTTP_IDLE_TIMEOUT_SECS",
        default Duration::from_secs(10), dev C("10"), prod C("10");
    /// a stalled request body or unread response closes the connection after this
    http_io_timeout: Seconds = "HTTP_IO_TIMEOUT_SECS",
        default Duration::from_secs(30), dev C("30"), prod C("30");
    /// open connections (WebSockets included); more wait in the listen backlog; keep below LimitNOFILE
    max_connections: Number<usize> = "MAX_CONNECTIONS",
        default 10_000, dev C("10000"), prod C("10000");
    /// send every notification to every socket, signed in or not, as the old server did (warns at start)
    realtime_legacy_broadcast: Flag = "REALTIME_LEGACY_BROADCAST",
        default false, dev C("false"), prod S("false");
    /// Socket.IO sessions whose socket signed in, per process (503 at CONNECT beyond)
    realtime_max_sessions: Number<usize> = "REALTIME_MAX_SESSIONS",
        default 10_000, dev C("10000"), prod C("10000");
    /// Socket.IO sessions not signed in yet, in all (the oldest is closed when full)
    realtime_max_pending_sessions: Number<usize> = "REALTIME_MAX_PENDING_SESSIONS",
        default 1_000, dev C("1000"), prod C("1000");
    /// Socket.IO sessions not signed in yet, per client address
    realtime_max_pending_per_address: Number<usize> = "REALTIME_MAX_PENDING_PER_ADDRESS",
        default 32, dev C("32"), prod C("32");
    /// Stripe secret API key (sk_live_... or sk_test_...); unset: payments are disabled and their routes answer 503
    stripe_secret_key: Secret = "STRIPE_SECRET_KEY",
        default None, dev C("sk_test_<from the Stripe dashboard>"), prod S("sk_live_<from the secrets manager>");
    /// Stripe publishable key (pk_...), handed to the payment page; required with STRIPE_SECRET_KEY
    stripe_publishable_key: OptionalText = "STRIPE_PUBLISHABLE_KEY",
        default None, dev C("pk_test_<from the Stripe dashboard>"), prod S("pk_live_from_the_stripe_dashboard");
    /// webhook signing secrets (whsec_...), comma-separated: several during a rotation; required with STRIPE_SECRET_KEY
    stripe_webhook_secret: Secret = "STRIPE_WEBHOOK_SECRET",
        default None, dev C("whsec_<from the Stripe dashboard>"), prod S("whsec_<from the secrets manager>");
    /// Stripe's API base URL (tests point it at localstripe)
    stripe_api_base: Text = "STRIPE_API_BASE",
        default STRIPE_API_BASE.to_owned(), dev C(STRIPE_API_BASE), prod C(STRIPE_API_BASE);
    /// where the payment page loads Stripe.js from (and what its Content-Security-Policy allows)
    stripe_js_url: Text = "STRIPE_JS_URL",
        default STRIPE_JS_URL.to_owned(), dev C(STRIPE_JS_URL), prod C(STRIPE_JS_URL);
    /// share of each payment the platform keeps (0.20 = 20 %), rounded half-up to the smallest unit
    platform_fee_percentage: Fraction = "PLATFORM_FEE_PERCENTAGE",
        default 2000, dev C("0.20"), prod S("0.20");
    /// smallest payment, in the currency's smallest unit (cents)
    minimum_payment_amount: Number<u64> = "MINIMUM_PAYMENT_AMOUNT",
        default 100, dev C("100"), prod S("500");
    /// largest payment, in the currency's smallest unit (cents)
    maximum_payment_amount: Number<u64> = "MAXIMUM_PAYMENT_AMOUNT",
        default 100_000, dev C("100000"), prod S("50000");
    /// ISO currency code of payments (lowercase, as Stripe writes it)
    default_currency: Text = "DEFAULT_CURRENCY",
        default "usd".to_owned(), dev C("usd"), prod S("usd");
    /// a payment still processing or requires_* this long is re-read from Stripe by the reconciliation job
    payment_reconcile_after: Seconds = "PAYMENT_RECONCILE_AFTER_SECS",
        default Duration::from_secs(600), dev C("600"), prod C("600");
    /// payment intents per client address per login window (public payment route)
    payment_rate_limit_per_address: Number<u64> = "PAYMENT_RATE_LIMIT_PER_ADDRESS",
        default 20, dev C("20"), prod C("20");
    /// payment intents per project per login window (public payment route)
    payment_rate_limit_per_project: Number<u64> = "PAYMENT_RATE_LIMIT_PER_PROJECT",
        default 200, dev C("200"), prod C("200");
    /// test-only routes (/api/v1/test/*) for the test suite; refused in production
    test_hooks: Flag = "EDUCOIN_TEST_HOOKS",
        default false, dev Omitted, prod Omitted;
    /// Firebase service-account key (the JSON file, base64) for push through FCM HTTP v1; unset: push disabled (devices still register)
    firebase_service_account_key_base64: Secret = "FIREBASE_SERVICE_ACCOUNT_KEY_BASE64",
        default None, dev C("<base64 -w0 service-account.json>"), prod C(PLACEHOLDER);
    /// the seed's web-push (VAPID) credentials: not used by the server (FCM HTTP v1 sends web push with the service account)
    firebase_web_push_credentials: Secret = "FIREBASE_WEB_PUSH_CREDENTIALS",
        default None, dev Omitted, prod Omitted;
    /// FCM HTTP v1 base URL (tests point it at a local server)
    fcm_api_base: Text = "FCM_API_BASE",
        default FCM_API_BASE.to_owned(), dev C(FCM_API_BASE), prod C(FCM_API_BASE);
    /// OAuth token endpoint for the push assertion; unset: the key's token_uri
    fcm_token_uri: OptionalText = "FCM_TOKEN_URI",
        default None, dev C(FCM_TOKEN_URI), prod Omitted;
    /// push devices per account; registering one more drops the oldest
    push_max_devices_per_account: Number<usize> = "PUSH_MAX_DEVICES_PER_ACCOUNT",
        default 10, dev C("10"), prod C("10");
    /// a push not delivered within this many seconds of its notification is dead-lettered
    push_retry_deadline: Seconds = "PUSH_RETRY_DEADLINE_SECS",
        default Duration::from_secs(3600), dev C("3600"), prod C("3600");
    /// first retry delay of a failed push (doubles per attempt, with jitter, up to 5 minutes)
    push_retry_initial_backoff: Millis = "PUSH_RETRY_INITIAL_BACKOFF_MS",
        default Duration::from_secs(1), dev C("1000"), prod C("1000");
    /// how long a replica holds an outbox row it is sending; a replica that dies loses its rows to the others after this
    push_lease: Seconds = "PUSH_LEASE_SECS",
        default Duration::from_secs(60), dev C("60"), prod C("60");
    /// auto (journald under systemd, else json in production, pretty elsewhere), journald, json or pretty
    log_format: Text = "LOG_FORMAT",
        default "auto".to_owned(), dev C("auto"), prod C("auto");
    /// OTLP/HTTP (protobuf) collector base URL, spans go to <url>/v1/traces; unset: no tracing export (warns at start)
    otel_exporter_otlp_endpoint: OptionalText = "OTEL_EXPORTER_OTLP_ENDPOINT",
        default None, dev C("http://127.0.0.1:4318"), prod C("http://otel-collector.internal:4318");
    /// the old Jaeger collector URL (http://HOST:14268/api/traces): mapped to OTLP http://HOST:4318, logged; OTEL_EXPORTER_OTLP_ENDPOINT wins
    jaeger_endpoint: OptionalText = "JAEGER_ENDPOINT",
        default None, dev C("http://localhost:14268/api/traces"), prod C("http://jaeger-collector:14268/api/traces");
    /// service.name of the exported spans and Sentry's server_name
    otel_service_name: Text = "OTEL_SERVICE_NAME",
        default "educoin".to_owned(), dev C("educoin"), prod C("educoin");
    /// parentbased_traceidratio, parentbased_always_on, parentbased_always_off, traceidratio, always_on or always_off
    otel_traces_sampler: Text = "OTEL_TRACES_SAMPLER",
        default "parentbased_traceidratio".to_owned(), dev C("parentbased_traceidratio"), prod C("parentbased_traceidratio");
    /// ratio of new traces sampled (0 to 1) by the *traceidratio samplers; a sampled parent is always followed
    otel_traces_sampler_arg: Number<f64> = "OTEL_TRACES_SAMPLER_ARG",
        default 1.0, dev C("1.0"), prod C("0.1");
    /// longest wait for the collector per export batch; the batch is dropped (and counted) after it
    otel_exporter_otlp_timeout: Millis = "OTEL_EXPORTER_OTLP_TIMEOUT",
        default Duration::from_secs(10), dev C("10000"), prod C("10000");
    /// finished spans waiting for export; when full, new spans are dropped and counted, never waited for
    otel_bsp_max_queue_size: Number<usize> = "OTEL_BSP_MAX_QUEUE_SIZE",
        default 2048, dev C("2048"), prod C("2048");
    /// longest time a finished span waits before its batch is sent
    otel_bsp_schedule_delay: Millis = "OTEL_BSP_SCHEDULE_DELAY",
        default Duration::from_secs(5), dev C("5000"), prod C("5000");
    /// Sentry DSN for panics and 5xx answers (scrubbed: no headers, bodies, tokens, passwords); unset: off
    sentry_dsn: Secret = "SENTRY_DSN",
        default None, dev C("https://<key>@o0.ingest.sentry.io/0"), prod C(PLACEHOLDER);
}

/// The names of the secrets (read from `X`, `X_FILE` or a systemd credential, never shown).
pub fn secret_names() -> Vec<&'static str> {
    catalog()
        .into_iter()
        .filter(|s| s.secret)
        .map(|s| s.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The NixOS module has a `*File` option (a systemd credential) for exactly the declared secrets:
    /// none missing, none left over from a removed setting.
    #[test]
    fn the_nixos_module_offers_a_file_option_for_exactly_the_secrets() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("nixos/module.nix");
        let module = std::fs::read_to_string(&path).unwrap();
        let start = module
            .find("secrets = {")
            .expect("the module's secrets attrset");
        let end = start + module[start..].find("};").unwrap();
        let offered: BTreeSet<&str> = module[start..end]
            .lines()
            .filter_map(|l| l.split_once("File = \""))
            .filter_map(|(_, rest)| rest.split('"').next())
            .collect();
        let declared: BTreeSet<&str> = secret_names().into_iter().collect();
        assert_eq!(
            offered, declared,
            "nixos/module.nix `secrets` vs the declared secrets"
        );
    }
}
