//! A fake Google for ID-token tests: a local HTTP server publishing a JSON Web Key Set made from the
//! test keys in tests/fixtures/google, and tokens signed with those keys. Shared by the verifier's
//! tests (google.rs) and the sign-in route's tests (accounts/google_login.rs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{EndpointExt, IntoResponse, Response, Route, Server, get, handler};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "1234-web.apps.googleusercontent.com";
pub const OTHER_CLIENT_ID: &str = "1234-ios.apps.googleusercontent.com";
pub const EMAIL: &str = "teacher@example.com";
pub const KID_A: &str = "kid-a";
pub const KID_B: &str = "kid-b";

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/google/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn private_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(fixture(&format!("key-{name}.pem")).as_bytes()).unwrap()
}

/// The public half of test key `name`, published under `kid`.
pub fn jwk(name: &str, kid: &str) -> Value {
    let mut jwk: Value = serde_json::from_str(&fixture(&format!("key-{name}.jwk.json"))).unwrap();
    jwk["kid"] = json!(kid);
    jwk
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims of a Google ID token as Google issues them for `CLIENT_ID`.
pub fn claims() -> Value {
    json!({
        "iss": "https://accounts.google.com",
        "azp": "1234-android.apps.googleusercontent.com",
        "aud": CLIENT_ID,
        "sub": "110169484474386276334",
        "email": EMAIL,
        "email_verified": true,
        "name": "Ada Teacher",
        "picture": "https://lh3.googleusercontent.com/a/photo",
        "iat": now(),
        "exp": now() + 3600,
    })
}

pub fn sign_with(key: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &private_key(key)).unwrap()
}

/// A token signed with key A, published as `KID_A`.
pub fn sign(claims: &Value) -> String {
    sign_with("a", KID_A, claims)
}

pub fn with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

/// What the fake Google answers on `/certs`.
struct Published {
    status: StatusCode,
    cache_control: Option<String>,
    body: String,
}

pub struct FakeGoogle {
    pub url: String,
    published: Arc<Mutex<Published>>,
    hits: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[handler]
fn certs(published: Data<&Arc<Mutex<Published>>>, hits: Data<&Arc<AtomicUsize>>) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let published = published.lock().unwrap();
    let mut response = published
        .body
        .clone()
        .with_status(published.status)
        .with_content_type("application/json; charset=UTF-8")
        .into_response();
    if let Some(cc) = &published.cache_control {
        response
            .headers_mut()
            .insert("cache-control", cc.parse().unwrap());
    }
    response
}

impl FakeGoogle {
    /// Publishes `keys` with Google's kind of `Cache-Control`.
    pub async fn start(keys: Vec<Value>) -> FakeGoogle {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let published = Arc::new(Mutex::new(Published {
            status: StatusCode::OK,
            cache_control: Some("public, max-age=19387, must-revalidate, no-transform".into()),
            body: String::new(),
        }));
        let hits = Arc::new(AtomicUsize::new(0));
        let app = Route::new()
            .at("/oauth2/v3/certs", get(certs))
            .data(published.clone())
            .data(hits.clone());
        let acceptor = TcpAcceptor::from_std(listener).unwrap();
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        let google = FakeGoogle {
            url: format!("http://{addr}/oauth2/v3/certs"),
            published,
            hits,
            server,
        };
        google.publish(keys);
        google
    }

    pub fn publish(&self, keys: Vec<Value>) {
        self.published.lock().unwrap().body = json!({ "keys": keys }).to_string();
    }

    pub fn answer(&self, status: StatusCode, cache_control: Option<&str>, body: &str) {
        let mut published = self.published.lock().unwrap();
        published.status = status;
        published.cache_control = cache_control.map(str::to_owned);
        published.body = body.to_owned();
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Google's usual publication: key A and an unrelated second key.
pub async fn google() -> FakeGoogle {
    FakeGoogle::start(vec![jwk("a", KID_A), jwk("b", "kid-unused")]).await
}
