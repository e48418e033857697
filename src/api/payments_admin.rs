//! The admins' side of payments: the ledger with filters, monthly totals for the dashboard,
//! refunds through Stripe, and marking a project fulfilled once its items are bought.

use chrono::{Datelike, TimeZone, Utc};
use poem_openapi::param::Path;
use poem_openapi::types::Any;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::listing::listed;
use super::owned::found;
use super::payment_views::{MonthTotalsView, PaymentView, ProjectView};
use super::payments::{move_project, stripe, stripe_failed};
use crate::domain::payments::{PaymentStatus, Project, ProjectStatus};
use crate::domain::{Admin, Millis};
use crate::http::auth::{Auth, ById};
use crate::http::input::{QueryText, integer, path_id};
use crate::http::paged::Paged;
use crate::http::{ApiError, ApiResult, Reply, ok};
use crate::store::{PaymentFilter, RefundMade, RefundRecorded};

pub struct PaymentsAdminApi;

#[derive(Object)]
struct RefundBody {
    /// Cents to refund; omitted: all that is left of the payment.
    amount: Option<Any<serde_json::Value>>,
}

fn date_param(field: &str, raw: Option<&str>) -> ApiResult<Option<Millis>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let parsed = chrono::DateTime::parse_from_rfc3339(raw)
        .map(|d| d.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(|d| {
                d.and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
                    .timestamp_millis()
            })
        })
        .map_err(|_| {
            ApiError::field(
                field,
                format!("{field} must be a date (YYYY-MM-DD or ISO 8601)"),
            )
        })?;
    Ok(Some(Millis(parsed)))
}

/// The first instant of the month `back` months before the one `now` is in (UTC).
fn month_start(now: Millis, back: i32) -> Millis {
    let t = now.to_utc();
    let index = t.year() * 12 + t.month0() as i32 - back;
    let (y, m) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    Millis(
        Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
            .single()
            .map(|d| d.timestamp_millis())
            .unwrap_or_default(),
    )
}

#[OpenApi(tag = "ApiTags::Payments")]
impl PaymentsAdminApi {
    /// Every payment, newest first, 10 a page; filters: `project`, `teacher`, `status` and
    /// `from`/`to` (creation date, `to` excluded).
    #[oai(path = "/admin/payments", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        page: Paged<'_, Admin>,
        project: QueryText,
        teacher: QueryText,
        status: QueryText,
        from: QueryText,
        to: QueryText,
    ) -> Reply<Vec<PaymentView>> {
        let id = |field: &str, raw: Option<&str>| {
            raw.map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| path_id(field, r))
                .transpose()
        };
        let status = match status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(PaymentStatus::parse(s).ok_or_else(|| {
                ApiError::field("status", format!("status {s:?} is not a payment status"))
            })?),
        };
        let filter = PaymentFilter {
            project: id("project", project.as_deref())?,
            teacher: id("teacher", teacher.as_deref())?,
            status,
            from: date_param("from", from.as_deref())?,
            to: date_param("to", to.as_deref())?,
        };
        let q = page.query(None);
        let found = page
            .auth
            .state
            .store
            .payments
            .list_payments(&filter, &q)
            .await?;
        listed("Payments retrieved successfully", &q, &found)
    }

    /// Totals by calendar month (UTC) for the dashboard, oldest first: the last `months`
    /// (default 12, at most 36) including the current one. Gross, fees and net count succeeded
    /// payments by creation month; refunded counts refunds by the month they were made.
    #[oai(path = "/admin/payments/totals", method = "get")]
    async fn totals(
        &self,
        auth: Auth<'_, Admin>,
        months: QueryText,
    ) -> Reply<Vec<MonthTotalsView>> {
        let state = auth.state;
        let months = match months.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            None => 12,
            Some(m) => match m.parse::<i32>() {
                Ok(n) if (1..=36).contains(&n) => n,
                _ => return Err(ApiError::field("months", "months must be from 1 to 36")),
            },
        };
        let now = state.clock.now();
        let from = month_start(now, months - 1);
        let to = month_start(now, -1);
        let payments = state.store.payments.succeeded_between(from, to).await?;
        let refunds = state.store.payments.refunds_between(from, to).await?;
        let mut out: Vec<MonthTotalsView> = (0..months)
            .rev()
            .map(|back| MonthTotalsView {
                month: month_start(now, back).to_utc().format("%Y-%m").to_string(),
                payments: 0,
                gross: 0,
                fees: 0,
                net: 0,
                refunded: 0,
            })
            .collect();
        let slot = |at: Millis| {
            let key = at.to_utc().format("%Y-%m").to_string();
            out.iter().position(|m| m.month == key)
        };
        let mut adds = Vec::new();
        for p in &payments {
            if let Some(i) = slot(p.created_at) {
                adds.push((i, 1, p.amount, p.fee, 0));
            }
        }
        for r in &refunds {
            if let Some(i) = slot(r.created_at) {
                adds.push((i, 0, 0, 0, r.amount));
            }
        }
        for (i, n, gross, fee, refunded) in adds {
            let m = &mut out[i];
            m.payments += n;
            m.gross += gross;
            m.fees += fee;
            m.net += gross - fee;
            m.refunded += refunded;
        }
        ok("Payment totals retrieved successfully", out)
    }

    /// Refunds a succeeded payment through Stripe, in full (no `amount`) or in part; the ledger
    /// and the project's `raised` (by the refund's share of the net) change at once, and the
    /// refund webhook that follows changes nothing again.
    #[oai(path = "/admin/payments/:id/refund", method = "post")]
    async fn refund(
        &self,
        auth: Auth<'_, Admin, RefundBody>,
        id: Path<String>,
    ) -> Reply<PaymentView> {
        let state = auth.state;
        let stripe = stripe(state)?;
        let id = path_id("payment", &id)?;
        let payment = state
            .store
            .payments
            .payment(&id)
            .await?
            .ok_or_else(|| ApiError::NotFound("Payment not found.".into()))?;
        if payment.status != PaymentStatus::Succeeded {
            return Err(ApiError::Conflict(format!(
                "Only a succeeded payment can be refunded; this one is {}.",
                payment.status.as_str()
            )));
        }
        let left = payment.amount - payment.refunded;
        if left <= 0 {
            return Err(ApiError::Conflict(
                "This payment is refunded in full already.".into(),
            ));
        }
        let amount = match integer("amount", auth.body.amount.as_ref())? {
            None => left,
            Some(a) if (1..=left).contains(&a) => a,
            Some(_) => {
                return Err(ApiError::field(
                    "amount",
                    format!("amount must be from 1 to {left} (what is left of the payment)"),
                ));
            }
        };
        // The same click twice (same payment, same refunded-so-far, same amount) is one refund.
        let key = format!(
            "educoin-refund-{}-{}-{amount}",
            payment.id, payment.refunded
        );
        let refund = stripe
            .refund(&payment.intent_id, Some(amount), &key)
            .await
            .map_err(stripe_failed)?;
        let made = RefundMade {
            intent_id: payment.intent_id.clone(),
            refund_id: refund.id,
            amount: refund.amount,
        };
        let now = state.clock.now();
        let recorded = state.store.payments.record_refund(&made, now).await?;
        match recorded {
            RefundRecorded::Applied(p) | RefundRecorded::AlreadyApplied(p) => {
                ok("Payment refunded successfully", &p)
            }
            RefundRecorded::Refused | RefundRecorded::NoSuchPayment => Err(ApiError::Conflict(
                "Stripe made the refund but the ledger refused it; check the payment.".into(),
            )),
        }
    }

    /// Marks a funded (or closed) project fulfilled: the platform bought and delivered its items.
    #[oai(path = "/admin/projects/:id/fulfil", method = "post")]
    async fn fulfil(&self, id: ById<'_, Admin, Project>) -> Reply<ProjectView> {
        let ById { auth, id, .. } = id;
        let state = auth.state;
        let project = found::<Project>(state, &id).await?;
        let from = &[ProjectStatus::Funded, ProjectStatus::Closed];
        let refusal = "Only a funded or closed project can be marked fulfilled";
        let done = move_project(state, &project, from, ProjectStatus::Fulfilled, refusal).await?;
        ok("Project marked fulfilled", &done)
    }
}
