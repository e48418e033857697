//! What lists cost: `by_ids` on both stores, populated lists in a constant number of database
//! round trips (counted by the store itself), and transitions stamped with the caller's `now`.

use educoin::domain::assignment::{TaskAssignment, TaskStep, Transition};
use educoin::domain::classroom::{Repeat, TaskType};
use educoin::domain::{Category, Id, Millis, Reward, Task};
use educoin::store::Store;

use super::store_contract::{a_student, a_teacher};
use crate::on_both_stores;
use crate::support::accounts::User;
use crate::support::store::{open_store as open, write};
use crate::support::{Db, Kv, TestApp, spawn_app};

const AT: Millis = Millis(1_700_000_000_000);

fn category(teacher: &Id, n: usize) -> Category {
    Category {
        id: Id::generate(),
        name: format!("Category {n}"),
        image: "/images/star.png".into(),
        teacher: teacher.clone(),
        created_at: AT,
        updated_at: AT,
        version: 0,
    }
}

fn task(teacher: &Id, category: &Id, n: usize) -> Task {
    Task {
        id: Id::generate(),
        name: format!("Task {n}"),
        points: 10,
        category: category.clone(),
        kind: TaskType::Good,
        repeat: Repeat::Monthly,
        teacher: teacher.clone(),
        created_at: AT,
        updated_at: AT,
        version: 0,
    }
}

fn reward(teacher: &Id, n: usize) -> Reward {
    Reward {
        id: Id::generate(),
        name: format!("Reward {n}"),
        image: "/images/gift.png".into(),
        required_points: 5,
        teacher: teacher.clone(),
        created_at: AT,
        updated_at: AT,
        version: 0,
    }
}

fn sorted<T>(mut items: Vec<T>, id: impl Fn(&T) -> &Id) -> Vec<T> {
    items.sort_by(|a, b| id(a).cmp(id(b)));
    items
}

async fn by_ids_return_exactly_the_known_ids(db: Db) {
    let (store, _dir) = open(db).await;
    let t = a_teacher(&store).await;
    let unknown = Id::generate();

    let categories: Vec<_> = (0..3).map(|n| category(&t, n)).collect();
    let tasks: Vec<_> = (0..3).map(|n| task(&t, &categories[0].id, n)).collect();
    let rewards: Vec<_> = (0..3).map(|n| reward(&t, n)).collect();
    let mut students = Vec::new();
    for c in &categories {
        store.categories.insert(c).await.unwrap();
    }
    for k in &tasks {
        store.tasks.insert(k).await.unwrap();
    }
    for r in &rewards {
        store.rewards.insert(r).await.unwrap();
    }
    for _ in 0..3 {
        students.push(a_student(&store, &t, "A").await);
    }

    let wanted = |ids: [&Id; 2]| vec![ids[0].clone(), ids[1].clone(), unknown.clone()];
    let found = store
        .categories
        .by_ids(&wanted([&categories[0].id, &categories[2].id]))
        .await
        .unwrap();
    let expected = vec![categories[0].clone(), categories[2].clone()];
    assert_eq!(sorted(found, |c| &c.id), sorted(expected, |c| &c.id));

    let found = store
        .tasks
        .by_ids(&wanted([&tasks[1].id, &tasks[2].id]))
        .await
        .unwrap();
    let expected = vec![tasks[1].clone(), tasks[2].clone()];
    assert_eq!(sorted(found, |k| &k.id), sorted(expected, |k| &k.id));

    let found = store
        .rewards
        .by_ids(&wanted([&rewards[0].id, &rewards[1].id]))
        .await
        .unwrap();
    let expected = vec![rewards[0].clone(), rewards[1].clone()];
    assert_eq!(sorted(found, |r| &r.id), sorted(expected, |r| &r.id));

    let found = store
        .students
        .by_ids(&wanted([&students[0].id, &students[2].id]))
        .await
        .unwrap();
    let expected = vec![students[0].clone(), students[2].clone()];
    assert_eq!(sorted(found, |s| &s.id), sorted(expected, |s| &s.id));

    // No ids: nothing, and no round trip.
    let before = store.backend.round_trips();
    assert!(store.tasks.by_ids(&[]).await.unwrap().is_empty());
    assert!(
        store
            .categories
            .by_ids(std::slice::from_ref(&unknown))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.backend.round_trips() - before, 1);
}

/// The round trips of one GET, the fewest of three tries: a background job (repeating tasks,
/// points settlement) may query the database during one of them, never during all three.
async fn round_trips_of(app: &TestApp, caller: &User, path: &str) -> (u64, serde_json::Value) {
    let mut fewest = u64::MAX;
    let mut body = serde_json::Value::Null;
    for _ in 0..3 {
        let before = app.state.store.backend.round_trips();
        let res = app.get(path, Some(&caller.token)).await;
        res.ok();
        fewest = fewest.min(app.state.store.backend.round_trips() - before);
        body = res.body;
    }
    (fewest, body)
}

/// `rows` assignments of the teacher `t`, over 5 categories and 2 students, achieved when
/// `achieved` (so that they are pending).
async fn assignments(store: &Store, t: &Id, rows: usize, achieved: bool) {
    let categories: Vec<_> = (0..5).map(|n| category(t, n)).collect();
    for c in &categories {
        store.categories.insert(c).await.unwrap();
    }
    // Categories the page does not reference: populating must not load them.
    for n in 0..20 {
        store
            .categories
            .insert(&category(t, 100 + n))
            .await
            .unwrap();
    }
    let students = [
        a_student(store, t, "A").await,
        a_student(store, t, "A").await,
    ];
    for n in 0..rows {
        let k = task(t, &categories[n % 5].id, n);
        store.tasks.insert(&k).await.unwrap();
        let s = &students[n % 2];
        let a = TaskAssignment::open(&k.id, &s.id, t, None, AT);
        store.task_assignments.insert(&a).await.unwrap();
        if achieved {
            let done = store
                .task_assignments
                .transition(write(&s.id, &a.id, AT), TaskStep::Achieve { points: 10 })
                .await;
            assert!(matches!(done.unwrap(), Transition::Done(_)));
        }
    }
}

async fn populated_lists_make_a_constant_number_of_round_trips(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let store = &app.state.store;

    // The authentication's own read, measured on a teacher with an empty list (the list query
    // runs, nothing is populated).
    let empty = app.stored_teacher("Empty Teacher").await;
    let (auth_and_list, body) = round_trips_of(&app, &empty, "/assign-task").await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(0), "{body}");
    let auth = auth_and_list - 1;

    for rows in [10, 50] {
        let teacher = app.stored_teacher(&format!("Teacher {rows}")).await;
        assignments(store, &teacher.id, rows, true).await;

        // The list, its tasks, their categories.
        let (trips, body) = round_trips_of(&app, &teacher, "/assign-task").await;
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), rows);
        assert!(
            data.iter()
                .all(|a| a["task"]["category"]["name"].is_string()),
            "every task populated with its category: {body}"
        );
        assert!(
            trips - auth <= 3,
            "{rows} rows: {} round trips",
            trips - auth
        );

        // The pending list adds the students.
        let (trips, body) = round_trips_of(&app, &teacher, "/assign-task/pending").await;
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), rows);
        assert!(
            data.iter().all(|a| a["student"]["name"].is_string()),
            "{body}"
        );
        assert!(
            trips - auth <= 4,
            "{rows} pending rows: {} round trips",
            trips - auth
        );
    }
}

async fn transitions_stamp_the_given_now(db: Db) {
    let (store, _dir) = open(db).await;
    let t = a_teacher(&store).await;
    let s = a_student(&store, &t, "A").await;
    let c = category(&t, 0);
    store.categories.insert(&c).await.unwrap();
    let k = task(&t, &c.id, 0);
    store.tasks.insert(&k).await.unwrap();
    let a = TaskAssignment::open(&k.id, &s.id, &t, None, AT);
    store.task_assignments.insert(&a).await.unwrap();

    // Times far from this machine's clock: an adapter that read its own would not match them.
    let achieved_at = Millis(1_000_000_000_000);
    let Transition::Done(achieved) = store
        .task_assignments
        .transition(
            write(&s.id, &a.id, achieved_at),
            TaskStep::Achieve { points: 10 },
        )
        .await
        .unwrap()
    else {
        panic!("achieved");
    };
    assert_eq!(achieved.updated_at, achieved_at);
    assert_eq!(
        store
            .task_assignments
            .by_id(&a.id)
            .await
            .unwrap()
            .unwrap()
            .updated_at,
        achieved_at
    );

    let approved_at = Millis(1_000_000_360_000);
    let Transition::Done(approved) = store
        .task_assignments
        .transition(
            write(&t, &a.id, approved_at),
            TaskStep::Approve {
                renew_at: Millis(approved_at.0 + 1),
            },
        )
        .await
        .unwrap()
    else {
        panic!("approved");
    };
    assert_eq!(approved.approved_at, Some(approved_at));
    assert_eq!(approved.updated_at, approved_at);
    let stored = store.task_assignments.by_id(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.approved_at, stored.updated_at),
        (Some(approved_at), approved_at)
    );
}

on_both_stores!(
    by_ids_return_exactly_the_known_ids,
    populated_lists_make_a_constant_number_of_round_trips,
    transitions_stamp_the_given_now,
);
