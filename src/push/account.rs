//! The Firebase service account: parsed once from `FIREBASE_SERVICE_ACCOUNT_KEY_BASE64`, and the
//! JWT assertion (RFC 7523) it signs to obtain access tokens.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The OAuth scope of FCM HTTP v1.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// How long an assertion is valid (Google accepts at most one hour).
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// What a service-account key holds that we use. The private key is kept only as a signing key.
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    pub token_uri: String,
    key_id: Option<String>,
    key: EncodingKey,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    project_id: String,
    client_email: String,
    /// Read once into the signing key; the file's text is dropped right after.
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

impl ServiceAccount {
    /// Parses the base64 of the key file. The error names what is wrong, never the key.
    pub fn from_base64(raw: &SecretString) -> Result<Self, String> {
        let json = base64::engine::general_purpose::STANDARD
            .decode(raw.expose_secret().trim())
            .map_err(|_| "not base64".to_owned())?;
        let file: KeyFile = serde_json::from_slice(&json)
            .map_err(|e| format!("not a service-account key file ({})", e.classify_name()))?;
        let key = EncodingKey::from_rsa_pem(file.private_key.as_bytes())
            .map_err(|_| "private_key is not an RSA key in PEM".to_owned())?;
        let account = ServiceAccount {
            project_id: file.project_id,
            client_email: file.client_email,
            token_uri: file
                .token_uri
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            key_id: file.private_key_id,
            key,
        };
        // The backend reads the key only when signing: sign once now so a bad key shows at start.
        account.assertion(&account.token_uri, 0)?;
        Ok(account)
    }

    /// The signed assertion for `aud` (the token endpoint), issued at `now_secs`.
    pub fn assertion(&self, aud: &str, now_secs: i64) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = Claims {
            iss: &self.client_email,
            scope: SCOPE,
            aud,
            iat: now_secs,
            exp: now_secs + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign the assertion: {e}"))
    }
}

trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    /// Which kind of problem, without echoing any of the input (it holds the private key).
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "missing or mistyped fields",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}
