//! `POST /payments/webhook`: Stripe's events, verified on the raw body bytes before anything is
//! read (`payments::signature`), then applied exactly once per event id (`payments::ledger`).

use poem::Request;
use poem_openapi::OpenApi;

use super::ApiTags;
use super::payments::stripe;
use crate::http::{ApiError, ApiResult, Done, done};
use crate::payments::signature::{self, TOLERANCE_SECS};
use crate::payments::{events, ledger};
use crate::state::AppState;

pub struct PaymentsWebhookApi;

#[OpenApi(tag = "ApiTags::Payments")]
impl PaymentsWebhookApi {
    /// Stripe's webhook endpoint. `Stripe-Signature` must hold `t` and a `v1` HMAC-SHA256 of
    /// `t.body` with one of STRIPE_WEBHOOK_SECRET's secrets, at most 5 minutes old; otherwise 400
    /// and nothing is read or written. Handles `payment_intent.succeeded`, `.payment_failed`,
    /// `.canceled`, `.processing` and refund events (`charge.refunded`, `refund.*`); an event id
    /// already processed is answered 200 without doing anything again, and other types are
    /// acknowledged and ignored.
    #[oai(path = "/payments/webhook", method = "post")]
    async fn webhook(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        body: Vec<u8>,
    ) -> ApiResult<Done> {
        stripe(&state).inspect_err(|_| count("unconfigured"))?;
        let secrets = state
            .config
            .stripe
            .as_ref()
            .map(|s| s.webhook_secrets.as_slice())
            .unwrap_or_default();
        let header = req
            .headers()
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok());
        let now_secs = state.clock.now().0.div_euclid(1000);
        signature::verify(header, &body, secrets, now_secs, TOLERANCE_SECS).map_err(|e| {
            tracing::warn!(error = %e, "refused a webhook delivery");
            count("bad_signature");
            ApiError::BadRequest(format!("Webhook signature refused: {e}."))
        })?;
        let event = events::parse(&body).ok_or_else(|| {
            count("invalid");
            ApiError::BadRequest("The body is not a Stripe event.".into())
        })?;
        let fresh = ledger::apply(&state, &event)
            .await
            .inspect_err(|_| count("failed"))?;
        count(if fresh { "processed" } else { "duplicate" });
        Ok(done(if fresh {
            "Event processed"
        } else {
            "Event already processed"
        }))
    }
}

/// One delivery in `payments_webhooks_total{outcome}` (values: `ops::metrics::WEBHOOK_OUTCOMES`).
fn count(outcome: &'static str) {
    crate::ops::metrics::get()
        .payments_webhooks
        .with_label_values(&[outcome])
        .inc();
}
