//! Verifies the Google ID token the app sends as `idToken` on teacher social login.
//!
//! The old app sent only `{email, name, profile}`, which let anyone log in as any teacher; the token
//! is the proof that Google vouched for that email. Checks (Google's own list for ID tokens): an
//! RS256 signature by a key Google publishes, `aud` one of our client ids, `iss` Google, not expired,
//! `email_verified`, and the email the app claims.
//!
//! Google's keys are cached as long as its `Cache-Control: max-age` allows. An unknown `kid` means
//! either a key rotation or a forged token; it triggers one refetch, at most once per
//! [`UNKNOWN_KID_REFETCH_INTERVAL`], so a flood of made-up kids cannot make us hammer Google.
//!
//! The token is a credential: it is never logged, nor put into an error.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::{AGE, CACHE_CONTROL, HeaderMap};
use serde::{Deserialize, Deserializer};

use crate::clock::SharedClock;
use crate::config::GoogleConfig;
use crate::error_chain::chain;

/// Google signs ID tokens with both spellings of its issuer.
const GOOGLE_ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];
/// Phones' clocks drift; a minute is what Google's own libraries tolerate.
const CLOCK_LEEWAY_SECS: u64 = 60;
/// A login waits on this fetch: better a quick 503 than a hung request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// When Google's answer says nothing about caching.
const DEFAULT_KEYS_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// So that a misconfigured proxy cannot pin old keys for longer than a day.
const MAX_KEYS_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// The least time between two refetches caused by an unknown `kid`.
pub const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Google ID tokens are about 1 KiB; anything much bigger is not one, and is not worth parsing.
const MAX_TOKEN_LEN: usize = 16 * 1024;

// What the user is told. Each is a sentence the app can show as it is.
const NOT_AN_ID_TOKEN: &str = "The Google sign-in token is not a Google ID token.";
const FOR_ANOTHER_APP: &str = "The Google sign-in token is for another app.";
const NOT_FROM_GOOGLE: &str = "The Google sign-in token was not issued by Google.";
const EXPIRED: &str = "The Google sign-in token has expired. Please sign in with Google again.";
const NOT_YET_VALID: &str =
    "The Google sign-in token is not valid yet. Please check the date and time on your device.";
const BAD_SIGNATURE: &str = "The Google sign-in token's signature is not valid.";
const UNKNOWN_KEY: &str = "The Google sign-in token is signed with a key Google does not publish.";
const NO_EMAIL: &str = "The Google sign-in token carries no email address.";
const EMAIL_NOT_VERIFIED: &str = "The email address of this Google account is not verified.";
const OTHER_EMAIL: &str = "The Google sign-in token belongs to another email address.";

#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// No Google client id is configured, so no token can be for us.
    #[error("Google sign-in is not configured on this server.")]
    NotConfigured,
    /// The token is not acceptable; the text is a sentence safe to show the user.
    #[error("{0}")]
    Rejected(String),
    /// Google's keys could not be fetched or read; for the logs. Worth a retry later. Shared, since
    /// the callers that queued behind a failed fetch get its error too.
    #[error("Google's sign-in keys are unavailable: {0}")]
    KeysUnavailable(#[source] Arc<KeysError>),
}

/// Why Google's keys could not be had; the HTTP client's error stays the source, since its cause
/// ("connection refused", "timed out") is the useful part.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("the HTTP client could not start")]
    Client(#[source] reqwest::Error),
    #[error("could not reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("{url} did not send a JSON Web Key Set")]
    NotAKeySet {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} lists no RS256 signing key")]
    NoSigningKey { url: String },
}

/// Who Google says signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoogleIdentity {
    /// Google's stable account id (`sub`); unlike the email, it never changes.
    pub subject: String,
    /// As Google spells it.
    pub email: String,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// Checks Google ID tokens. Cheap to clone: clones share the key cache.
#[derive(Clone)]
pub struct GoogleVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    client_ids: Vec<String>,
    jwks_url: String,
    /// Building a client only fails when the TLS backend cannot start; that surfaces as
    /// `KeysUnavailable` on use rather than as a panic at start.
    http: Result<reqwest::Client, Arc<KeysError>>,
    validation: Validation,
    keys: RwLock<Option<KeySet>>,
    /// Bumped after every fetch, successful or not, so that callers that queued behind a fetch can
    /// reuse its outcome instead of fetching again.
    fetches: AtomicU64,
    /// Single flight: one fetch at a time; the others wait and reuse its outcome.
    refresh: tokio::sync::Mutex<RefreshState>,
    /// When the cached keys go stale and an unknown kid may refetch.
    clock: SharedClock,
}

struct KeySet {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    fresh_until: Instant,
}

#[derive(Default)]
struct RefreshState {
    last_error: Option<Arc<KeysError>>,
    last_unknown_kid_refetch: Option<Instant>,
}

enum Cached {
    Hit(Arc<DecodingKey>),
    /// The keys are fresh but none has this kid.
    Unknown,
    /// No keys yet, or they are past their lifetime.
    Stale,
}

impl fmt::Debug for GoogleVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleVerifier")
            .field("client_ids", &self.inner.client_ids)
            .field("jwks_url", &self.inner.jwks_url)
            .finish_non_exhaustive()
    }
}

impl GoogleVerifier {
    /// Does no I/O: keys are fetched on first use.
    pub fn new(config: &GoogleConfig, clock: SharedClock) -> Self {
        let client_ids: Vec<String> = config
            .client_ids
            .iter()
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .collect();

        // Pinned to RS256 so that the token cannot pick its own algorithm (`none`, or HS256 keyed
        // with our public key).
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = CLOCK_LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&GOOGLE_ISSUERS);
        validation.set_audience(&client_ids);

        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("educoin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Arc::new(KeysError::Client(e)));

        GoogleVerifier {
            inner: Arc::new(Inner {
                client_ids,
                jwks_url: config.jwks_url.clone(),
                http,
                validation,
                keys: RwLock::new(None),
                fetches: AtomicU64::new(0),
                refresh: tokio::sync::Mutex::new(RefreshState::default()),
                clock,
            }),
        }
    }

    /// Whether any client id is configured (else every `verify` is `NotConfigured`).
    pub fn is_configured(&self) -> bool {
        !self.inner.client_ids.is_empty()
    }

    /// Checks `id_token` and that it was issued for `expected_email` (the email in the login body).
    pub async fn verify(
        &self,
        id_token: &str,
        expected_email: &str,
    ) -> Result<GoogleIdentity, GoogleError> {
        let inner = &self.inner;
        if inner.client_ids.is_empty() {
            return Err(GoogleError::NotConfigured);
        }
        let id_token = id_token.trim();
        if id_token.is_empty() || id_token.len() > MAX_TOKEN_LEN {
            return Err(rejected(NOT_AN_ID_TOKEN));
        }

        // Looked at before any key is fetched, so that junk costs no request to Google.
        // An unknown algorithm such as `none` fails to parse here.
        let header =
            jsonwebtoken::decode_header(id_token).map_err(|_| rejected(NOT_AN_ID_TOKEN))?;
        if header.alg != Algorithm::RS256 {
            return Err(rejected(NOT_AN_ID_TOKEN));
        }
        let Some(kid) = header.kid.as_deref() else {
            return Err(rejected(NOT_AN_ID_TOKEN));
        };

        let key = inner
            .key_for(kid)
            .await?
            .ok_or_else(|| rejected(UNKNOWN_KEY))?;
        let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &inner.validation)
            .map_err(|e| rejected(refusal(e.kind())))?
            .claims;

        let Some(email) = claims
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        else {
            return Err(rejected(NO_EMAIL));
        };
        if !claims.email_verified {
            return Err(rejected(EMAIL_NOT_VERIFIED));
        }
        if !same_email(email, expected_email) {
            return Err(rejected(OTHER_EMAIL));
        }
        Ok(GoogleIdentity {
            subject: claims.sub,
            email: email.to_owned(),
            name: non_empty(claims.name),
            picture: non_empty(claims.picture),
        })
    }
}

impl Inner {
    /// The key for `kid`, fetching Google's keys when needed. `Ok(None)`: Google does not publish it.
    async fn key_for(&self, kid: &str) -> Result<Option<Arc<DecodingKey>>, GoogleError> {
        if let Cached::Hit(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        let fetches_before = self.fetches.load(Ordering::Acquire);
        let mut state = self.refresh.lock().await;
        let waited_on_a_fetch = self.fetches.load(Ordering::Acquire) != fetches_before;

        match self.cached(kid) {
            Cached::Hit(key) => return Ok(Some(key)),
            Cached::Unknown => {
                // Either Google rotated its keys since our fetch, or the token is forged.
                let refetched_lately = state.last_unknown_kid_refetch.is_some_and(|at| {
                    self.clock.instant().saturating_duration_since(at)
                        < UNKNOWN_KID_REFETCH_INTERVAL
                });
                if waited_on_a_fetch || refetched_lately {
                    return Ok(None);
                }
                state.last_unknown_kid_refetch = Some(self.clock.instant());
            }
            Cached::Stale => {
                if waited_on_a_fetch && let Some(error) = &state.last_error {
                    // The fetch we queued behind has just failed: do not try again at once.
                    return Err(GoogleError::KeysUnavailable(error.clone()));
                }
            }
        }

        let fetched = self.fetch_keys().await;
        self.fetches.fetch_add(1, Ordering::Release);
        match fetched {
            Ok(set) => {
                state.last_error = None;
                let key = set.by_kid.get(kid).cloned();
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(set);
                Ok(key)
            }
            Err(error) => {
                // The previous keys, if any, stay: a failed refetch for an unknown kid must not
                // throw away keys that are still fresh. reqwest's own message omits the cause
                // ("connection refused", "timed out"), which is the useful part.
                tracing::warn!(url = %self.jwks_url, error = %chain(&*error), "could not fetch Google's sign-in keys");
                state.last_error = Some(error.clone());
                Err(GoogleError::KeysUnavailable(error))
            }
        }
    }

    fn cached(&self, kid: &str) -> Cached {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        match &*keys {
            Some(set) if self.clock.instant() < set.fresh_until => match set.by_kid.get(kid) {
                Some(key) => Cached::Hit(key.clone()),
                None => Cached::Unknown,
            },
            _ => Cached::Stale,
        }
    }

    async fn fetch_keys(&self) -> Result<KeySet, Arc<KeysError>> {
        let url = &self.jwks_url;
        let http = self.http.as_ref().map_err(Arc::clone)?;
        // A client span, and the trace context on the request (W3C traceparent).
        let span = crate::telemetry::client_span("google", "jwks.fetch");
        let sent = tracing::Instrument::instrument(
            crate::telemetry::propagation::send(http.get(url)),
            span.clone(),
        )
        .await;
        if sent.is_err() {
            crate::telemetry::mark_error(&span);
        }
        let response = sent.map_err(|source| {
            Arc::new(KeysError::Unreachable {
                url: url.clone(),
                source,
            })
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(Arc::new(KeysError::Status {
                url: url.clone(),
                status,
            }));
        }
        let lifetime = keys_lifetime(response.headers());
        let document: JwkSetDocument = response.json().await.map_err(|source| {
            Arc::new(KeysError::NotAKeySet {
                url: url.clone(),
                source,
            })
        })?;
        let by_kid = rsa_keys(document);
        if by_kid.is_empty() {
            return Err(Arc::new(KeysError::NoSigningKey { url: url.clone() }));
        }
        tracing::info!(
            keys = by_kid.len(),
            lifetime_secs = lifetime.as_secs(),
            "fetched Google's sign-in keys"
        );
        Ok(KeySet {
            by_kid,
            fresh_until: self.clock.instant() + lifetime,
        })
    }
}

/// The claims we read; the registered ones (`exp`, `aud`, `iss`) are checked by jsonwebtoken.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    email_verified: bool,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}

/// Google sends `email_verified` as a bool, but some of its token flows sent the string `"true"`.
/// Anything else counts as not verified.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// Keys are read one by one, so that a key of a type we do not use cannot spoil the set.
#[derive(Deserialize)]
struct JwkSetDocument {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RsaJwk {
    kid: String,
    kty: String,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
    n: String,
    e: String,
}

fn rsa_keys(document: JwkSetDocument) -> HashMap<String, Arc<DecodingKey>> {
    document
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<RsaJwk>(value).ok())
        .filter(|jwk| {
            jwk.kty == "RSA"
                && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256")
                && jwk.usage.as_deref().is_none_or(|usage| usage == "sig")
        })
        .filter_map(|jwk| {
            let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).ok()?;
            Some((jwk.kid, Arc::new(key)))
        })
        .collect()
}

/// How long a fetched key set stays fresh: `max-age` minus `Age` (time spent in caches on the way),
/// else [`DEFAULT_KEYS_LIFETIME`]; never more than [`MAX_KEYS_LIFETIME`].
fn keys_lifetime(headers: &HeaderMap) -> Duration {
    let max_age = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|directive| {
            let (name, value) = directive.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("max-age") {
                return None;
            }
            value.trim().trim_matches('"').parse::<u64>().ok()
        });
    let Some(max_age) = max_age else {
        return DEFAULT_KEYS_LIFETIME;
    };
    let age = headers
        .get(AGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_secs(max_age.saturating_sub(age)).min(MAX_KEYS_LIFETIME)
}

/// The user-facing reason for a token jsonwebtoken refused.
fn refusal(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => BAD_SIGNATURE,
        ErrorKind::ExpiredSignature => EXPIRED,
        ErrorKind::ImmatureSignature => NOT_YET_VALID,
        ErrorKind::InvalidAudience => FOR_ANOTHER_APP,
        ErrorKind::InvalidIssuer => NOT_FROM_GOOGLE,
        // Malformed parts, missing or mistyped claims, another algorithm: not what Google issues.
        _ => NOT_AN_ID_TOKEN,
    }
}

fn rejected(reason: &str) -> GoogleError {
    GoogleError::Rejected(reason.to_owned())
}

/// Email addresses compare without case: people type them in any case, Google lower-cases them.
fn same_email(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(reqwest::header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn google_keys_lifetime_follows_max_age() {
        let google = "public, max-age=19387, must-revalidate, no-transform";
        assert_eq!(
            keys_lifetime(&headers(&[(CACHE_CONTROL, google)])),
            Duration::from_secs(19387)
        );
        assert_eq!(
            keys_lifetime(&headers(&[(CACHE_CONTROL, google), (AGE, "387")])),
            Duration::from_secs(19000)
        );
        assert_eq!(
            keys_lifetime(&headers(&[(CACHE_CONTROL, "MAX-AGE=\"60\"")])),
            Duration::from_secs(60)
        );
        assert_eq!(
            keys_lifetime(&headers(&[(CACHE_CONTROL, "max-age=10"), (AGE, "99")])),
            Duration::ZERO
        );
    }

    #[test]
    fn google_keys_lifetime_defaults_and_caps() {
        assert_eq!(keys_lifetime(&HeaderMap::new()), DEFAULT_KEYS_LIFETIME);
        assert_eq!(
            keys_lifetime(&headers(&[(CACHE_CONTROL, "public, max-age=soon")])),
            DEFAULT_KEYS_LIFETIME
        );
        assert_eq!(
            keys_lifetime(&headers(&[(CACHE_CONTROL, "max-age=31536000")])),
            MAX_KEYS_LIFETIME
        );
    }

    #[test]
    fn google_email_verified_accepts_bool_or_string() {
        let verified = |json: &str| {
            serde_json::from_str::<Claims>(&format!(r#"{{"sub":"1"{json}}}"#))
                .unwrap()
                .email_verified
        };
        assert!(verified(r#","email_verified":true"#));
        assert!(verified(r#","email_verified":"true""#));
        assert!(!verified(r#","email_verified":false"#));
        assert!(!verified(r#","email_verified":"false""#));
        assert!(!verified(r#","email_verified":1"#));
        assert!(!verified(""));
    }

    #[test]
    fn google_emails_compare_trimmed_without_case() {
        assert!(same_email("Teacher@Example.com", " teacher@example.com "));
        assert!(!same_email("teacher@example.com", "other@example.com"));
    }
}
