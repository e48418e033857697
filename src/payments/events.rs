//! The Stripe events payments act on, read from a verified webhook body. Unknown types are
//! acknowledged and ignored (Stripe sends what the endpoint subscribes to, and more may come).

use serde::Deserialize;

use crate::domain::payments::PaymentStatus;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A PaymentIntent reached this state.
    Intent {
        intent_id: String,
        status: PaymentStatus,
    },
    /// Refunds of a PaymentIntent (id and amount each).
    Refunds {
        intent_id: String,
        refunds: Vec<(String, i64)>,
    },
    Ignore,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub action: Action,
}

#[derive(Deserialize)]
struct Raw {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: serde_json::Value,
}

fn text(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_owned)
}

/// A refund object counts once Stripe says it succeeded (or, for objects without a status, as
/// older API versions send them).
fn refund_of(v: &serde_json::Value) -> Option<(String, i64)> {
    let status = v.get("status").and_then(|s| s.as_str());
    if !matches!(status, None | Some("succeeded")) {
        return None;
    }
    Some((text(v, "id")?, v.get("amount")?.as_i64()?))
}

/// `None` when the body is not a Stripe event.
pub fn parse(body: &[u8]) -> Option<Event> {
    let raw: Raw = serde_json::from_slice(body).ok()?;
    let object = &raw.data.object;
    let intent_status = |status| {
        Some(Action::Intent {
            intent_id: text(object, "id")?,
            status,
        })
    };
    let action = match raw.kind.as_str() {
        "payment_intent.succeeded" => intent_status(PaymentStatus::Succeeded),
        "payment_intent.payment_failed" => intent_status(PaymentStatus::Failed),
        "payment_intent.canceled" => intent_status(PaymentStatus::Canceled),
        "payment_intent.processing" => intent_status(PaymentStatus::Processing),
        "payment_intent.requires_action" => intent_status(PaymentStatus::RequiresAction),
        // The charge lists its refunds (`refunds.data`) in the API versions that expand it.
        "charge.refunded" | "charge.refund.updated"
            if object.get("object").and_then(|o| o.as_str()) == Some("charge") =>
        {
            let refunds = object
                .get("refunds")
                .and_then(|r| r.get("data"))
                .and_then(|d| d.as_array())
                .map(|list| list.iter().filter_map(refund_of).collect())
                .unwrap_or_default();
            text(object, "payment_intent").map(|intent_id| Action::Refunds { intent_id, refunds })
        }
        "refund.created" | "refund.updated" | "charge.refund.updated" => {
            let intent_id = text(object, "payment_intent");
            match (intent_id, refund_of(object)) {
                (Some(intent_id), Some(r)) => Some(Action::Refunds {
                    intent_id,
                    refunds: vec![r],
                }),
                _ => Some(Action::Ignore),
            }
        }
        _ => Some(Action::Ignore),
    }
    .unwrap_or(Action::Ignore);
    Some(Event {
        id: raw.id,
        kind: raw.kind,
        action,
    })
}
