//! Classroom projects and payments toward them (docs/decisions.md, "Payments"). Teachers publish
//! projects; anyone with the link pays by card through Stripe (the card goes from the page to
//! Stripe, never here); the platform keeps `PLATFORM_FEE_PERCENTAGE` of each payment, rounded
//! half-up to the smallest unit, and the rest counts toward the goal.

use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::types::Any;
use poem_openapi::{Object, OpenApi};
use sha2::{Digest, Sha256};

use super::ApiTags;
use super::listing::listed;
use super::owned::{by_path, created_or_winner, found, not_found, teacher_page};
use super::payment_views::{IntentView, ProjectView, PublicProjectView, SupporterPaymentView};
use super::sessions::caller_ip;
use crate::auth::limits::{Key, address_bucket};
use crate::domain::payments::{
    AmountRefused, Payment, PaymentStatus, Project, ProjectDescription, ProjectPatch,
    ProjectStatus, ProjectTitle, SupporterMessage, SupporterName, check_amount, fee_for,
    most_accepted, plain_text,
};
use crate::domain::text::Bounded;
use crate::domain::{Id, ImageRef, Name, Teacher};
use crate::http::auth::{Auth, ById, Public};
use crate::http::fields::{Required, Text};
use crate::http::input::{QueryText, integer, list_query, parse, parse_optional, path_id, refused};
use crate::http::paged::Paged;
use crate::http::{ApiError, ApiResult, Reply, ok};
use crate::payments::stripe::{StripeClient, StripeError};
use crate::state::AppState;
use crate::store::{ListQuery, OwnerWrite, PaymentFilter, PaymentHold, StoreError};

pub struct PaymentsApi;

/// The most a goal may be: Stripe's largest amount (8 digits).
const MAX_GOAL: i64 = 99_999_999;

#[derive(Object)]
struct ProjectBody {
    /// At most 120 characters.
    title: Required<Text>,
    /// At most 5000 characters.
    description: Required<Text>,
    /// The class it is for (a name, at most 100 characters).
    class: Required<Text>,
    /// In the smallest unit of the currency (cents), 1 to 99999999.
    goal: Required<Any<serde_json::Value>>,
    /// An image path or http(s) URL.
    picture: Option<Text>,
}

#[derive(Object)]
struct ProjectPatchBody {
    title: Option<Text>,
    description: Option<Text>,
    class: Option<Text>,
    goal: Option<Any<serde_json::Value>>,
    picture: Option<Text>,
}

#[derive(Object)]
struct IntentBody {
    /// In the smallest unit (cents): a whole number from MINIMUM_PAYMENT_AMOUNT to
    /// MAXIMUM_PAYMENT_AMOUNT, and at most what reaches the goal with the fee.
    amount: Required<Any<serde_json::Value>>,
    /// Shown to the teacher; plain text, at most 60 characters.
    #[oai(rename = "supporterName")]
    supporter_name: Option<Text>,
    /// Shown to the teacher; plain text, at most 500 characters.
    message: Option<Text>,
}

/// 503 naming the settings when Stripe is not configured.
pub(crate) fn stripe(state: &AppState) -> ApiResult<&StripeClient> {
    state.stripe.as_deref().ok_or_else(|| {
        ApiError::NotConfigured(
            "Payments are not configured on this server: set STRIPE_SECRET_KEY, \
             STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET."
                .into(),
        )
    })
}

pub(crate) fn stripe_failed(e: StripeError) -> ApiError {
    match e {
        StripeError::Unavailable(detail) => ApiError::Unavailable(format!("stripe: {detail}")),
        StripeError::Refused { status, message } => {
            tracing::warn!(status, %message, "Stripe refused a request");
            if status == 400 && message.contains("dempoten") {
                ApiError::Conflict(
                    "This Idempotency-Key was already used with a different request.".into(),
                )
            } else {
                ApiError::Unavailable(format!("stripe refused ({status}): {message}"))
            }
        }
    }
}

fn goal(value: Option<&Any<serde_json::Value>>) -> ApiResult<Option<i64>> {
    match integer("goal", value)? {
        Some(g) if !(1..=MAX_GOAL).contains(&g) => Err(ApiError::field(
            "goal",
            format!("goal must be from 1 to {MAX_GOAL} (in cents)"),
        )),
        other => Ok(other),
    }
}

/// Stripe's idempotency key for a supporter's intent: the client's key bound to the project, so
/// one key can never create intents for two projects, and our key space is never the client's.
fn intent_key(project: &Id, client_key: &str) -> String {
    let digest = Sha256::digest(format!("educoin-intent\0{project}\0{client_key}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stripe's publishable key for Stripe.js, when payments are configured.
fn publishable_key(state: &AppState) -> Option<String> {
    let stripe = state.config.stripe.as_ref();
    stripe.map(|s| s.publishable_key.clone())
}

/// A supporter's optional free text (`supporterName`, `message`): blank means not given.
fn supporter_text<const MAX: usize>(
    field: &str,
    value: Option<&str>,
    multiline: bool,
) -> ApiResult<Option<Bounded<MAX>>> {
    value
        .filter(|s| !s.trim().is_empty())
        .map(|s| plain_text::<MAX>(s, multiline))
        .transpose()
        .map_err(|why| refused(field, why))
}

/// Moves a project to `to` from one of `from`, now; 409 ("`refusal`; this one is …") from any
/// other status.
pub(crate) async fn move_project(
    state: &AppState,
    project: &Project,
    from: &[ProjectStatus],
    to: ProjectStatus,
    refusal: &str,
) -> ApiResult<Project> {
    let payments = &state.store.payments;
    let now = state.clock.now();
    payments
        .set_project_status(&project.id, from, to, now)
        .await?
        .ok_or_else(|| {
            let status = project.status.as_str();
            ApiError::Conflict(format!("{refusal}; this one is {status}."))
        })
}

fn idempotency_key(raw: Option<&str>) -> ApiResult<String> {
    let field = "Idempotency-Key";
    let key = raw.map(str::trim).unwrap_or_default();
    if key.is_empty() {
        return Err(ApiError::field(
            field,
            "The Idempotency-Key header is required (a random value per payment attempt).",
        ));
    }
    if key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::field(
            field,
            "Idempotency-Key must be at most 255 printable ASCII characters.",
        ));
    }
    Ok(key.to_owned())
}

fn amount_refused(why: AmountRefused, currency: &str) -> ApiError {
    let money = |a: i64| crate::payments::ledger::money(a, currency);
    match why {
        AmountRefused::NotOpen(status) => ApiError::Conflict(match status {
            ProjectStatus::Funded => {
                "This project is fully funded and takes no more payments.".into()
            }
            ProjectStatus::Closed => "This project is closed and takes no more payments.".into(),
            _ => "This project is completed and takes no more payments.".into(),
        }),
        AmountRefused::TooSmall { min } => ApiError::field(
            "amount",
            format!("amount must be at least {min} ({})", money(min)),
        ),
        AmountRefused::TooLarge { max } => ApiError::field(
            "amount",
            format!("amount must be at most {max} ({})", money(max)),
        ),
        AmountRefused::OverFunding { most } => ApiError::field(
            "amount",
            format!(
                "amount must be at most {most} ({}): that reaches the project's goal",
                money(most)
            ),
        ),
    }
}

#[OpenApi(tag = "ApiTags::Payments")]
impl PaymentsApi {
    /// A teacher publishes a classroom project with a goal (cents); it is `open` at once.
    #[oai(path = "/project", method = "post")]
    async fn create(&self, auth: Auth<'_, Teacher, ProjectBody>) -> Reply<ProjectView> {
        let (state, body) = (auth.state, &auth.body);
        let title: ProjectTitle = parse("title", body.title.as_deref())?;
        let description: ProjectDescription = parse("description", body.description.as_deref())?;
        let class: Name = parse("class", body.class.as_deref())?;
        let goal =
            goal(body.goal.as_ref())?.ok_or_else(|| ApiError::field("goal", "goal is required"))?;
        let picture = parse_optional::<ImageRef>("picture", body.picture.as_deref())?;
        let now = state.clock.now();
        let project = Project {
            id: Id::generate(),
            teacher: auth.who.id.clone(),
            title: title.into_inner(),
            description: description.into_inner(),
            class: class.into_inner(),
            goal,
            picture: picture.map(String::from),
            currency: state.config.payments.currency.clone(),
            status: ProjectStatus::Open,
            raised: 0,
            supporters: 0,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        state.store.payments.insert_project(&project).await?;
        ok("Project created successfully", &project)
    }

    /// The teacher's projects with `raised`, `goal`, `supporters` and `status`, newest first.
    #[oai(path = "/project", method = "get")]
    async fn list(&self, page: Paged<'_, Teacher>) -> Reply<Vec<ProjectView>> {
        let q = page.query(None);
        teacher_page::<Project, _>(&page.auth, &q, "Projects retrieved successfully").await
    }

    /// Edits an open project while it has no payment (not even an unfinished one): 409 after.
    #[oai(path = "/project/:id", method = "patch")]
    async fn update(&self, id: ById<'_, Teacher, Project, ProjectPatchBody>) -> Reply<ProjectView> {
        let ById { auth, id, .. } = id;
        let (state, body) = (auth.state, &auth.body);
        let patch = ProjectPatch {
            title: parse_optional::<ProjectTitle>("title", body.title.as_deref())?
                .map(|t| t.into_inner()),
            description: parse_optional::<ProjectDescription>(
                "description",
                body.description.as_deref(),
            )?
            .map(|t| t.into_inner()),
            class: parse_optional::<Name>("class", body.class.as_deref())?.map(String::from),
            goal: goal(body.goal.as_ref())?,
            picture: parse_optional::<ImageRef>("picture", body.picture.as_deref())?
                .map(String::from),
        };
        let write = OwnerWrite {
            owner: &auth.who.id,
            id: &id,
            now: state.clock.now(),
        };
        let updated = match state.store.payments.update_project(write, &patch).await {
            Ok(found) => found.ok_or_else(not_found::<Project>)?,
            Err(StoreError::Conflict { .. }) => {
                return Err(ApiError::Conflict(
                    "A project can be edited only while it is open and has no payments.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        ok("Project updated successfully", &updated)
    }

    /// Closes an open project: it takes no more payments (what it raised stays).
    #[oai(path = "/project/:id/close", method = "post")]
    async fn close(&self, id: ById<'_, Teacher, Project>) -> Reply<ProjectView> {
        let state = id.auth.state;
        let project = by_path(&id).await?;
        let (from, to) = (&[ProjectStatus::Open], ProjectStatus::Closed);
        let refusal = "Only an open project can be closed";
        let closed = move_project(state, &project, from, to, refusal).await?;
        ok("Project closed successfully", &closed)
    }

    /// The succeeded payments of one of the teacher's projects: the supporter's display name and
    /// message, the amount and the date (never card details: the server never has them).
    #[oai(path = "/project/:id/payments", method = "get")]
    async fn payments(
        &self,
        id: ById<'_, Teacher, Project>,
        page: QueryText,
    ) -> Reply<Vec<SupporterPaymentView>> {
        let state = id.auth.state;
        let project = by_path(&id).await?;
        let q: ListQuery = list_query(page.as_deref(), None);
        let filter = PaymentFilter {
            project: Some(project.id),
            status: Some(PaymentStatus::Succeeded),
            ..PaymentFilter::default()
        };
        let found = state.store.payments.list_payments(&filter, &q).await?;
        listed("Payments retrieved successfully", &q, &found)
    }

    /// A project's public view (no account needed), with the bounds of a payment toward it.
    #[oai(path = "/fund/:id", method = "get")]
    async fn public_view(
        &self,
        state: Data<&AppState>,
        id: Path<String>,
    ) -> Reply<PublicProjectView> {
        let p = found::<Project>(&state, &path_id("project", &id)?).await?;
        let policy = &state.config.payments;
        let max = (policy.maximum_amount as i64)
            .min(most_accepted(p.remaining(), policy.fee_basis_points));
        ok(
            "Project retrieved successfully",
            PublicProjectView {
                id: p.id.to_string(),
                title: p.title.clone(),
                description: p.description.clone(),
                class: p.class.clone(),
                goal: p.goal,
                raised: p.raised,
                supporters: p.supporters,
                status: p.status.as_str().to_owned(),
                picture: p.picture.clone(),
                currency: p.currency.clone(),
                min_amount: policy.minimum_amount as i64,
                max_amount: if p.status == ProjectStatus::Open {
                    max
                } else {
                    0
                },
                fee_fraction: policy.fee_basis_points as f64 / 10_000.0,
                publishable_key: publishable_key(&state),
            },
        )
    }

    /// Starts a card payment toward an open project (no account needed). Answers Stripe's
    /// `clientSecret` and the `publishableKey` for Stripe.js, which takes the card. The amount
    /// (cents) must be within MINIMUM..MAXIMUM_PAYMENT_AMOUNT and at most what reaches the goal
    /// with the platform's fee; a closed, funded or fulfilled project is 409, and so is a project
    /// edited while the intent was being checked (nothing is recorded; try again). The same
    /// `Idempotency-Key` returns the same PaymentIntent at Stripe. Limited per address and per
    /// project (429).
    #[oai(path = "/fund/:id/payment-intent", method = "post")]
    async fn create_intent(
        &self,
        id: Path<String>,
        #[oai(name = "Idempotency-Key")] idempotency: Header<Option<String>>,
        call: Public<'_, IntentBody>,
    ) -> Reply<IntentView> {
        let Public { state, req, body } = call;
        let stripe = stripe(state)?;
        let project_id = path_id("project", &id)?;
        let client_key = idempotency_key(idempotency.as_deref())?;
        let amount = integer("amount", body.amount.as_ref())?
            .ok_or_else(|| ApiError::field("amount", "amount is required"))?;
        let name = body.supporter_name.as_deref();
        let supporter_name =
            supporter_text::<{ SupporterName::MAX }>("supporterName", name, false)?;
        let message = body.message.as_deref();
        let message = supporter_text::<{ SupporterMessage::MAX }>("message", message, true)?;
        let project = found::<Project>(state, &project_id).await?;
        let policy = &state.config.payments;
        check_amount(
            &project,
            amount,
            policy.minimum_amount as i64,
            policy.maximum_amount as i64,
            policy.fee_basis_points,
        )
        .map_err(|why| amount_refused(why, &project.currency))?;
        // Counted once the request is valid (so typos do not spend it), before the project is held (a
        // limited caller holds nothing) and before Stripe is asked.
        // A reservation kept as spent (`failed`) is a count that an attempt refused on one key
        // gives back on the others: one address hammering a project cannot spend its budget.
        let ip = caller_ip(state, req);
        state
            .auth
            .limits
            .reserve(&[
                Key::PaymentAddress(address_bucket(ip)),
                Key::PaymentProject(project.id.to_string()),
            ])
            .await?
            .failed();
        // The amount was checked against the project as read; an edit landing before the payment
        // is recorded would change the goal under it. The mark holds the project as it was read
        // (edits are refused from now on), or tells that it changed since.
        match state
            .store
            .payments
            .hold_for_payment(&project.id, project.version)
            .await?
        {
            PaymentHold::Held => {}
            PaymentHold::Changed => {
                return Err(ApiError::Conflict(
                    "The project changed while this payment was being prepared; reload it and try again."
                        .into(),
                ));
            }
        }
        let intent = stripe
            .create_payment_intent(
                amount,
                &project.currency,
                &project.id.to_string(),
                &intent_key(&project.id, &client_key),
            )
            .await
            .map_err(stripe_failed)?;
        let client_secret = intent.client_secret.clone().ok_or_else(|| {
            ApiError::Unavailable("stripe: the PaymentIntent has no client_secret".into())
        })?;
        let fee = fee_for(amount, policy.fee_basis_points);
        let now = state.clock.now();
        let payment = Payment {
            id: Id::generate(),
            intent_id: intent.id.clone(),
            project: project.id.clone(),
            teacher: project.teacher.clone(),
            amount,
            fee,
            net: amount - fee,
            currency: project.currency.clone(),
            status: PaymentStatus::parse(&intent.status)
                .unwrap_or(PaymentStatus::RequiresPaymentMethod),
            supporter_name: supporter_name.map(|s| s.into_inner()),
            message: message.map(|s| s.into_inner()),
            refunded: 0,
            created_at: now,
            updated_at: now,
        };
        let inserted = state.store.payments.insert_payment(&payment).await;
        // The same key again: Stripe answered the same intent, which is recorded already.
        let winner = state.store.payments.payment_by_intent(&intent.id);
        let payment =
            created_or_winner(inserted, payment, winner, "recorded intent vanished").await?;
        let publishable_key = publishable_key(state).unwrap_or_default();
        ok(
            "Payment started: confirm the card with Stripe.js",
            IntentView {
                payment_id: payment.id.to_string(),
                client_secret,
                publishable_key,
                amount: payment.amount,
                fee: payment.fee,
                net: payment.net,
                currency: payment.currency,
            },
        )
    }
}
