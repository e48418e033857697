//! The committed `.env` examples are usable: `check-config` accepts the development one as it stands
//! and the production one once each placeholder holds a random value (as `openssl rand -hex 32` makes),
//! and refuses the production one while a placeholder is left in.

use std::process::Command;

use educoin::ops::env_example::PLACEHOLDER;
use rand::RngCore;

const BIN: &str = env!("CARGO_BIN_EXE_educoin");

/// `NAME=value` lines of an env file, comments and blank lines skipped.
fn parse(file: &str) -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{file}: not NAME=value: {l}"));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// check-config with exactly these variables (nothing inherited from the test's environment).
fn check_config(vars: &[(String, String)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(BIN)
        .arg("check-config")
        .env_clear()
        .current_dir(dir.path())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run educoin check-config")
}

#[test]
fn check_config_accepts_the_development_example_as_it_stands() {
    let vars = parse(".env.example");
    assert!(
        vars.iter()
            .any(|(k, v)| k == "NODE_ENV" && v == "development")
    );
    let out = check_config(&vars);
    assert!(
        out.status.success(),
        "check-config refused .env.example: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_accepts_the_production_example_once_its_placeholders_are_filled() {
    let vars = parse(".env.production.example");
    let placeholders = vars.iter().filter(|(_, v)| v.contains(PLACEHOLDER)).count();
    assert!(placeholders >= 5, "only {placeholders} placeholders");

    let refused = check_config(&vars);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "check-config must refuse the placeholders: {}",
        String::from_utf8_lossy(&refused.stdout)
    );

    // Several rounds of fresh random values: none of them may trip a weak-secret rule.
    for _ in 0..20 {
        let filled: Vec<_> = vars
            .iter()
            .map(|(k, v)| (k.clone(), v.replace(PLACEHOLDER, &random_hex())))
            .collect();
        let out = check_config(&filled);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "check-config refused the filled .env.production.example: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("NODE_ENV=production"), "{stdout}");
        // Redacted output: no filled secret is printed back.
        for (_, v) in filled
            .iter()
            // A publishable key is public by design (Stripe.js gets it), and listed as set.
            .filter(|(k, _)| {
                (k.contains("SECRET") || k.ends_with("_KEY")) && !k.contains("PUBLISHABLE")
            })
        {
            assert!(
                !stdout.contains(v.as_str()),
                "a secret was printed: {stdout}"
            );
        }
    }
}

/// `openssl rand -hex 32` output happens to contain "1234" (one of the placeholder markers) about
/// once in a thousand draws; production must still accept it.
#[test]
fn check_config_accepts_a_generated_hex_secret_that_contains_1234() {
    let mut vars = parse(".env.production.example");
    for (k, v) in vars.iter_mut() {
        let value = if k == "JWT_SECRET" {
            "8f3a9c01234bd7e6f5a4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918aa0b".to_owned()
        } else {
            random_hex()
        };
        *v = v.replace(PLACEHOLDER, &value);
    }
    let out = check_config(&vars);
    assert!(
        out.status.success(),
        "check-config refused a generated secret: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Still refused: a 64-character value made of digits only is not random.
    for (k, v) in vars.iter_mut() {
        if k == "JWT_SECRET" {
            *v = "1234567890".repeat(7);
        }
    }
    assert_eq!(check_config(&vars).status.code(), Some(2));
}

/// The development passcode key ships in the binary and the source; production must refuse it.
#[test]
fn check_config_refuses_the_development_passcode_key_in_production() {
    const DEVELOPMENT_PASSCODE_KEY: &str =
        "646576656c6f706d656e74206f6e6c793a206e6f742061207365637265742121";
    let vars: Vec<_> = parse(".env.production.example")
        .into_iter()
        .map(|(k, v)| {
            let value = if k == "PASSCODE_KEY" {
                DEVELOPMENT_PASSCODE_KEY.to_owned()
            } else {
                v.replace(PLACEHOLDER, &random_hex())
            };
            (k, value)
        })
        .collect();
    let out = check_config(&vars);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "accepted: {stderr}");
    assert!(
        stderr.contains("PASSCODE_KEY is the public development key"),
        "{stderr}"
    );
    assert!(!stderr.contains(DEVELOPMENT_PASSCODE_KEY), "{stderr}");
}
