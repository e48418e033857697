//! Access tokens: HS256 JWTs carrying `id`, `role`, `email`, `iat`, `exp`, `typ: "access"` and
//! `epoch` (the account's `token_epoch` when it was issued; see `auth::principal`).
//! The algorithm is pinned on verification, and `typ` keeps any other JWT we might sign from
//! passing as an access token (RFC 8725 §3.11). Refresh tokens are opaque (see `refresh`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::clock::SharedClock;
use crate::config::JwtConfig;
use crate::domain::{Id, Role};

const ACCESS: &str = "access";
/// Clock skew tolerated between replicas.
const LEEWAY_SECS: u64 = 5;
/// The header of every token `issue` signs (`{"typ":"JWT","alg":"HS256"}`), encoded.
const OUR_HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub typ: String,
    /// Tokens issued before epochs existed have none: epoch 0, as every account started.
    #[serde(default)]
    pub epoch: i64,
}

impl Claims {
    pub fn account_id(&self) -> Option<Id> {
        Id::parse(&self.id).ok()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not a JWT at all (`undefined`, empty, garbage): a client bug, answered with 400.
    #[error("malformed token")]
    Malformed,
    #[error("expired token")]
    Expired,
    /// A JWT, but not one of ours: bad signature, other algorithm, wrong `typ`, bad claims.
    #[error("invalid token")]
    Invalid,
}

pub struct AccessTokens {
    encoding: EncodingKey,
    /// HMAC-SHA256 with the secret, keyed once: each check clones this state instead of hashing
    /// the key's pads again (jsonwebtoken's `decode` did, per token).
    mac: Hmac<Sha256>,
    ttl_secs: i64,
    clock: SharedClock,
}

impl AccessTokens {
    pub fn new(config: &JwtConfig, clock: SharedClock) -> Self {
        let secret = config.secret.expose_secret().as_bytes();
        AccessTokens {
            encoding: EncodingKey::from_secret(secret),
            mac: Hmac::new_from_slice(secret).expect("HMAC takes a key of any length"),
            ttl_secs: config.expires_in.as_secs().min(i64::MAX as u64) as i64,
            clock,
        }
    }

    /// A token of epoch 0: for students (whose credentials never change) and tools.
    pub fn issue(&self, id: &Id, role: Role, email: Option<&str>) -> String {
        self.issue_for_epoch(id, role, email, 0)
    }

    /// A token valid while the account's `token_epoch` is `epoch`.
    pub fn issue_for_epoch(&self, id: &Id, role: Role, email: Option<&str>, epoch: i64) -> String {
        let now = self.clock.now().0 / 1000;
        let claims = Claims {
            id: id.to_string(),
            role,
            email: email.map(str::to_owned),
            iat: now,
            exp: now.saturating_add(self.ttl_secs),
            typ: ACCESS.to_owned(),
            epoch,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with a byte key cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        // A token that decodes is a JWT, so whether it was one at all (400 rather than 401) is
        // asked only of a refused token: the valid path parses its header once, not twice.
        let claims = self.decode(token).ok_or_else(|| {
            if looks_like_jwt(token) {
                TokenError::Invalid
            } else {
                TokenError::Malformed
            }
        })?;
        // jsonwebtoken's own rule: expired once `exp` is more than the leeway in the past.
        let now = self.clock.now().0 / 1000;
        if claims.exp < now.saturating_sub(LEEWAY_SECS as i64) {
            return Err(TokenError::Expired);
        }
        if claims.typ != ACCESS || claims.account_id().is_none() {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    /// The claims of a token that `jsonwebtoken::decode` accepted with HS256 pinned, `exp` and
    /// `iat` required and expiry left to `verify` (the settings used before): the header as
    /// jsonwebtoken reads it, with `alg` HS256; the signature over the first two segments; an
    /// `exp` that is a whole number ≥ 0; no audience, since we name none. By hand for the keyed
    /// HMAC state and one pass over the claims (the JWT check was a quarter of an authenticated
    /// read's instructions, issue 13).
    fn decode(&self, token: &str) -> Option<Claims> {
        let (message, signature) = token.rsplit_once('.')?;
        let (header, payload) = message.rsplit_once('.')?;
        // The header we sign with is HS256 without decoding it (decode_header reads the same
        // segment: all before the payload's dot).
        if header != OUR_HEADER && jsonwebtoken::decode_header(token).ok()?.alg != Algorithm::HS256
        {
            return None;
        }
        let mut mac = self.mac.clone();
        mac.update(message.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
            .ok()?;
        let payload: Payload =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let audience = match &payload.aud {
            Some(serde_json::Value::String(_)) => true,
            Some(serde_json::Value::Array(a)) => a.iter().all(serde_json::Value::is_string),
            _ => false,
        };
        if payload.exp < 0 || audience {
            return None;
        }
        Some(Claims {
            id: payload.id,
            role: payload.role,
            email: payload.email,
            iat: payload.iat,
            exp: payload.exp,
            typ: payload.typ,
            epoch: payload.epoch,
        })
    }
}

/// `Claims` as read from a token, with the registered claim jsonwebtoken refused when present.
/// (Not `#[serde(flatten)]`: that buffers every field first.)
#[derive(Deserialize)]
struct Payload {
    id: String,
    role: Role,
    #[serde(default)]
    email: Option<String>,
    iat: i64,
    exp: i64,
    typ: String,
    #[serde(default)]
    epoch: i64,
    #[serde(default)]
    aud: Option<serde_json::Value>,
}

/// Three base64url segments whose first decodes to a JSON object with an `alg`: a JWT, whether or
/// not we signed it. `alg: none` and foreign keys are JWTs too, and get 401 rather than 400.
fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|h| h.get("alg").is_some_and(|a| a.is_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, TestClock};
    use secrecy::SecretString;
    use std::sync::Arc;
    use std::time::Duration;

    fn tokens_on(secret: &str, ttl: u64, clock: SharedClock) -> AccessTokens {
        AccessTokens::new(
            &JwtConfig {
                secret: SecretString::from(secret),
                expires_in: Duration::from_secs(ttl),
                refresh_secret: SecretString::from("unused"),
                refresh_expires_in: Duration::from_secs(60),
            },
            clock,
        )
    }

    fn tokens(secret: &str, ttl: u64) -> AccessTokens {
        tokens_on(secret, ttl, Arc::new(TestClock::new()))
    }

    #[test]
    fn issued_tokens_carry_our_header() {
        let jwt = tokens("k1-0123456789abcdef0123456789abcdef", 60).issue_for_epoch(
            &Id::generate(),
            Role::Student,
            None,
            0,
        );
        assert_eq!(jwt.split('.').next(), Some(OUR_HEADER));
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
    }

    #[test]
    fn round_trip_and_classification() {
        let t = tokens("k1-0123456789abcdef0123456789abcdef", 3600);
        let id = Id::generate();
        let jwt = t.issue_for_epoch(&id, Role::Teacher, Some("t@school.org"), 3);
        let claims = t.verify(&jwt).unwrap();
        assert_eq!(claims.account_id(), Some(id));
        assert_eq!(claims.role, Role::Teacher);
        assert_eq!(claims.epoch, 3);

        for garbage in ["undefined", "", "null", "a.b", "not.a.jwt", "x.y.z.w"] {
            assert_eq!(t.verify(garbage), Err(TokenError::Malformed), "{garbage}");
        }
        let other = tokens("k2-0123456789abcdef0123456789abcdef", 3600);
        assert_eq!(other.verify(&jwt), Err(TokenError::Invalid));

        // alg: none is a JWT, but never ours.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&serde_json::json!({
                "id": Id::generate().to_string(), "role": "ADMIN", "iat": 0, "exp": 4_000_000_000i64, "typ": "access"
            }))
            .unwrap(),
        );
        assert_eq!(
            t.verify(&format!("{header}.{payload}.")),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn expired_tokens_are_told_apart() {
        let clock = Arc::new(TestClock::new());
        let t = tokens_on("k1-0123456789abcdef0123456789abcdef", 3600, clock.clone());
        let now = clock.now().0 / 1000;
        let claims = Claims {
            id: Id::generate().to_string(),
            role: Role::Student,
            email: None,
            iat: now - 7200,
            exp: now - 3600,
            typ: ACCESS.into(),
            epoch: 0,
        };
        let jwt = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"k1-0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert_eq!(t.verify(&jwt), Err(TokenError::Expired));
    }

    #[test]
    fn expiry_follows_the_injected_clock() {
        let clock = Arc::new(TestClock::new());
        // Frozen: on a loaded machine a second of real time could pass between issue and verify.
        clock.set(clock.now());
        let t = tokens_on("k1-0123456789abcdef0123456789abcdef", 60, clock.clone());
        let jwt = t.issue(&Id::generate(), Role::Teacher, None);
        clock.advance(Duration::from_secs(60 + LEEWAY_SECS));
        assert!(t.verify(&jwt).is_ok(), "within the leeway");
        clock.advance(Duration::from_secs(1));
        assert_eq!(t.verify(&jwt), Err(TokenError::Expired));
    }

    /// `decode` accepts exactly what `jsonwebtoken::decode` accepted with the settings it replaced.
    #[test]
    fn decode_agrees_with_jsonwebtoken() {
        use jsonwebtoken::{DecodingKey, Validation};
        const KEY: &str = "k1-0123456789abcdef0123456789abcdef";
        let t = tokens(KEY, 3600);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat"]);
        let theirs = |token: &str| {
            jsonwebtoken::decode::<Claims>(
                token,
                &DecodingKey::from_secret(KEY.as_bytes()),
                &validation,
            )
            .ok()
            .map(|d| d.claims)
        };
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let sign = |key: &str, header: &str, payload: &str| {
            let message = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
            mac.update(message.as_bytes());
            format!("{message}.{}", b64(&mac.finalize().into_bytes()))
        };
        let id = Id::generate().to_string();
        let claims = |extra: &str| {
            format!(
                r#"{{"id":"{id}","role":"TEACHER","iat":1,"exp":4000000000,"typ":"access"{extra}}}"#
            )
        };
        let hs256 = r#"{"alg":"HS256","typ":"JWT"}"#;
        let mut cases = vec![
            t.issue(&Id::generate(), Role::Teacher, Some("t@school.org")),
            t.issue_for_epoch(&Id::generate(), Role::Admin, None, 7),
            sign(KEY, hs256, &claims("")),
            sign(
                KEY,
                r#"{"alg":"HS256"}"#,
                &claims(r#","epoch":2,"email":null"#),
            ),
            sign(KEY, r#"{"alg":"HS256","kid":5}"#, &claims("")),
            sign(KEY, r#"{"alg":"HS256","kid":"a","x":[1]}"#, &claims("")),
            sign(KEY, r#"{"alg":"HS384"}"#, &claims("")),
            sign(KEY, r#"{"alg":"none"}"#, &claims("")),
            sign(KEY, r#"{"typ":"JWT"}"#, &claims("")),
            sign(KEY, hs256, &claims(r#","aud":"x""#)),
            sign(KEY, hs256, &claims(r#","aud":["x"]"#)),
            sign(KEY, hs256, &claims(r#","aud":[]"#)),
            sign(KEY, hs256, &claims(r#","aud":5"#)),
            sign(KEY, hs256, &claims(r#","aud":[5]"#)),
            sign(
                KEY,
                hs256,
                &claims(r#","nbf":99999999999,"sub":"s","iss":"i""#),
            ),
            sign(KEY, hs256, &claims(r#","id":"dup""#)),
            sign(
                KEY,
                hs256,
                r#"{"id":"x","role":"TEACHER","iat":1,"exp":-5,"typ":"access"}"#,
            ),
            sign(
                KEY,
                hs256,
                r#"{"id":"x","role":"TEACHER","iat":1,"exp":5.0,"typ":"access"}"#,
            ),
            sign(
                KEY,
                hs256,
                r#"{"id":"x","role":"TEACHER","iat":1,"typ":"access"}"#,
            ),
            sign(
                KEY,
                hs256,
                r#"{"id":"x","role":"TEACHER","exp":5,"typ":"access"}"#,
            ),
            sign(
                KEY,
                hs256,
                r#"{"id":"x","role":"NOBODY","iat":1,"exp":5,"typ":"access"}"#,
            ),
            sign(KEY, hs256, "[]"),
            sign("another-key-0123456789abcdef012345", hs256, &claims("")),
        ];
        let valid = cases[0].clone();
        let (message, signature) = valid.rsplit_once('.').unwrap();
        cases.extend([
            format!("{message}.{}", &signature[1..]),
            format!("{message}.{signature}="),
            format!("{message}."),
            format!("{valid}.x"),
            format!("x.{valid}"),
            format!(" {valid}"),
            message.to_owned(),
            String::new(),
            "a.b.c".into(),
        ]);
        for case in &cases {
            assert_eq!(t.decode(case), theirs(case), "{case}");
        }
        assert!(t.decode(&cases[0]).is_some());
    }
}
