//! The public payment page, `GET /fund/<projectId>` (`public/fund/index.html`): no framework, a
//! phone-sized layout, Stripe.js from `STRIPE_JS_URL`, and a strict Content-Security-Policy that
//! allows Stripe's documented sources (or the configured stand-in's origin) and ours only, with a
//! fresh nonce per response for the page's own style and script.

use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{Response, handler};

use crate::state::AppState;

const PAGE: &str = include_str!("../../public/fund/index.html");
const STRIPE_JS: &str = "https://js.stripe.com";

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => STRIPE_JS.to_owned(),
    }
}

/// The policy: Stripe's documented entries (script and frames from js.stripe.com, frames from
/// hooks.stripe.com, calls to api.stripe.com), or the configured Stripe.js origin in their place.
pub fn content_security_policy(js_url: &str, api_base: &str, nonce: &str) -> String {
    let js = origin(js_url);
    let api = origin(api_base);
    let stripe_frames = if js == STRIPE_JS {
        "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com".to_owned()
    } else {
        js.clone()
    };
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}' {js}; style-src 'nonce-{nonce}'; \
         connect-src 'self' {api} {js}; frame-src {stripe_frames}; img-src 'self' data: {js}; \
         font-src {js}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[handler]
pub fn serve(Data(state): Data<&AppState>) -> Response {
    let stripe = state.config.stripe.as_ref();
    let js_url = stripe.map_or("https://js.stripe.com/v3/", |s| s.js_url.as_str());
    let api_base = stripe.map_or("https://api.stripe.com", |s| s.api_base.as_str());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    // The URL comes from our configuration; it is HTML-escaped all the same.
    let escaped = js_url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    let body = PAGE
        .replace("{{NONCE}}", &nonce)
        .replace("{{STRIPE_JS_URL}}", &escaped);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(js_url, api_base, &nonce),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .header("x-content-type-options", "nosniff")
        .header(header::REFERRER_POLICY, "same-origin")
        .body(body)
}
