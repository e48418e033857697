//! Access tokens: HS256 JWTs carrying `id`, `role`, `email`, `iat`, `exp`, `typ: "access"` and
//! `epoch` (the account's `token_epoch` when it was issued; see `auth::principal`).
//! The algorithm is pinned on verification, and `typ` keeps any other JWT we might sign from
//! passing as an access token (RFC 8725 §3.11). Refresh tokens are opaque (see `refresh`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::config::JwtConfig;
use crate::domain::{Id, Role};

const ACCESS: &str = "access";
/// Clock skew tolerated between replicas.
const LEEWAY_SECS: u64 = 5;

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
    decoding: DecodingKey,
    ttl_secs: i64,
    validation: Validation,
    clock: SharedClock,
}

impl AccessTokens {
    pub fn new(config: &JwtConfig, clock: SharedClock) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        // Expiry is checked against our clock below, not jsonwebtoken's reading of the system's.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat"]);
        AccessTokens {
            encoding: EncodingKey::from_secret(config.secret.expose_secret().as_bytes()),
            decoding: DecodingKey::from_secret(config.secret.expose_secret().as_bytes()),
            ttl_secs: config.expires_in.as_secs().min(i64::MAX as u64) as i64,
            validation,
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
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                _ if !looks_like_jwt(token) => TokenError::Malformed,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        // jsonwebtoken's own rule, checked where it checked it: expired once `exp` is more than
        // the leeway in the past.
        let now = self.clock.now().0 / 1000;
        if data.claims.exp < now.saturating_sub(LEEWAY_SECS as i64) {
            return Err(TokenError::Expired);
        }
        if data.claims.typ != ACCESS || data.claims.account_id().is_none() {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
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
        let t = tokens_on("k1-0123456789abcdef0123456789abcdef", 60, clock.clone());
        let jwt = t.issue(&Id::generate(), Role::Teacher, None);
        clock.advance(Duration::from_secs(60 + LEEWAY_SECS));
        assert!(t.verify(&jwt).is_ok(), "within the leeway");
        clock.advance(Duration::from_secs(1));
        assert_eq!(t.verify(&jwt), Err(TokenError::Expired));
    }
}
