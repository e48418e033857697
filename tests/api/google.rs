//! Google ID token verification against a fake Google (support/google.rs): a local HTTP server
//! publishing a JSON Web Key Set made from the test keys in tests/fixtures/google, and tokens signed
//! with those keys.

use std::sync::Arc;
use std::time::Duration;

use educoin::auth::google::{GoogleError, GoogleIdentity, GoogleVerifier};
use educoin::clock::{SharedClock, TestClock};
use educoin::config::GoogleConfig;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::support::google::*;

impl FakeGoogle {
    fn verifier(&self) -> GoogleVerifier {
        self.verifier_on(Arc::new(TestClock::new()))
    }

    fn verifier_on(&self, clock: SharedClock) -> GoogleVerifier {
        verifier_on(&self.url, &[CLIENT_ID, OTHER_CLIENT_ID], clock)
    }
}

fn verifier_for(jwks_url: &str, client_ids: &[&str]) -> GoogleVerifier {
    verifier_on(jwks_url, client_ids, Arc::new(TestClock::new()))
}

fn verifier_on(jwks_url: &str, client_ids: &[&str], clock: SharedClock) -> GoogleVerifier {
    GoogleVerifier::new(
        &GoogleConfig {
            client_ids: client_ids.iter().map(|id| id.to_string()).collect(),
            jwks_url: jwks_url.to_owned(),
            allow_legacy_login: false,
        },
        clock,
    )
}

/// The refusal's text, checked to be a sentence a person can read.
#[track_caller]
fn refusal(result: Result<GoogleIdentity, GoogleError>) -> String {
    match result {
        Err(GoogleError::Rejected(message)) => {
            assert!(
                message.starts_with(char::is_uppercase) && message.ends_with('.'),
                "not a sentence: {message:?}"
            );
            message
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn google_valid_token_gives_the_identity() {
    let google = google().await;
    let identity = google
        .verifier()
        .verify(&sign(&claims()), "  Teacher@Example.COM ")
        .await
        .unwrap();
    assert_eq!(
        identity,
        GoogleIdentity {
            subject: "110169484474386276334".into(),
            email: EMAIL.into(),
            name: Some("Ada Teacher".into()),
            picture: Some("https://lh3.googleusercontent.com/a/photo".into()),
        }
    );
}

#[tokio::test]
async fn google_accepts_every_configured_client_id_and_both_issuers() {
    let google = google().await;
    let verifier = google.verifier();
    let token = sign(&with(
        json!({"aud": OTHER_CLIENT_ID, "iss": "accounts.google.com"}),
    ));
    verifier.verify(&token, EMAIL).await.unwrap();
    // The optional claims may be missing.
    let mut bare = claims();
    for name in ["name", "picture"] {
        bare.as_object_mut().unwrap().remove(name);
    }
    let identity = verifier.verify(&sign(&bare), EMAIL).await.unwrap();
    assert_eq!((identity.name, identity.picture), (None, None));
}

#[tokio::test]
async fn google_token_for_another_app_is_refused() {
    let google = google().await;
    let token = sign(&with(
        json!({"aud": "someone-else.apps.googleusercontent.com"}),
    ));
    let message = refusal(google.verifier().verify(&token, EMAIL).await);
    assert!(message.contains("another app"), "{message}");
}

#[tokio::test]
async fn google_token_from_another_issuer_is_refused() {
    let google = google().await;
    let token = sign(&with(json!({"iss": "https://evil.example.com"})));
    let message = refusal(google.verifier().verify(&token, EMAIL).await);
    assert!(message.contains("not issued by Google"), "{message}");
}

#[tokio::test]
async fn google_expired_token_is_refused_beyond_a_minute_of_leeway() {
    let google = google().await;
    let verifier = google.verifier();
    let expired = sign(&with(json!({"iat": now() - 3700, "exp": now() - 90})));
    let message = refusal(verifier.verify(&expired, EMAIL).await);
    assert!(message.contains("has expired"), "{message}");
    // Within the leeway a slow clock is forgiven.
    let just_expired = sign(&with(json!({"iat": now() - 3630, "exp": now() - 30})));
    verifier.verify(&just_expired, EMAIL).await.unwrap();
}

#[tokio::test]
async fn google_unverified_email_is_refused() {
    let google = google().await;
    let verifier = google.verifier();
    for unverified in [json!(false), json!("false"), Value::Null] {
        let token = sign(&with(json!({ "email_verified": unverified })));
        let message = refusal(verifier.verify(&token, EMAIL).await);
        assert!(message.contains("not verified"), "{message}");
    }
    let mut missing = claims();
    missing.as_object_mut().unwrap().remove("email_verified");
    let message = refusal(verifier.verify(&sign(&missing), EMAIL).await);
    assert!(message.contains("not verified"), "{message}");
    // Some Google flows send the string.
    let token = sign(&with(json!({"email_verified": "true"})));
    verifier.verify(&token, EMAIL).await.unwrap();
}

#[tokio::test]
async fn google_token_of_another_email_is_refused() {
    let google = google().await;
    let verifier = google.verifier();
    let message = refusal(
        verifier
            .verify(&sign(&claims()), "someone.else@example.com")
            .await,
    );
    assert!(message.contains("another email address"), "{message}");
    let mut no_email = claims();
    no_email.as_object_mut().unwrap().remove("email");
    let message = refusal(verifier.verify(&sign(&no_email), EMAIL).await);
    assert!(message.contains("no email address"), "{message}");
}

#[tokio::test]
async fn google_token_signed_by_another_key_has_a_bad_signature() {
    let google = google().await;
    // Key B's signature under key A's kid: a forgery by someone who does not hold key A.
    let forged = sign_with("b", KID_A, &claims());
    let message = refusal(google.verifier().verify(&forged, EMAIL).await);
    assert!(message.contains("signature is not valid"), "{message}");
    // A valid token whose payload was swapped for another fails the same way.
    let token = sign(&claims());
    let other = sign(&with(json!({"email": "mallory@example.com"})));
    let parts: Vec<&str> = token.split('.').collect();
    let other_parts: Vec<&str> = other.split('.').collect();
    let spliced = format!("{}.{}.{}", parts[0], other_parts[1], parts[2]);
    let message = refusal(
        google
            .verifier()
            .verify(&spliced, "mallory@example.com")
            .await,
    );
    assert!(message.contains("signature is not valid"), "{message}");
}

fn b64(json: &Value) -> String {
    base64_url_encode(json.to_string().as_bytes())
}

/// Unpadded base64url, as in JWTs (written out to avoid a dependency for the tests).
fn base64_url_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn google_token_with_another_algorithm_is_refused_without_fetching_keys() {
    let google = google().await;
    let verifier = google.verifier();
    let payload = b64(&claims());
    // `alg: none`, with and without a signature part.
    let none = b64(&json!({"alg": "none", "typ": "JWT", "kid": KID_A}));
    for token in [format!("{none}.{payload}."), format!("{none}.{payload}")] {
        let message = refusal(verifier.verify(&token, EMAIL).await);
        assert!(message.contains("not a Google ID token"), "{message}");
    }
    // HS256, keyed with key A's public JWK text (the classic confusion attack) and with a secret.
    for secret in [fixture("key-a.jwk.json"), "secret".to_owned()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(KID_A.into());
        let token = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        let message = refusal(verifier.verify(&token, EMAIL).await);
        assert!(message.contains("not a Google ID token"), "{message}");
    }
    // RS512 with the right key is still not what Google issues.
    let mut header = Header::new(Algorithm::RS512);
    header.kid = Some(KID_A.into());
    let token = jsonwebtoken::encode(&header, &claims(), &private_key("a")).unwrap();
    let message = refusal(verifier.verify(&token, EMAIL).await);
    assert!(message.contains("not a Google ID token"), "{message}");
    assert_eq!(google.hits(), 0, "junk must not cost a request to Google");
}

#[tokio::test]
async fn google_malformed_tokens_are_refused() {
    let google = google().await;
    let verifier = google.verifier();
    let no_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(), &private_key("a")).unwrap();
    let huge = format!(
        "{}.{}.sig",
        b64(&json!({"alg": "RS256", "kid": KID_A})),
        "A".repeat(20_000)
    );
    for token in [
        "",
        "undefined",
        "null",
        "a.b.c",
        "...",
        no_kid.as_str(),
        huge.as_str(),
    ] {
        let message = refusal(verifier.verify(token, EMAIL).await);
        assert!(
            message.contains("not a Google ID token"),
            "{token}: {message}"
        );
    }
    // Registered claims of the wrong type or missing.
    for broken in [
        with(json!({"exp": "tomorrow"})),
        with(json!({"sub": null})),
        with(json!({"aud": null})),
    ] {
        let message = refusal(verifier.verify(&sign(&broken), EMAIL).await);
        assert!(message.contains("not a Google ID token"), "{message}");
    }
}

#[tokio::test]
async fn google_unknown_kid_refetches_once_then_is_refused() {
    let google = google().await;
    let verifier = google.verifier();
    verifier.verify(&sign(&claims()), EMAIL).await.unwrap();
    assert_eq!(google.hits(), 1);

    let unknown = sign_with("a", "kid-nobody-publishes", &claims());
    let message = refusal(verifier.verify(&unknown, EMAIL).await);
    assert!(message.contains("key Google does not publish"), "{message}");
    assert_eq!(google.hits(), 2, "an unknown kid refetches the keys once");

    // A flood of made-up kids, some at once: no further request within the interval.
    // Only the header differs between them: the kid is looked up before the signature is checked.
    let signed = sign(&claims());
    let (_, rest) = signed.split_once('.').unwrap();
    let flood: Vec<String> = (0..20)
        .map(|i| {
            let header = b64(&json!({"alg": "RS256", "typ": "JWT", "kid": format!("made-up-{i}")}));
            format!("{header}.{rest}")
        })
        .collect();
    let results =
        futures_util::future::join_all(flood.iter().map(|t| verifier.verify(t, EMAIL))).await;
    for result in results {
        refusal(result);
    }
    assert_eq!(google.hits(), 2, "refetches are limited to one a minute");
    // Known keys still work from the cache.
    verifier.verify(&sign(&claims()), EMAIL).await.unwrap();
    assert_eq!(google.hits(), 2);
}

#[tokio::test]
async fn google_key_rotation_is_picked_up_by_the_kid_refetch() {
    let google = FakeGoogle::start(vec![jwk("a", KID_A)]).await;
    let verifier = google.verifier();
    verifier.verify(&sign(&claims()), EMAIL).await.unwrap();
    // Google starts signing with a new key, well within our cached keys' lifetime.
    google.publish(vec![jwk("a", KID_A), jwk("b", KID_B)]);
    let rotated = sign_with("b", KID_B, &claims());
    verifier.verify(&rotated, EMAIL).await.unwrap();
    assert_eq!(google.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_keys_are_served_from_the_cache() {
    let google = google().await;
    let verifier = google.verifier();
    // One token: signing is slow in debug builds, verifying is not.
    let token = sign(&claims());
    // Many first verifications at once, on several threads: one fetch between them (single flight).
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verifier.verify(&token, EMAIL).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for _ in 0..10 {
        verifier.verify(&token, EMAIL).await.unwrap();
    }
    assert_eq!(google.hits(), 1);
}

#[tokio::test]
async fn google_keys_are_refetched_when_max_age_has_passed() {
    let google = google().await;
    let body = json!({"keys": [jwk("a", KID_A)]}).to_string();
    google.answer(StatusCode::OK, Some("public, max-age=1"), &body);
    let clock = Arc::new(TestClock::new());
    let verifier = google.verifier_on(clock.clone());
    verifier.verify(&sign(&claims()), EMAIL).await.unwrap();
    verifier.verify(&sign(&claims()), EMAIL).await.unwrap();
    assert_eq!(google.hits(), 1);
    clock.advance(Duration::from_millis(1100));
    verifier.verify(&sign(&claims()), EMAIL).await.unwrap();
    assert_eq!(google.hits(), 2);
}

#[tokio::test]
async fn google_keys_unavailable_when_google_cannot_be_reached() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let verifier = verifier_for(&format!("http://{addr}/certs"), &[CLIENT_ID]);
    match verifier.verify(&sign(&claims()), EMAIL).await {
        Err(GoogleError::KeysUnavailable(detail)) => {
            assert!(detail.to_string().contains(&addr.to_string()), "{detail}");
            // The cause stays a source, not flattened into the text.
            assert!(std::error::Error::source(&*detail).is_some(), "{detail:?}");
        }
        other => panic!("expected KeysUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn google_keys_unavailable_when_google_answers_badly() {
    let google = google().await;
    let cases = [
        (StatusCode::INTERNAL_SERVER_ERROR, "{}", "500"),
        (StatusCode::OK, "<html>oops</html>", "JSON Web Key Set"),
        (StatusCode::OK, r#"{"keys": []}"#, "no RS256 signing key"),
        (
            StatusCode::OK,
            r#"{"keys": [{"kty": "EC", "kid": "kid-a", "crv": "P-256", "x": "", "y": ""}]}"#,
            "no RS256 signing key",
        ),
    ];
    for (status, body, expected) in cases {
        google.answer(status, None, body);
        // A fresh verifier per case, so that nothing is cached.
        match google.verifier().verify(&sign(&claims()), EMAIL).await {
            Err(GoogleError::KeysUnavailable(detail)) => {
                assert!(detail.to_string().contains(expected), "{detail}")
            }
            other => panic!("expected KeysUnavailable, got {other:?}"),
        }
    }
    // Once Google is back, the next verification fetches again and succeeds.
    let verifier = google.verifier();
    google.answer(StatusCode::SERVICE_UNAVAILABLE, None, "");
    assert!(matches!(
        verifier.verify(&sign(&claims()), EMAIL).await,
        Err(GoogleError::KeysUnavailable(_))
    ));
    google.answer(
        StatusCode::OK,
        None,
        &json!({"keys": [jwk("a", KID_A)]}).to_string(),
    );
    verifier.verify(&sign(&claims()), EMAIL).await.unwrap();
}

#[tokio::test]
async fn google_not_configured_without_a_client_id() {
    let google = google().await;
    for ids in [&[][..], &[" "][..]] {
        let verifier = verifier_for(&google.url, ids);
        assert!(!verifier.is_configured());
        let error = verifier.verify(&sign(&claims()), EMAIL).await.unwrap_err();
        assert!(matches!(error, GoogleError::NotConfigured), "{error:?}");
        assert_eq!(
            error.to_string(),
            "Google sign-in is not configured on this server."
        );
    }
    assert_eq!(google.hits(), 0);
}

/// Google's own Python library (google-auth) verifying the test tokens against the fake Google:
/// shows the fixtures and tokens are the real format, so the tests above test the real thing.
/// Needs google-auth, requests and pyjwt (pinned in tests/services/requirements.txt, installed by
/// scripts/test.sh) importable by `EDUCOIN_TEST_GOOGLE_AUTH_PYTHON` (default `python3`); without
/// them it fails, so that a machine missing them cannot pass it unseen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_auth_library_agrees_on_the_test_tokens() {
    const SCRIPT: &str = r#"
import sys
from google.auth.transport.requests import Request
from google.oauth2 import id_token
token, certs_url, audience = sys.argv[1:4]
try:
    claims = id_token.verify_token(token, Request(), audience=audience, certs_url=certs_url)
except Exception as e:
    print("REJECTED", type(e).__name__, e)
    sys.exit(3)
print("ACCEPTED", claims["email"])
"#;
    let python =
        std::env::var("EDUCOIN_TEST_GOOGLE_AUTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let import = std::process::Command::new(&python)
        .args([
            "-c",
            "import google.oauth2.id_token, google.auth.transport.requests, jwt",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        import.status.success(),
        "{python} cannot import google-auth, requests and pyjwt: run \
         `python3 -m pip install -r tests/services/requirements.txt` (scripts/test.sh does)\n{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let google = google().await;
    let run = |token: String| {
        let (python, url) = (python.clone(), google.url.clone());
        // Blocking, on another thread: the fake Google must keep answering meanwhile.
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(python)
                .args(["-c", SCRIPT, &token, &url, CLIENT_ID])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        })
    };

    let valid = sign(&claims());
    assert_eq!(
        run(valid.clone()).await.unwrap(),
        format!("ACCEPTED {EMAIL}")
    );
    google.verifier().verify(&valid, EMAIL).await.unwrap();

    let forged = sign_with("b", KID_A, &claims());
    let answer = run(forged.clone()).await.unwrap();
    assert!(answer.starts_with("REJECTED"), "{answer}");
    refusal(google.verifier().verify(&forged, EMAIL).await);

    let other_app = sign(&with(
        json!({"aud": "someone-else.apps.googleusercontent.com"}),
    ));
    let answer = run(other_app.clone()).await.unwrap();
    assert!(answer.starts_with("REJECTED"), "{answer}");
    refusal(google.verifier().verify(&other_app, EMAIL).await);
}
