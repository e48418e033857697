//! How projects and payments look to the clients: Mongoose-shaped like every other record, amounts
//! in the currency's smallest unit. A supporter's card never appears: the server never has it.

use poem_openapi::Object;

use crate::domain::payments::{Payment, Project};
use crate::wire::{document_view, record_view};

document_view! {
    #[oai(rename = "Project")]
    pub struct ProjectView from Project as p;
    {
        /// The teacher's id.
        teacher: String = p.teacher.to_string(),
        title: String = p.title.clone(),
        description: String = p.description.clone(),
        class: String = p.class.clone(),
        /// In the smallest unit of `currency` (cents).
        goal: i64 = p.goal,
        /// Net amounts of succeeded payments (after the platform's fee and refunds).
        raised: i64 = p.raised,
        /// Succeeded payments.
        supporters: i64 = p.supporters,
        /// `open` (takes payments), `funded` (goal reached), `closed` (by its teacher) or `fulfilled`
        /// (an admin bought and delivered the items).
        status: String = p.status.as_str().to_owned(),
        picture: Option<String> = p.picture.clone(),
        currency: String = p.currency.clone(),
    }
}

/// What anyone with the link sees of a project, and the bounds of a payment toward it.
#[derive(Object, serde::Serialize, Debug, Clone)]
#[oai(rename = "PublicProject", rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PublicProjectView {
    #[oai(rename = "_id")]
    #[serde(rename = "_id")]
    pub id: String,
    pub title: String,
    pub description: String,
    pub class: String,
    pub goal: i64,
    pub raised: i64,
    pub supporters: i64,
    pub status: String,
    pub picture: Option<String>,
    pub currency: String,
    /// The smallest payment accepted.
    pub min_amount: i64,
    /// The largest payment accepted now: the policy's maximum, or what reaches the goal with the fee.
    pub max_amount: i64,
    /// The platform's share of each payment, as a fraction (0.2 = 20 %).
    pub fee_fraction: f64,
    /// Stripe's publishable key for Stripe.js (absent when payments are not configured).
    pub publishable_key: Option<String>,
}

record_view! {
    /// One payment as its project's teacher sees it: who, what they said, how much, when.
    #[oai(rename = "ProjectPayment")]
    pub struct SupporterPaymentView from Payment as p;
    {
        supporter_name: Option<String> = p.supporter_name.clone(),
        message: Option<String> = p.message.clone(),
        amount: i64 = p.amount,
        /// What counts toward the goal (amount less the platform's fee and refunds' shares).
        net: i64 = p.net,
        refunded: i64 = p.refunded,
        currency: String = p.currency.clone(),
        created_at: String = p.created_at.to_iso(),
    }
}

record_view! {
    /// A payment in the admins' ledger.
    #[oai(rename = "Payment")]
    pub struct PaymentView from Payment as p;
    {
        project: String = p.project.to_string(),
        teacher: String = p.teacher.to_string(),
        /// Stripe's PaymentIntent id.
        intent_id: String = p.intent_id.clone(),
        amount: i64 = p.amount,
        /// The platform's share (rounded half-up).
        fee: i64 = p.fee,
        /// `amount - fee`: what counts toward the goal.
        net: i64 = p.net,
        currency: String = p.currency.clone(),
        /// Stripe's PaymentIntent status (`requires_payment_method`, `processing`, `succeeded`,
        /// `canceled`, ...) or `failed`.
        status: String = p.status.as_str().to_owned(),
        supporter_name: Option<String> = p.supporter_name.clone(),
        message: Option<String> = p.message.clone(),
        /// Refunded so far (gross).
        refunded: i64 = p.refunded,
        created_at: String = p.created_at.to_iso(),
        updated_at: String = p.updated_at.to_iso(),
    }
}

/// What the payment page needs to confirm the card with Stripe.js.
#[derive(Object, serde::Serialize, Debug, Clone)]
#[oai(rename = "PaymentIntent", rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct IntentView {
    /// Our payment's id.
    pub payment_id: String,
    /// Stripe's PaymentIntent client secret, for `stripe.confirmCardPayment`.
    pub client_secret: String,
    /// Stripe's publishable key, for `Stripe(key)`.
    pub publishable_key: String,
    pub amount: i64,
    pub fee: i64,
    pub net: i64,
    pub currency: String,
}

/// One calendar month (UTC) of the admins' dashboard.
#[derive(Object, serde::Serialize, Debug, Clone)]
#[oai(rename = "PaymentMonth")]
pub struct MonthTotalsView {
    /// `YYYY-MM`.
    pub month: String,
    /// Succeeded payments created in the month.
    pub payments: u64,
    /// Their amounts.
    pub gross: i64,
    /// The platform's fees on them.
    pub fees: i64,
    /// `gross - fees`.
    pub net: i64,
    /// Refunds made in the month (gross).
    pub refunded: i64,
}
