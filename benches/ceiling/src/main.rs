//! The ceiling for benches/perf.py: what poem alone costs per request on this machine.
//!
//!   PORT=8080 JWT_SECRET=... educoin-ceiling
//!
//! `GET /hello`     a fixed JSON body, nothing else (the ceiling for `/api/v1/health`);
//! `GET /hello-jwt` the same after verifying `Authorization: Bearer <HS256 JWT>` signed with
//!                  `JWT_SECRET` (the ceiling for authenticated reads); 401 when it does not verify.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, get, handler};
use serde::Deserialize;

const BODY: &str = r#"{"success":true,"message":"ok","data":{"status":"ok"}}"#;

#[derive(Deserialize)]
struct Claims {
    #[allow(dead_code)]
    id: String,
}

struct Keys {
    key: DecodingKey,
    validation: Validation,
}

fn json(status: StatusCode, body: &'static str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body)
}

#[handler]
fn hello() -> Response {
    json(StatusCode::OK, BODY)
}

#[handler]
fn hello_jwt(req: &Request, keys: Data<&std::sync::Arc<Keys>>) -> Response {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.map(|t| jsonwebtoken::decode::<Claims>(t, &keys.key, &keys.validation)) {
        Some(Ok(_)) => json(StatusCode::OK, BODY),
        _ => json(StatusCode::UNAUTHORIZED, r#"{"success":false}"#),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let secret = std::env::var("JWT_SECRET").expect("JWT_SECRET is required");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "iat"]);
    let keys = std::sync::Arc::new(Keys {
        key: DecodingKey::from_secret(secret.as_bytes()),
        validation,
    });
    let app = Route::new()
        .at("/hello", get(hello))
        .at("/hello-jwt", get(hello_jwt))
        .data(keys);
    Server::new(TcpListener::bind(format!("127.0.0.1:{port}")))
        .run(app)
        .await
}
