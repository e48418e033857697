//! The storage contract of the payments port on both stores (SQLite, MongoDB on jongodb): the
//! ledger and `raised` change together, exactly once, whatever the order or concurrency of the
//! calls (`src/store/{sqlite,mongo}/payments.rs`).

use educoin::domain::payments::{Payment, PaymentStatus, Project, ProjectPatch, ProjectStatus};
use educoin::domain::{Id, Millis};
use educoin::store::{
    ListQuery, PaymentFilter, PaymentHold, PaymentOutcome, RefundMade, RefundRecorded, Store,
    StoreError, StoreResult,
};
use futures_util::future::join_all;

use crate::on_both_stores;
use crate::support::Db;
use crate::support::store::{T0, open_store, stored_teacher, write};

fn project(teacher: &Id, goal: i64) -> Project {
    Project {
        id: Id::generate(),
        teacher: teacher.clone(),
        title: "Books for our reading corner".into(),
        description: "Twenty picture books.".into(),
        class: "2B".into(),
        goal,
        picture: None,
        currency: "usd".into(),
        status: ProjectStatus::Open,
        raised: 0,
        supporters: 0,
        created_at: T0,
        updated_at: T0,
        version: 0,
    }
}

fn payment(p: &Project, amount: i64, fee: i64) -> Payment {
    Payment {
        id: Id::generate(),
        intent_id: format!("pi_{}", Id::generate()),
        project: p.id.clone(),
        teacher: p.teacher.clone(),
        amount,
        fee,
        net: amount - fee,
        currency: "usd".into(),
        status: PaymentStatus::RequiresPaymentMethod,
        supporter_name: Some("Ada".into()),
        message: None,
        refunded: 0,
        created_at: T0,
        updated_at: T0,
    }
}

/// The owner's edit of `p`'s goal at `T0 + at` ms.
async fn set_goal(store: &Store, p: &Project, goal: i64, at: i64) -> StoreResult<Option<Project>> {
    let patch = ProjectPatch {
        goal: Some(goal),
        ..Default::default()
    };
    store
        .payments
        .update_project(write(&p.teacher, &p.id, Millis(T0.0 + at)), &patch)
        .await
}

async fn setup(db: Db, goal: i64) -> (Store, tempfile::TempDir, Project) {
    let (store, dir) = open_store(db).await;
    let teacher = stored_teacher(&store).await;
    let p = project(&teacher, goal);
    store.payments.insert_project(&p).await.unwrap();
    (store, dir, p)
}

fn out(status: PaymentStatus) -> PaymentOutcome {
    PaymentOutcome { status }
}

/// An intent checks its amount against the project as it read it, then holds it at that version
/// before asking Stripe: an edit in between makes the hold fail (stale), and an edit after the
/// hold is refused. The hold keeps the version, so racing intents all pass.
async fn an_intent_holds_the_project_it_checked(db: Db) {
    let (store, _dir, p) = setup(db, 10_000).await;
    let s = &store.payments;
    let read = s.project(&p.id).await.unwrap().unwrap();
    let edited = set_goal(&store, &p, 500, 1).await.unwrap().unwrap();
    assert_eq!(
        s.hold_for_payment(&p.id, read.version).await.unwrap(),
        PaymentHold::Changed,
        "the goal changed under the check"
    );
    assert_eq!(s.project(&p.id).await.unwrap(), Some(edited.clone()));
    let edited = set_goal(&store, &p, 500, 2).await.unwrap().unwrap();
    assert_eq!(
        edited.version,
        read.version + 2,
        "a failed hold wrote nothing"
    );

    let holds = join_all((0..10).map(|_| s.hold_for_payment(&p.id, edited.version))).await;
    assert!(
        holds.iter().all(|h| matches!(h, Ok(PaymentHold::Held))),
        "{holds:?}"
    );
    let err = set_goal(&store, &p, 500, 3).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(s.project(&p.id).await.unwrap(), Some(edited));
    assert_eq!(
        s.hold_for_payment(&Id::generate(), 0).await.unwrap(),
        PaymentHold::Changed,
        "no such project"
    );
}

async fn projects_round_trip_and_edit_only_while_unpaid(db: Db) {
    let (store, _dir, p) = setup(db, 10_000).await;
    let s = &store.payments;
    assert_eq!(s.project(&p.id).await.unwrap(), Some(p.clone()));
    let page = s
        .projects_of(
            &p.teacher,
            &ListQuery {
                page: 1,
                limit: 10,
                search: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let edited = set_goal(&store, &p, 20_000, 1).await.unwrap().unwrap();
    assert_eq!((edited.goal, edited.version), (20_000, 1));
    let patch = ProjectPatch {
        goal: Some(20_000),
        ..Default::default()
    };
    assert_eq!(
        s.update_project(write(&Id::generate(), &p.id, T0), &patch)
            .await
            .unwrap(),
        None,
        "not the owner"
    );

    s.insert_payment(&payment(&p, 1000, 200)).await.unwrap();
    let err = s
        .update_project(write(&p.teacher, &p.id, T0), &patch)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    let closed = s
        .set_project_status(&p.id, &[ProjectStatus::Open], ProjectStatus::Closed, T0)
        .await
        .unwrap();
    assert_eq!(closed.unwrap().status, ProjectStatus::Closed);
    assert_eq!(
        s.set_project_status(&p.id, &[ProjectStatus::Open], ProjectStatus::Closed, T0)
            .await
            .unwrap(),
        None
    );
}

async fn a_duplicate_intent_is_a_conflict(db: Db) {
    let (store, _dir, p) = setup(db, 10_000).await;
    let pay = payment(&p, 1000, 200);
    store.payments.insert_payment(&pay).await.unwrap();
    let mut again = payment(&p, 1000, 200);
    again.intent_id = pay.intent_id.clone();
    let err = store.payments.insert_payment(&again).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        store
            .payments
            .payment_by_intent(&pay.intent_id)
            .await
            .unwrap(),
        Some(pay)
    );
}

async fn racing_successes_credit_once_and_fund_at_the_goal(db: Db) {
    let (store, _dir, p) = setup(db, 1600).await;
    let a = payment(&p, 1000, 200);
    let b = payment(&p, 1000, 200);
    for x in [&a, &b] {
        store.payments.insert_payment(x).await.unwrap();
    }
    let calls = (0..20).map(|i| {
        let store = store.clone();
        let intent = if i % 2 == 0 {
            a.intent_id.clone()
        } else {
            b.intent_id.clone()
        };
        async move {
            store
                .payments
                .settle(&intent, out(PaymentStatus::Succeeded), Millis(T0.0 + 5))
                .await
                .unwrap()
        }
    });
    let results = join_all(calls).await;
    assert_eq!(
        results.iter().filter(|r| r.newly_succeeded).count(),
        2,
        "one winner per payment"
    );
    let after = store.payments.project(&p.id).await.unwrap().unwrap();
    assert_eq!((after.raised, after.supporters), (1600, 2));
    assert_eq!(after.status, ProjectStatus::Funded);
}

async fn late_or_reordered_outcomes_never_undo_a_success(db: Db) {
    let (store, _dir, p) = setup(db, 10_000).await;
    let s = &store.payments;
    let pay = payment(&p, 1000, 200);
    s.insert_payment(&pay).await.unwrap();
    // Reverse order: the failure Stripe sent first arrives after the success.
    s.settle(&pay.intent_id, out(PaymentStatus::Failed), T0)
        .await
        .unwrap();
    let won = s
        .settle(&pay.intent_id, out(PaymentStatus::Succeeded), T0)
        .await
        .unwrap();
    assert!(won.newly_succeeded);
    for late in [
        PaymentStatus::Failed,
        PaymentStatus::Canceled,
        PaymentStatus::Processing,
        PaymentStatus::Succeeded,
    ] {
        let r = s.settle(&pay.intent_id, out(late), T0).await.unwrap();
        assert!(!r.newly_succeeded);
        assert_eq!(r.payment.unwrap().status, PaymentStatus::Succeeded);
    }
    assert_eq!(s.project(&p.id).await.unwrap().unwrap().raised, 800);
    // Canceled is final too.
    let other = payment(&p, 500, 100);
    s.insert_payment(&other).await.unwrap();
    s.settle(&other.intent_id, out(PaymentStatus::Canceled), T0)
        .await
        .unwrap();
    let r = s
        .settle(&other.intent_id, out(PaymentStatus::Succeeded), T0)
        .await
        .unwrap();
    assert!(!r.newly_succeeded);
    assert_eq!(s.project(&p.id).await.unwrap().unwrap().raised, 800);
    assert_eq!(
        s.settle("pi_unknown", out(PaymentStatus::Succeeded), T0)
            .await
            .unwrap()
            .payment,
        None
    );
}

async fn refunds_apply_once_and_add_up_to_the_net(db: Db) {
    let (store, _dir, p) = setup(db, 100_000).await;
    let s = &store.payments;
    let pay = payment(&p, 1003, 201);
    s.insert_payment(&pay).await.unwrap();
    assert_eq!(
        s.record_refund(&refund(&pay.intent_id, "re_early", 100), T0)
            .await
            .unwrap(),
        RefundRecorded::Refused,
        "not succeeded yet"
    );
    s.settle(&pay.intent_id, out(PaymentStatus::Succeeded), T0)
        .await
        .unwrap();
    assert_eq!(s.project(&p.id).await.unwrap().unwrap().raised, 802);

    // The same refund id from 10 concurrent callers (the admin route and its webhook) applies once.
    let calls = (0..10).map(|_| {
        let store = store.clone();
        let intent = pay.intent_id.clone();
        async move {
            store
                .payments
                .record_refund(&refund(&intent, "re_one", 333), Millis(T0.0 + 1))
                .await
                .unwrap()
        }
    });
    let results = join_all(calls).await;
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, RefundRecorded::Applied(_)))
            .count(),
        1
    );
    let after = s.payment_by_intent(&pay.intent_id).await.unwrap().unwrap();
    assert_eq!(after.refunded, 333);
    assert_eq!(
        s.record_refund(&refund(&pay.intent_id, "re_big", 671), T0)
            .await
            .unwrap(),
        RefundRecorded::Refused,
        "more than is left"
    );
    assert!(matches!(
        s.record_refund(&refund(&pay.intent_id, "re_two", 670), Millis(T0.0 + 2))
            .await
            .unwrap(),
        RefundRecorded::Applied(_)
    ));
    let project = s.project(&p.id).await.unwrap().unwrap();
    assert_eq!(
        project.raised, 0,
        "a whole refund in parts takes back exactly the net"
    );
    let refunds = s.refunds_between(T0, Millis(T0.0 + 10)).await.unwrap();
    assert_eq!(refunds.iter().map(|r| r.amount).sum::<i64>(), 1003);
    assert_eq!(refunds.iter().map(|r| r.net).sum::<i64>(), 802);
    assert_eq!(
        s.record_refund(&refund("pi_unknown", "re_x", 1), T0)
            .await
            .unwrap(),
        RefundRecorded::NoSuchPayment
    );
}

async fn events_are_marked_once_and_lists_filter(db: Db) {
    let (store, _dir, p) = setup(db, 100_000).await;
    let s = &store.payments;
    assert!(!s.event_seen("evt_1").await.unwrap());
    let marks = join_all((0..10).map(|_| {
        let store = store.clone();
        async move {
            store
                .payments
                .mark_event("evt_1", "payment_intent.succeeded", T0)
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(marks.iter().filter(|m| **m).count(), 1);
    assert!(s.event_seen("evt_1").await.unwrap());

    let a = payment(&p, 1000, 200);
    let mut b = payment(&p, 2000, 400);
    b.created_at = Millis(T0.0 + 10);
    b.updated_at = Millis(T0.0 + 10);
    s.insert_payment(&a).await.unwrap();
    s.insert_payment(&b).await.unwrap();
    s.settle(&a.intent_id, out(PaymentStatus::Succeeded), T0)
        .await
        .unwrap();
    let q = ListQuery {
        page: 1,
        limit: 10,
        search: None,
    };
    let all = s
        .list_payments(&PaymentFilter::default(), &q)
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|x| x.amount).collect::<Vec<_>>(),
        vec![2000, 1000],
        "newest first"
    );
    let ok = PaymentFilter {
        status: Some(PaymentStatus::Succeeded),
        ..Default::default()
    };
    assert_eq!(s.list_payments(&ok, &q).await.unwrap().total, 1);
    let late = PaymentFilter {
        from: Some(Millis(T0.0 + 5)),
        project: Some(p.id.clone()),
        ..Default::default()
    };
    assert_eq!(
        s.list_payments(&late, &q).await.unwrap().items[0].amount,
        2000
    );
    assert_eq!(
        s.succeeded_between(T0, Millis(T0.0 + 100))
            .await
            .unwrap()
            .len(),
        1
    );
    // Pending ones not updated since `before`; a fresh look stamps them.
    let stale = s.stale_pending(Millis(T0.0 + 100), 10).await.unwrap();
    assert_eq!(
        stale.iter().map(|x| x.amount).collect::<Vec<_>>(),
        vec![2000]
    );
    s.settle(
        &b.intent_id,
        out(PaymentStatus::RequiresPaymentMethod),
        Millis(T0.0 + 200),
    )
    .await
    .unwrap();
    assert!(
        s.stale_pending(Millis(T0.0 + 100), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

on_both_stores!(
    an_intent_holds_the_project_it_checked,
    projects_round_trip_and_edit_only_while_unpaid,
    a_duplicate_intent_is_a_conflict,
    racing_successes_credit_once_and_fund_at_the_goal,
    late_or_reordered_outcomes_never_undo_a_success,
    refunds_apply_once_and_add_up_to_the_net,
    events_are_marked_once_and_lists_filter,
);

fn refund(intent_id: &str, refund_id: &str, amount: i64) -> RefundMade {
    RefundMade {
        intent_id: intent_id.into(),
        refund_id: refund_id.into(),
        amount,
    }
}
