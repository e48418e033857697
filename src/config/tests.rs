//! The configuration as a whole: grouping, the problems reported together, the listing.

use std::collections::BTreeMap;

use std::time::Duration;

use secrecy::ExposeSecret;

use super::secrets::DEVELOPMENT_PASSCODE_KEY;
use super::strength::{MIN_SECRET_BITS, random_hex, weak_secret_reason};
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
