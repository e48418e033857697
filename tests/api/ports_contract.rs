//! The storage contract of the ports that had none (`src/store/ports/`): refresh tokens, task
//! and reward assignments, notifications. The real adapters (SQLite, MongoDB on jongodb), the same
//! assertions for both.

use educoin::domain::assignment::{
    ClaimRefused, RewardAssignment, RewardStatus, TaskAssignment, TaskStatus, TaskStep, Transition,
};
use educoin::domain::notification::{Notification, NotificationKind};
use educoin::domain::{Id, Millis, Role};
use educoin::store::{Consumed, ListQuery, RefreshToken, Store, StoreError};
use futures_util::future::join_all;

use crate::on_both_stores;
use crate::support::Db;
use crate::support::store::{
    T0, open_store, stored_reward, stored_student, stored_task, stored_teacher, write,
};

const DAY: i64 = 86_400_000;

fn refresh(family: &str, account: &Id, expires_at: Millis) -> RefreshToken {
    RefreshToken {
        hash: format!("hash-{}", Id::generate()),
        family: family.to_owned(),
        account_id: account.clone(),
        role: Role::Teacher,
        expires_at,
        created_at: T0,
    }
}

async fn refresh_tokens_are_used_once(db: Db) {
    let (store, _dir) = open_store(db).await;
    let tokens = &store.refresh_tokens;
    let account = Id::generate();
    let token = refresh("f1", &account, Millis(T0.0 + DAY));
    tokens.insert(&token).await.unwrap();

    let now = Millis(T0.0 + 1);
    assert_eq!(
        tokens.consume(&token.hash, now).await.unwrap(),
        Consumed::Fresh(token.clone())
    );
    assert_eq!(
        tokens.consume(&token.hash, now).await.unwrap(),
        Consumed::Reused(token.clone()),
        "a second use is a replay"
    );
    assert_eq!(
        tokens.consume("hash-unknown", now).await.unwrap(),
        Consumed::Invalid
    );

    // Expired: invalid at its expiry and after, and not a replay either.
    let old = refresh("f2", &account, Millis(T0.0 + DAY));
    tokens.insert(&old).await.unwrap();
    for at in [old.expires_at, Millis(old.expires_at.0 + DAY)] {
        assert_eq!(
            tokens.consume(&old.hash, at).await.unwrap(),
            Consumed::Invalid
        );
    }
    // A duplicate hash is refused.
    let err = tokens.insert(&token).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

async fn refresh_tokens_are_revoked_by_family_and_by_account(db: Db) {
    let (store, _dir) = open_store(db).await;
    let tokens = &store.refresh_tokens;
    let (x, y) = (Id::generate(), Id::generate());
    let expiry = Millis(T0.0 + DAY);
    let (x1, x2, x3, y1) = (
        refresh("fx1", &x, expiry),
        refresh("fx1", &x, expiry),
        refresh("fx2", &x, expiry),
        refresh("fy", &y, expiry),
    );
    for t in [&x1, &x2, &x3, &y1] {
        tokens.insert(t).await.unwrap();
    }
    let now = Millis(T0.0 + 1);

    tokens.revoke_family("fx1").await.unwrap();
    for t in [&x1, &x2] {
        assert_eq!(
            tokens.consume(&t.hash, now).await.unwrap(),
            Consumed::Reused(t.clone())
        );
    }
    tokens.revoke_account(&x).await.unwrap();
    assert_eq!(
        tokens.consume(&x3.hash, now).await.unwrap(),
        Consumed::Reused(x3.clone())
    );
    assert_eq!(
        tokens.consume(&y1.hash, now).await.unwrap(),
        Consumed::Fresh(y1.clone()),
        "another account's token stays"
    );
    // Revoking what is not there is not an error.
    tokens.revoke_family("no-such-family").await.unwrap();
    tokens.revoke_account(&Id::generate()).await.unwrap();
}

async fn a_refresh_token_is_used_once_under_racing_calls(db: Db) {
    let (store, _dir) = open_store(db).await;
    let token = refresh("race", &Id::generate(), Millis(T0.0 + DAY));
    store.refresh_tokens.insert(&token).await.unwrap();
    let now = Millis(T0.0 + 1);
    let results = join_all((0..16).map(|_| store.refresh_tokens.consume(&token.hash, now))).await;
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Ok(Consumed::Fresh(_))))
        .count();
    let reused = results
        .iter()
        .filter(|r| matches!(r, Ok(Consumed::Reused(_))))
        .count();
    assert_eq!((fresh, reused), (1, 15), "{results:?}");
}

/// An open assignment of `task` for `student`, created at `T0 + n`.
fn assignment(task: &Id, student: &Id, teacher: &Id, n: i64) -> TaskAssignment {
    TaskAssignment::open(task, student, teacher, None, Millis(T0.0 + n))
}

async fn task_assignments_round_trip_and_list(db: Db) {
    let (store, _dir) = open_store(db).await;
    let assignments = &store.task_assignments;
    let (t, other_t) = (stored_teacher(&store).await, stored_teacher(&store).await);
    let (s1, s2) = (
        stored_student(&store, &t, 0).await,
        stored_student(&store, &t, 0).await,
    );
    let (task_a, task_b) = (
        stored_task(&store, &t, 10).await,
        stored_task(&store, &t, 20).await,
    );
    let a1 = assignment(&task_a, &s1, &t, 1);
    let a2 = assignment(&task_b, &s1, &t, 2);
    let a3 = assignment(&task_a, &s2, &t, 3);
    let other_task = stored_task(&store, &other_t, 5).await;
    let foreign = assignment(
        &other_task,
        &stored_student(&store, &other_t, 0).await,
        &other_t,
        4,
    );
    for a in [&a1, &a2, &a3, &foreign] {
        assignments.insert(a).await.unwrap();
    }
    assert_eq!(assignments.by_id(&a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(assignments.by_id(&Id::generate()).await.unwrap(), None);

    // One open assignment per task and student.
    let again = assignment(&task_a, &s1, &t, 5);
    let err = assignments.insert(&again).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    let ids = |list: Vec<TaskAssignment>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(assignments.list_for_teacher(&t, None).await.unwrap()),
        vec![a3.id.clone(), a2.id.clone(), a1.id.clone()],
        "the teacher's own, newest first"
    );
    assert_eq!(
        ids(assignments
            .list_for_teacher(&t, Some(TaskStatus::NotStarted))
            .await
            .unwrap()),
        vec![a3.id.clone(), a2.id.clone(), a1.id.clone()]
    );
    assert!(
        assignments
            .list_for_teacher(&t, Some(TaskStatus::InProgress))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(assignments.list_for_student(&s1).await.unwrap()),
        vec![a2.id.clone(), a1.id.clone()]
    );
    let counts = assignments.count_for_student(&s1).await.unwrap();
    assert_eq!((counts.total, counts.completed), (2, 0));
    let none = assignments
        .count_for_student(&Id::generate())
        .await
        .unwrap();
    assert_eq!((none.total, none.completed), (0, 0));
}

/// `(points, pending_points, earned_points, rewards)` of a student.
async fn balances(store: &Store, student: &Id) -> (i64, i64, i64, i64) {
    let s = store.students.by_id(student).await.unwrap().unwrap();
    (s.points, s.pending_points, s.earned_points, s.rewards)
}

async fn task_assignments_follow_their_state_machine(db: Db) {
    let (store, _dir) = open_store(db).await;
    let assignments = &store.task_assignments;
    let t = stored_teacher(&store).await;
    let s = stored_student(&store, &t, 0).await;
    let stranger = stored_student(&store, &t, 0).await;
    let task = stored_task(&store, &t, 30).await;
    let a = assignment(&task, &s, &t, 1);
    assignments.insert(&a).await.unwrap();
    let now = Millis(T0.0 + 1_000);
    let renew_at = Millis(T0.0 + 7 * DAY);

    // Only the assignment's own student achieves it; approving comes after achieving.
    assert_eq!(
        assignments
            .transition(
                write(&stranger, &a.id, now),
                TaskStep::Achieve { points: 30 }
            )
            .await
            .unwrap(),
        Transition::NotFound
    );
    assert!(matches!(
        assignments
            .transition(write(&t, &a.id, now), TaskStep::Approve { renew_at })
            .await
            .unwrap(),
        Transition::WrongState(_)
    ));

    let Transition::Done(achieved) = assignments
        .transition(write(&s, &a.id, now), TaskStep::Achieve { points: 30 })
        .await
        .unwrap()
    else {
        panic!("achieved");
    };
    assert_eq!(
        (achieved.status, achieved.points, achieved.version),
        (TaskStatus::InProgress, 30, a.version + 1)
    );
    assert_eq!(
        assignments.by_id(&a.id).await.unwrap(),
        Some(achieved.clone())
    );
    assert_eq!(balances(&store, &s).await, (0, 30, 0, 0));
    assert!(matches!(
        assignments
            .transition(write(&s, &a.id, now), TaskStep::Achieve { points: 30 })
            .await
            .unwrap(),
        Transition::WrongState(_)
    ));

    let other_teacher = stored_teacher(&store).await;
    assert_eq!(
        assignments
            .transition(
                write(&other_teacher, &a.id, now),
                TaskStep::Approve { renew_at }
            )
            .await
            .unwrap(),
        Transition::NotFound
    );
    let Transition::Done(done) = assignments
        .transition(write(&t, &a.id, now), TaskStep::Approve { renew_at })
        .await
        .unwrap()
    else {
        panic!("approved");
    };
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.approved_at, Some(now));
    assert_eq!(done.renew_at, Some(renew_at));
    assert_eq!(done.slot, a.id.to_string(), "the slot frees up");
    assert_eq!(balances(&store, &s).await, (30, 0, 30, 0));
    let counts = assignments.count_for_student(&s).await.unwrap();
    assert_eq!((counts.total, counts.completed), (1, 1));
    assert!(matches!(
        assignments
            .transition(write(&t, &a.id, now), TaskStep::Approve { renew_at })
            .await
            .unwrap(),
        Transition::WrongState(_)
    ));

    // The repetition: due at `renew_at`, opened once.
    let due = |at: i64| assignments.due_for_renewal(Millis(at), 10);
    assert!(due(renew_at.0 - 1).await.unwrap().is_empty());
    let found = due(renew_at.0).await.unwrap();
    assert_eq!(found.iter().map(|a| &a.id).collect::<Vec<_>>(), vec![&a.id]);
    let next = TaskAssignment::open(&task, &s, &t, Some(&a.id), renew_at);
    assert!(assignments.renew(&found[0], &next).await.unwrap());
    let twin = TaskAssignment::open(&task, &s, &t, Some(&a.id), renew_at);
    assert!(
        !assignments.renew(&found[0], &twin).await.unwrap(),
        "a repetition opens once"
    );
    assert!(due(renew_at.0 + DAY).await.unwrap().is_empty());
    assert_eq!(
        assignments.by_id(&next.id).await.unwrap(),
        Some(next.clone())
    );
    assert_eq!(assignments.by_id(&twin.id).await.unwrap(), None);
}

async fn racing_achieves_move_points_once(db: Db) {
    let (store, _dir) = open_store(db).await;
    let t = stored_teacher(&store).await;
    let s = stored_student(&store, &t, 0).await;
    let now = Millis(T0.0 + 1_000);
    // 20 rounds of 50 callers: a conditional write that is not atomic (jongodb's findAndModify,
    // docs/decisions.md) lets a second caller through too rarely for one small round to show.
    for round in 1..=20 {
        let task = stored_task(&store, &t, 40).await;
        let a = assignment(&task, &s, &t, round);
        store.task_assignments.insert(&a).await.unwrap();
        let results = join_all((0..50).map(|_| {
            store
                .task_assignments
                .transition(write(&s, &a.id, now), TaskStep::Achieve { points: 40 })
        }))
        .await;
        let done = results
            .iter()
            .filter(|r| matches!(r, Ok(Transition::Done(_))))
            .count();
        assert_eq!(done, 1, "round {round}: {results:?}");
        assert_eq!(
            balances(&store, &s).await,
            (0, 40 * round, 0, 0),
            "round {round}"
        );
    }
}

fn offer(reward: &Id, student: &Id, teacher: &Id, n: i64) -> RewardAssignment {
    let at = Millis(T0.0 + n);
    RewardAssignment {
        id: Id::generate(),
        reward: reward.clone(),
        student: student.clone(),
        teacher: teacher.clone(),
        status: RewardStatus::Unclaimed,
        paid: 0,
        claimed_at: None,
        created_at: at,
        updated_at: at,
        version: 0,
    }
}

async fn reward_assignments_are_claimed_once_and_paid(db: Db) {
    let (store, _dir) = open_store(db).await;
    let offers = &store.reward_assignments;
    let t = stored_teacher(&store).await;
    let s = stored_student(&store, &t, 100).await;
    let stranger = stored_student(&store, &t, 1_000).await;
    let (cheap, dear) = (
        stored_reward(&store, &t, 60).await,
        stored_reward(&store, &t, 500).await,
    );
    let o1 = offer(&cheap, &s, &t, 1);
    let o2 = offer(&dear, &s, &t, 2);
    for o in [&o1, &o2] {
        offers.insert(o).await.unwrap();
    }
    assert_eq!(offers.by_id(&o1.id).await.unwrap(), Some(o1.clone()));
    assert_eq!(offers.by_id(&Id::generate()).await.unwrap(), None);
    let ids = |list: Vec<RewardAssignment>| list.into_iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(
        ids(offers.list_for_teacher(&t).await.unwrap()),
        vec![o2.id.clone(), o1.id.clone()]
    );
    assert_eq!(
        ids(offers
            .list_for_student(&s, RewardStatus::Unclaimed)
            .await
            .unwrap()),
        vec![o2.id.clone(), o1.id.clone()]
    );

    let now = Millis(T0.0 + 1_000);
    assert_eq!(
        offers
            .claim(write(&stranger, &o1.id, now), 60)
            .await
            .unwrap(),
        Err(ClaimRefused::NotFound)
    );
    assert_eq!(
        offers.claim(write(&s, &o2.id, now), 500).await.unwrap(),
        Err(ClaimRefused::NotEnoughPoints {
            points: 100,
            price: 500
        })
    );
    let claimed = offers
        .claim(write(&s, &o1.id, now), 60)
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(
        (claimed.status, claimed.paid, claimed.claimed_at),
        (RewardStatus::Claimed, 60, Some(now))
    );
    assert_eq!(claimed.updated_at, now);
    assert_eq!(balances(&store, &s).await, (40, 0, 0, 1));
    assert_eq!(
        offers.claim(write(&s, &o1.id, now), 60).await.unwrap(),
        Err(ClaimRefused::AlreadyClaimed)
    );
    assert_eq!(balances(&store, &s).await, (40, 0, 0, 1), "paid once");
    assert_eq!(
        ids(offers
            .list_for_student(&s, RewardStatus::Claimed)
            .await
            .unwrap()),
        vec![o1.id.clone()]
    );
    assert_eq!(
        ids(offers
            .list_for_student(&s, RewardStatus::Unclaimed)
            .await
            .unwrap()),
        vec![o2.id.clone()]
    );
}

async fn racing_claims_never_overdraw(db: Db) {
    let (store, _dir) = open_store(db).await;
    let t = stored_teacher(&store).await;
    let s = stored_student(&store, &t, 100).await;
    let reward = stored_reward(&store, &t, 40).await;
    let offers: Vec<_> = (0..4).map(|n| offer(&reward, &s, &t, n)).collect();
    for o in &offers {
        store.reward_assignments.insert(o).await.unwrap();
    }
    let now = Millis(T0.0 + 1_000);
    // Each offer claimed twelve times at once: 48 calls, points for two claims.
    let results = join_all(
        offers
            .iter()
            .cycle()
            .take(48)
            .map(|o| store.reward_assignments.claim(write(&s, &o.id, now), 40)),
    )
    .await;
    let claimed = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    assert_eq!(claimed, 2, "{results:?}");
    assert_eq!(balances(&store, &s).await, (20, 0, 0, 2));
}

fn notification(recipient: &Id, n: i64) -> Notification {
    Notification::new(
        recipient,
        NotificationKind::TaskAssigned,
        format!("Note {n}"),
        Millis(T0.0 + n),
    )
}

async fn notifications_list_newest_first_and_mark_read(db: Db) {
    let (store, _dir) = open_store(db).await;
    let notes = &store.notifications;
    let (r, other) = (Id::generate(), Id::generate());
    let mine: Vec<_> = (1..=3).map(|n| notification(&r, n)).collect();
    for n in mine.iter().chain([&notification(&other, 9)]) {
        notes.insert(n).await.unwrap();
    }
    let page = |page: u64| ListQuery {
        page,
        limit: 2,
        search: None,
    };
    let first = notes.list_for(&r, &page(1)).await.unwrap();
    assert_eq!(first.total, 3);
    assert_eq!(first.items, vec![mine[2].clone(), mine[1].clone()]);
    let second = notes.list_for(&r, &page(2)).await.unwrap();
    assert_eq!(second.items, vec![mine[0].clone()]);
    assert!(notes.list_for(&r, &page(3)).await.unwrap().items.is_empty());
    assert_eq!(notes.count_unread(&r).await.unwrap(), 3);
    assert_eq!(notes.count_unread(&Id::generate()).await.unwrap(), 0);

    let now = Millis(T0.0 + 1_000);
    assert_eq!(
        notes
            .mark_read(write(&other, &mine[0].id, now))
            .await
            .unwrap(),
        None,
        "only the recipient marks it"
    );
    let read = notes
        .mark_read(write(&r, &mine[0].id, now))
        .await
        .unwrap()
        .expect("its own");
    assert!(read.read);
    assert_eq!(
        (read.id.clone(), read.updated_at),
        (mine[0].id.clone(), now)
    );
    assert_eq!(notes.count_unread(&r).await.unwrap(), 2);
    let later = Millis(now.0 + DAY);
    let again = notes
        .mark_read(write(&r, &mine[0].id, later))
        .await
        .unwrap();
    assert_eq!(again.map(|n| n.read), Some(true), "marking twice is fine");
    assert_eq!(notes.count_unread(&r).await.unwrap(), 2);
    assert_eq!(notes.count_unread(&other).await.unwrap(), 1);
}

on_both_stores!(
    refresh_tokens_are_used_once,
    refresh_tokens_are_revoked_by_family_and_by_account,
    a_refresh_token_is_used_once_under_racing_calls,
    task_assignments_round_trip_and_list,
    task_assignments_follow_their_state_machine,
    racing_achieves_move_points_once,
    reward_assignments_are_claimed_once_and_paid,
    racing_claims_never_overdraw,
    notifications_list_newest_first_and_mark_read,
);

/// `achieve` and `approve` stamp `updatedAt` with the `now` they are given. SQLite only for now:
/// the MongoDB adapter reads the clock instead (issue 12, item 2, `store/mongo/assignments.rs`
/// `transition`), which the store branch fixes; once merged, this joins `on_both_stores!`.
async fn task_transitions_stamp_the_given_now(db: Db) {
    let (store, _dir) = open_store(db).await;
    let t = stored_teacher(&store).await;
    let s = stored_student(&store, &t, 0).await;
    let task = stored_task(&store, &t, 10).await;
    let a = assignment(&task, &s, &t, 1);
    store.task_assignments.insert(&a).await.unwrap();
    let (achieved_at, approved_at) = (Millis(T0.0 + 1_000), Millis(T0.0 + 2_000));
    let Transition::Done(achieved) = store
        .task_assignments
        .transition(
            write(&s, &a.id, achieved_at),
            TaskStep::Achieve { points: 10 },
        )
        .await
        .unwrap()
    else {
        panic!("achieved");
    };
    assert_eq!(achieved.updated_at, achieved_at);
    let Transition::Done(done) = store
        .task_assignments
        .transition(
            write(&t, &a.id, approved_at),
            TaskStep::Approve {
                renew_at: Millis(approved_at.0 + DAY),
            },
        )
        .await
        .unwrap()
    else {
        panic!("approved");
    };
    assert_eq!(
        (done.updated_at, done.approved_at),
        (approved_at, Some(approved_at))
    );
}

mod sqlite_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn task_transitions_stamp_the_given_now() {
        super::task_transitions_stamp_the_given_now(crate::support::Db::Sqlite).await;
    }
}
