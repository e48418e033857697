//! Projects, payments and processed Stripe events on SQLite: every change to the ledger and to a
//! project's `raised` happens in one transaction, gated on the payment's status.

use rusqlite::{OptionalExtension, ToSql, Transaction, params};

use super::{Cached, Db, Table, table};
use crate::domain::payments::{
    Payment, PaymentStatus, Project, ProjectPatch, ProjectStatus, Refund, net_kept,
};
use crate::domain::{Id, Millis};
use crate::store::{
    ListQuery, OwnerWrite, Page, PaymentFilter, PaymentHold, PaymentOutcome, Payments, RefundMade,
    RefundRecorded, Settled, StoreError, StoreResult,
};

table!(PROJECTS: Project = "projects" (
    "id, teacher, title, description, class, goal, picture, currency, status, raised, supporters, created_at, updated_at, version",
    id, teacher, title, description, class, goal, picture, currency, status, raised, supporters,
    created_at, updated_at, version
));

table!(PAYMENTS: Payment = "payments" (
    "id, intent_id, project, teacher, amount, fee, net, currency, status, supporter_name, message, refunded, created_at, updated_at",
    id, intent_id, project, teacher, amount, fee, net, currency, status, supporter_name, message,
    refunded, created_at, updated_at
));

table!(REFUNDS: Refund = "payment_refunds" (
    "id, payment, amount, net, created_at",
    id, payment, amount, net, created_at
));

pub(super) struct SqlitePayments {
    pub(super) db: Db,
}

/// Adds a succeeded payment's net to its project and funds the project at its goal.
fn credit(tx: &Transaction<'_>, p: &Payment, now: Millis) -> rusqlite::Result<()> {
    tx.exec(
        "UPDATE projects SET raised = raised + ?2, supporters = supporters + 1, \
         status = CASE WHEN status = 'open' AND raised + ?2 >= goal THEN 'funded' ELSE status END, \
         updated_at = ?3 WHERE id = ?1",
        params![p.project, p.net, now],
    )?;
    Ok(())
}

/// The rows of `table` created in `[from, to)` (and matching `also`, a condition ending in `AND`),
/// oldest first: the months of the admins' totals.
async fn created_between<T: Send + 'static>(
    db: &Db,
    op: &'static str,
    table: &'static Table<T>,
    also: &'static str,
    from: Millis,
    to: Millis,
) -> StoreResult<Vec<T>> {
    db.scan(op, move |c| {
        let filter = format!("{also}created_at >= ?1 AND created_at < ?2");
        table.list(c, &filter, &[&from, &to], "ORDER BY created_at")
    })
    .await
}

#[async_trait::async_trait]
impl Payments for SqlitePayments {
    async fn insert_project(&self, project: &Project) -> StoreResult<()> {
        PROJECTS.insert(&self.db, "projects.insert", project).await
    }

    async fn project(&self, id: &Id) -> StoreResult<Option<Project>> {
        PROJECTS.by_id(&self.db, "projects.by_id", id).await
    }

    async fn projects_of(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Project>> {
        let (teacher, q) = (teacher.clone(), q.clone());
        self.db
            .scan("projects.of", move |c| {
                PROJECTS.page(c, "teacher = ?1", &[&teacher], &q)
            })
            .await
    }

    async fn update_project(
        &self,
        write: OwnerWrite<'_>,
        patch: &ProjectPatch,
    ) -> StoreResult<Option<Project>> {
        let (teacher, id, now) = (write.owner.clone(), write.id.clone(), write.now);
        let patch = patch.clone();
        let result = self
            .db
            .write("projects.update", move |c| {
                let tx = c.transaction()?;
                let Some(found) = PROJECTS.find(&tx, "id", &id)? else {
                    return Ok(None);
                };
                if found.teacher != teacher {
                    return Ok(None);
                }
                let changed = tx.exec(
                    "UPDATE projects SET title = COALESCE(?2, title), \
                     description = COALESCE(?3, description), class = COALESCE(?4, class), \
                     goal = COALESCE(?5, goal), picture = COALESCE(?6, picture), \
                     updated_at = ?7, version = version + 1 \
                     WHERE id = ?1 AND status = 'open' AND payment_started = 0 \
                     AND NOT EXISTS (SELECT 1 FROM payments WHERE project = ?1)",
                    params![
                        id,
                        patch.title,
                        patch.description,
                        patch.class,
                        patch.goal,
                        patch.picture,
                        now
                    ],
                )?;
                let after = PROJECTS.find(&tx, "id", &id)?;
                tx.commit()?;
                Ok(Some((changed > 0, after)))
            })
            .await?;
        match result {
            None => Ok(None),
            Some((true, after)) => Ok(after),
            Some((false, _)) => Err(StoreError::Conflict {
                entity: "a project",
                field: "payments",
            }),
        }
    }

    async fn hold_for_payment(&self, id: &Id, version: i64) -> StoreResult<PaymentHold> {
        let id = id.clone();
        let changed = self
            .db
            .write("projects.hold_for_payment", move |c| {
                c.execute(
                    "UPDATE projects SET payment_started = 1 WHERE id = ?1 AND version = ?2",
                    params![id, version],
                )
            })
            .await?;
        Ok(if changed == 1 {
            PaymentHold::Held
        } else {
            PaymentHold::Changed
        })
    }

    async fn set_project_status(
        &self,
        id: &Id,
        from: &[ProjectStatus],
        to: ProjectStatus,
        now: Millis,
    ) -> StoreResult<Option<Project>> {
        let names: Vec<String> = from.iter().map(|s| format!("\"{}\"", s.as_str())).collect();
        let from = format!("[{}]", names.join(","));
        PROJECTS
            .update(
                &self.db,
                "projects.set_status",
                "UPDATE projects SET status = ?2, updated_at = ?3, version = version + 1 \
                 WHERE id = ?1 AND status IN (SELECT value FROM json_each(?4))"
                    .to_owned(),
                vec![
                    Box::new(id.clone()),
                    Box::new(to),
                    Box::new(now),
                    Box::new(from),
                ],
            )
            .await
    }

    async fn insert_payment(&self, payment: &Payment) -> StoreResult<()> {
        PAYMENTS.insert(&self.db, "payments.insert", payment).await
    }

    async fn payment(&self, id: &Id) -> StoreResult<Option<Payment>> {
        PAYMENTS.by_id(&self.db, "payments.by_id", id).await
    }

    async fn payment_by_intent(&self, intent_id: &str) -> StoreResult<Option<Payment>> {
        PAYMENTS
            .by(&self.db, "payments.by_intent", "intent_id", intent_id)
            .await
    }

    async fn list_payments(
        &self,
        filter: &PaymentFilter,
        q: &ListQuery,
    ) -> StoreResult<Page<Payment>> {
        let (f, q) = (filter.clone(), q.clone());
        self.db
            .scan("payments.list", move |c| {
                let mut clauses = vec!["1 = 1".to_owned()];
                let mut args: Vec<Box<dyn ToSql>> = Vec::new();
                let mut add = |clause: &str, value: Box<dyn ToSql>| {
                    args.push(value);
                    clauses.push(clause.replace('?', &format!("?{}", args.len())));
                };
                if let Some(p) = f.project {
                    add("project = ?", Box::new(p));
                }
                if let Some(t) = f.teacher {
                    add("teacher = ?", Box::new(t));
                }
                if let Some(s) = f.status {
                    add("status = ?", Box::new(s));
                }
                if let Some(from) = f.from {
                    add("created_at >= ?", Box::new(from));
                }
                if let Some(to) = f.to {
                    add("created_at < ?", Box::new(to));
                }
                let bound: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
                PAYMENTS.page(c, &clauses.join(" AND "), &bound, &q)
            })
            .await
    }

    async fn settle(
        &self,
        intent_id: &str,
        outcome: PaymentOutcome,
        now: Millis,
    ) -> StoreResult<Settled> {
        let intent_id = intent_id.to_owned();
        self.db
            .write("payments.settle", move |c| {
                let tx = c.transaction()?;
                let Some(before) = PAYMENTS.find(&tx, "intent_id", &intent_id)? else {
                    return Ok(Settled {
                        payment: None,
                        newly_succeeded: false,
                    });
                };
                // Final states never change. The same pending state again is a fresh look (the
                // reconciliation job then waits its delay before the next one).
                if before.status.is_final() || before.status == outcome.status {
                    if !before.status.is_final() {
                        tx.exec(
                            "UPDATE payments SET updated_at = ?2 WHERE id = ?1",
                            params![before.id, now],
                        )?;
                        tx.commit()?;
                    }
                    return Ok(Settled {
                        payment: Some(before),
                        newly_succeeded: false,
                    });
                }
                tx.exec(
                    "UPDATE payments SET status = ?2, updated_at = ?3 WHERE id = ?1",
                    params![before.id, outcome.status, now],
                )?;
                let newly_succeeded = outcome.status == PaymentStatus::Succeeded;
                if newly_succeeded {
                    credit(&tx, &before, now)?;
                }
                let after = PAYMENTS.find(&tx, "id", &before.id)?;
                tx.commit()?;
                Ok(Settled {
                    payment: after,
                    newly_succeeded,
                })
            })
            .await
    }

    async fn record_refund(&self, refund: &RefundMade, now: Millis) -> StoreResult<RefundRecorded> {
        let (intent_id, refund_id, amount) = (
            refund.intent_id.clone(),
            refund.refund_id.clone(),
            refund.amount,
        );
        self.db
            .write("payments.refund", move |c| {
                let tx = c.transaction()?;
                let Some(p) = PAYMENTS.find(&tx, "intent_id", &intent_id)? else {
                    return Ok(RefundRecorded::NoSuchPayment);
                };
                let seen: Option<String> = tx
                    .one(
                        "SELECT id FROM payment_refunds WHERE id = ?1",
                        [&refund_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if seen.is_some() {
                    return Ok(RefundRecorded::AlreadyApplied(p));
                }
                if p.status != PaymentStatus::Succeeded
                    || amount <= 0
                    || p.refunded + amount > p.amount
                {
                    return Ok(RefundRecorded::Refused);
                }
                let net = net_kept(p.amount, p.net, p.refunded)
                    - net_kept(p.amount, p.net, p.refunded + amount);
                REFUNDS.insert_with(
                    &tx,
                    &Refund {
                        id: refund_id,
                        payment: p.id.clone(),
                        amount,
                        net,
                        created_at: now,
                    },
                )?;
                tx.exec(
                    "UPDATE payments SET refunded = refunded + ?2, updated_at = ?3 WHERE id = ?1",
                    params![p.id, amount, now],
                )?;
                tx.exec(
                    "UPDATE projects SET raised = raised - ?2, updated_at = ?3 WHERE id = ?1",
                    params![p.project, net, now],
                )?;
                let after = PAYMENTS.find(&tx, "id", &p.id)?;
                tx.commit()?;
                Ok(after.map_or(RefundRecorded::NoSuchPayment, RefundRecorded::Applied))
            })
            .await
    }

    async fn refunds_between(&self, from: Millis, to: Millis) -> StoreResult<Vec<Refund>> {
        let op = "payments.refunds_between";
        created_between(&self.db, op, &REFUNDS, "", from, to).await
    }

    async fn succeeded_between(&self, from: Millis, to: Millis) -> StoreResult<Vec<Payment>> {
        let op = "payments.succeeded_between";
        let succeeded = "status = 'succeeded' AND ";
        created_between(&self.db, op, &PAYMENTS, succeeded, from, to).await
    }

    async fn stale_pending(&self, before: Millis, limit: u64) -> StoreResult<Vec<Payment>> {
        let pending = serde_json::to_string(&PaymentStatus::pending_names()).unwrap_or_default();
        let limit = limit as i64;
        self.db
            .scan("payments.stale_pending", move |c| {
                PAYMENTS.list(
                    c,
                    "status IN (SELECT value FROM json_each(?1)) AND updated_at < ?2",
                    &[&pending, &before, &limit],
                    "ORDER BY updated_at LIMIT ?3",
                )
            })
            .await
    }

    async fn mark_event(&self, event_id: &str, kind: &str, now: Millis) -> StoreResult<bool> {
        let sql =
            "INSERT OR IGNORE INTO stripe_events (id, type, processed_at) VALUES (?1, ?2, ?3)";
        let params = (event_id.to_owned(), kind.to_owned(), now);
        Ok(self.db.execute("payments.mark_event", sql, params).await? > 0)
    }

    async fn event_seen(&self, event_id: &str) -> StoreResult<bool> {
        let event_id = event_id.to_owned();
        self.db
            .read("payments.event_seen", |c| {
                c.one(
                    "SELECT COUNT(*) FROM stripe_events WHERE id = ?1",
                    [&event_id],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n > 0)
            })
            .await
    }
}
