//! A small typed Stripe client over the server's reqwest (docs/decisions.md, "Payments: our own
//! Stripe client"): the three calls payments need, form-encoded as Stripe's API takes them, each
//! create with an `Idempotency-Key`, against a configurable API base (localstripe in tests).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::StripeConfig;

/// Stripe answers in well under a second; past this the supporter is told to retry.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe could not be reached or answered 5xx/429: retry later (503).
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
    /// Stripe refused the request (4xx): its message, for the logs and an admin.
    #[error("Stripe refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
}

#[derive(Clone, Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    #[serde(default)]
    pub client_secret: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    key: SecretString,
}

impl StripeClient {
    pub fn new(config: &StripeConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(StripeClient {
            http,
            base: config.api_base.clone(),
            key: config.secret_key.clone(),
        })
    }

    /// A card PaymentIntent for a project (`metadata[projectId]`; nothing that differs between
    /// two calls with one idempotency key, which Stripe would refuse).
    /// `payment_method_types[]=card` rather than `automatic_payment_methods`: cards are what the
    /// page takes, and localstripe refuses the latter.
    pub async fn create_payment_intent(
        &self,
        amount: i64,
        currency: &str,
        project_id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let form = [
            ("amount", amount.to_string()),
            ("currency", currency.to_owned()),
            ("payment_method_types[]", "card".to_owned()),
            ("metadata[projectId]", project_id.to_owned()),
        ];
        self.post(
            "payment_intents.create",
            "/v1/payment_intents",
            &form,
            Some(idempotency_key),
        )
        .await
    }

    pub async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        if !safe_id(id) {
            return Err(StripeError::Refused {
                status: 400,
                message: "not a PaymentIntent id".into(),
            });
        }
        let request = self
            .http
            .get(format!("{}/v1/payment_intents/{id}", self.base))
            .bearer_auth(self.key.expose_secret());
        self.send("payment_intents.retrieve", request).await
    }

    /// Refunds `amount` (all of what is left when `None`) of a PaymentIntent.
    pub async fn refund(
        &self,
        payment_intent: &str,
        amount: Option<i64>,
        idempotency_key: &str,
    ) -> Result<Refund, StripeError> {
        let mut form = vec![("payment_intent", payment_intent.to_owned())];
        if let Some(a) = amount {
            form.push(("amount", a.to_string()));
        }
        self.post(
            "refunds.create",
            "/v1/refunds",
            &form,
            Some(idempotency_key),
        )
        .await
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.key.expose_secret())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(operation, request).await
    }

    /// One call as a client span (`operation`, e.g. `refunds.create`) carrying the trace context;
    /// any failure, Stripe's refusals included, marks the span.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, StripeError> {
        let span = crate::telemetry::client_span("stripe", operation);
        let call = tracing::Instrument::instrument(self.call(request), span.clone());
        let result = call.await;
        if result.is_err() {
            crate::telemetry::mark_error(&span);
        }
        result
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, StripeError> {
        // The error's text never holds the key: reqwest's errors name the URL, not the headers.
        // Inside the span (instrumented by `send`): the traceparent names the client span.
        let response = crate::telemetry::propagation::send(request)
            .await
            .map_err(|e| StripeError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| StripeError::Unavailable(e.without_url().to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| StripeError::Unavailable(format!("unexpected answer: {e}")));
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .ok()
            .and_then(|b| b.error.message)
            .unwrap_or_else(|| format!("status {status}"));
        if status.is_server_error() || status.as_u16() == 429 {
            Err(StripeError::Unavailable(message))
        } else {
            Err(StripeError::Refused {
                status: status.as_u16(),
                message,
            })
        }
    }
}

/// Stripe's ids are `prefix_` and letters/digits; anything else never goes into a URL path.
pub fn safe_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
