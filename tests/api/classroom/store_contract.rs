//! The storage contract of the classroom ports: both adapters behave the same.

use educoin::config::DatabaseConfig;
use educoin::domain::assignment::{
    RewardAssignment, RewardStatus, TaskAssignment, TaskStep, Transition,
};
use educoin::domain::classroom::{
    CategoryPatch, ClassChange, Repeat, RewardPatch, TaskPatch, TaskType,
};
use educoin::domain::{Category, Class, Id, Millis, Reward, Student, Task};
use educoin::store::{ClassDelete, ClassUpdate, ListQuery, Store, StoreError};

use crate::on_both_stores;
use crate::support::Db;
use crate::support::store::{
    SQLITE_FILE, mongo_store_and_database, open_store as open, stored_reward, stored_task,
    teacher_record, write,
};

pub(super) async fn a_teacher(store: &Store) -> Id {
    let id = Id::generate();
    let teacher = teacher_record(
        &id,
        "T",
        format!("{id}@school.org"),
        Millis(1_700_000_000_000),
    );
    store.teachers.insert(&teacher).await.unwrap();
    id
}

/// The time the updates here are stamped with: after every record's creation, and not the
/// system clock's, so a test can check that the adapter stamps what it is given.
const NOW: Millis = Millis(1_800_000_000_000);

/// A teacher's record `id` patched through `$port.update`: another teacher's update finds nothing
/// (and changes nothing); the owner's gives the record back one version on. The ports differ by
/// record type, so this is a macro.
macro_rules! owner_only_update {
    ($port:expr, $owner:expr, $other:expr, $id:expr, $patch:expr) => {{
        let other = $port.update(write($other, $id, NOW), $patch).await.unwrap();
        assert_eq!(other, None, "another teacher's update");
        let updated = $port
            .update(write($owner, $id, NOW), $patch)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(updated.version, 1);
        updated
    }};
}

fn class(teacher: &Id, name: &str, at: i64) -> Class {
    Class {
        id: Id::generate(),
        class_name: name.into(),
        start_date: Millis(1_735_689_600_000),
        end_date: Some(Millis(1_767_139_200_000)),
        teacher: teacher.clone(),
        created_at: Millis(at),
        updated_at: Millis(at),
        version: 0,
    }
}

pub(super) async fn a_student(store: &Store, teacher: &Id, class: &str) -> Student {
    let id = Id::generate();
    let s = Student {
        passcode_sealed: format!("sealed-{id}"),
        passcode_lookup: format!("lookup-{id}"),
        id,
        name: "Kid".into(),
        date_of_birth: None,
        profile: None,
        class: class.into(),
        teacher: teacher.clone(),
        points: 0,
        level: 1,
        rewards: 0,
        pending_points: 0,
        earned_points: 0,
        created_at: Millis(1_700_000_000_000),
        updated_at: Millis(1_700_000_000_000),
        version: 0,
    };
    store.students.insert(&s).await.unwrap();
    s
}

fn page(page: u64, limit: u64) -> ListQuery {
    ListQuery {
        page,
        limit,
        search: None,
    }
}

async fn classes_round_trip_unique_and_pages(db: Db) {
    let (store, _dir) = open(db).await;
    let t = a_teacher(&store).await;
    let other = a_teacher(&store).await;
    let k = class(&t, "Class 5 / A", 1_700_000_000_001);
    store.classes.insert(&k).await.unwrap();
    assert_eq!(store.classes.by_id(&k.id).await.unwrap(), Some(k.clone()));
    assert_eq!(
        store.classes.by_name(&t, "Class 5 / A").await.unwrap(),
        Some(k.clone())
    );
    assert_eq!(
        store.classes.by_name(&other, "Class 5 / A").await.unwrap(),
        None
    );
    assert_eq!(store.classes.by_id(&Id::generate()).await.unwrap(), None);

    let open_ended = Class {
        end_date: None,
        ..class(&t, "Open", 1_700_000_000_002)
    };
    store.classes.insert(&open_ended).await.unwrap();
    assert_eq!(
        store.classes.by_id(&open_ended.id).await.unwrap(),
        Some(open_ended.clone())
    );

    let err = store
        .classes
        .insert(&class(&t, "Class 5 / A", 1_700_000_000_003))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                entity: "a class",
                field: "name"
            }
        ),
        "{err:?}"
    );
    // Another teacher may use the name.
    store
        .classes
        .insert(&class(&other, "Class 5 / A", 1_700_000_000_004))
        .await
        .unwrap();

    let first = store
        .classes
        .list_for_teacher(&t, &page(1, 1))
        .await
        .unwrap();
    assert_eq!(first.total, 2);
    assert_eq!(first.items, std::slice::from_ref(&open_ended));
    let second = store
        .classes
        .list_for_teacher(&t, &page(2, 1))
        .await
        .unwrap();
    assert_eq!(second.items, std::slice::from_ref(&k));
    let past = store
        .classes
        .list_for_teacher(&t, &page(3, 1))
        .await
        .unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total, 2);
}

async fn class_update_is_conditional_and_renames_students(db: Db) {
    let (store, _dir) = open(db).await;
    let t = a_teacher(&store).await;
    let other = a_teacher(&store).await;
    let k = class(&t, "Old", 1_700_000_000_000);
    store.classes.insert(&k).await.unwrap();
    store.classes.insert(&class(&t, "Taken", 1)).await.unwrap();
    let s1 = a_student(&store, &t, "Old").await;
    let s2 = a_student(&store, &t, "Elsewhere").await;
    let foreign = a_student(&store, &other, "Old").await;

    let change = ClassChange {
        class_name: "New".into(),
        start_date: Millis(1_735_689_600_000),
        end_date: None,
        expected_version: 0,
    };
    let stale = ClassChange {
        expected_version: 5,
        ..change.clone()
    };
    // Not the owner, or a stale version: nothing happens.
    assert_eq!(
        store
            .classes
            .update(write(&other, &k.id, NOW), &change)
            .await
            .unwrap(),
        ClassUpdate::NotFound
    );
    assert_eq!(
        store
            .classes
            .update(write(&t, &k.id, NOW), &stale)
            .await
            .unwrap(),
        ClassUpdate::Stale
    );
    assert_eq!(store.classes.by_id(&k.id).await.unwrap(), Some(k.clone()));

    let ClassUpdate::Updated(updated) = store
        .classes
        .update(write(&t, &k.id, NOW), &change)
        .await
        .unwrap()
    else {
        panic!("updated");
    };
    assert_eq!(updated.class_name, "New");
    assert_eq!(updated.end_date, None);
    assert_eq!(updated.version, 1);
    assert_eq!(updated.created_at, k.created_at);
    assert_eq!(updated.updated_at, NOW, "updatedAt is the given now");
    assert_eq!(
        store.classes.by_id(&k.id).await.unwrap(),
        Some(updated.clone())
    );
    let class_of = |id: Id| {
        let store = store.clone();
        async move { store.students.by_id(&id).await.unwrap().unwrap().class }
    };
    assert_eq!(class_of(s1.id.clone()).await, "New");
    assert_eq!(class_of(s2.id.clone()).await, "Elsewhere");
    assert_eq!(class_of(foreign.id.clone()).await, "Old");

    // The old version no longer applies; a taken name is a conflict and changes nothing.
    assert_eq!(
        store
            .classes
            .update(write(&t, &k.id, NOW), &change)
            .await
            .unwrap(),
        ClassUpdate::Stale
    );
    let taken = ClassChange {
        class_name: "Taken".into(),
        expected_version: 1,
        ..change.clone()
    };
    let err = store
        .classes
        .update(write(&t, &k.id, NOW), &taken)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.classes.by_id(&k.id).await.unwrap(), Some(updated));
    assert_eq!(class_of(s1.id).await, "New");
    assert_eq!(class_of(foreign.id).await, "Old");
}

async fn class_delete_only_when_empty(db: Db) {
    let (store, _dir) = open(db).await;
    let t = a_teacher(&store).await;
    let other = a_teacher(&store).await;
    let full = class(&t, "Full", 1);
    let empty = class(&t, "Empty", 2);
    store.classes.insert(&full).await.unwrap();
    store.classes.insert(&empty).await.unwrap();
    a_student(&store, &t, "Full").await;
    a_student(&store, &t, "Full").await;
    // A student of another teacher in a class of the same name does not count.
    a_student(&store, &other, "Empty").await;

    assert_eq!(
        store
            .classes
            .delete_if_empty(write(&t, &full.id, NOW))
            .await
            .unwrap(),
        ClassDelete::HasStudents(2)
    );
    assert!(store.classes.by_id(&full.id).await.unwrap().is_some());
    assert_eq!(
        store
            .classes
            .delete_if_empty(write(&other, &empty.id, NOW))
            .await
            .unwrap(),
        ClassDelete::NotFound
    );
    assert_eq!(
        store
            .classes
            .delete_if_empty(write(&t, &empty.id, NOW))
            .await
            .unwrap(),
        ClassDelete::Deleted
    );
    assert_eq!(store.classes.by_id(&empty.id).await.unwrap(), None);
    assert_eq!(
        store
            .classes
            .delete_if_empty(write(&t, &empty.id, NOW))
            .await
            .unwrap(),
        ClassDelete::NotFound
    );
}

async fn categories_tasks_rewards_round_trip(db: Db) {
    let (store, _dir) = open(db).await;
    let t = a_teacher(&store).await;
    let other = a_teacher(&store).await;
    let category = |name: &str, at: i64| Category {
        id: Id::generate(),
        name: name.into(),
        image: "/images/star.png".into(),
        teacher: t.clone(),
        created_at: Millis(at),
        updated_at: Millis(at),
        version: 0,
    };
    let c1 = category("Homework", 1_700_000_000_001);
    let c2 = category("Conduct", 1_700_000_000_002);
    store.categories.insert(&c1).await.unwrap();
    store.categories.insert(&c2).await.unwrap();
    assert_eq!(
        store.categories.by_id(&c1.id).await.unwrap(),
        Some(c1.clone())
    );
    assert_eq!(
        store.categories.list_for_teacher(&t).await.unwrap(),
        [c2.clone(), c1.clone()]
    );
    assert!(
        store
            .categories
            .list_for_teacher(&other)
            .await
            .unwrap()
            .is_empty()
    );
    let patch = CategoryPatch {
        name: Some("Home work".into()),
        image: None,
    };
    let c1b = owner_only_update!(store.categories, &t, &other, &c1.id, &patch);
    assert_eq!(c1b.name, "Home work");
    assert_eq!(c1b.image, c1.image);
    assert_eq!(c1b.updated_at, NOW, "updatedAt is the given now");

    let task = Task {
        id: Id::generate(),
        name: "Read".into(),
        points: -500,
        category: c1.id.clone(),
        kind: TaskType::Bad,
        repeat: Repeat::Monthly,
        teacher: t.clone(),
        created_at: Millis(1_700_000_000_010),
        updated_at: Millis(1_700_000_000_010),
        version: 0,
    };
    store.tasks.insert(&task).await.unwrap();
    let task2 = Task {
        id: Id::generate(),
        name: "Help a friend".into(),
        points: 500,
        kind: TaskType::Good,
        repeat: Repeat::Everyday,
        created_at: Millis(1_700_000_000_011),
        ..task.clone()
    };
    store.tasks.insert(&task2).await.unwrap();
    assert_eq!(
        store.tasks.by_id(&task.id).await.unwrap(),
        Some(task.clone())
    );
    let listed = store
        .tasks
        .list_for_teacher(&t, &page(1, 10))
        .await
        .unwrap();
    assert_eq!(listed.items, [task2.clone(), task.clone()]);
    let search = ListQuery {
        search: Some("FRIEND".into()),
        ..page(1, 10)
    };
    assert_eq!(
        store
            .tasks
            .list_for_teacher(&t, &search)
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        store
            .tasks
            .list_for_teacher(&other, &page(1, 10))
            .await
            .unwrap()
            .total,
        0
    );
    let tp = TaskPatch {
        points: Some(25),
        category: Some(c2.id.clone()),
        kind: Some(TaskType::Good),
        repeat: Some(Repeat::Weekly),
        name: None,
    };
    let updated = owner_only_update!(store.tasks, &t, &other, &task.id, &tp);
    assert_eq!(
        (
            updated.points,
            &updated.category,
            updated.kind,
            updated.repeat,
            updated.name.as_str()
        ),
        (25, &c2.id, TaskType::Good, Repeat::Weekly, "Read")
    );

    let reward = Reward {
        id: Id::generate(),
        name: "Recess".into(),
        image: "/images/recess.png".into(),
        required_points: 0,
        teacher: t.clone(),
        created_at: Millis(1_700_000_000_020),
        updated_at: Millis(1_700_000_000_020),
        version: 0,
    };
    store.rewards.insert(&reward).await.unwrap();
    assert_eq!(
        store.rewards.by_id(&reward.id).await.unwrap(),
        Some(reward.clone())
    );
    assert_eq!(
        store
            .rewards
            .list_for_teacher(&t, &page(1, 10))
            .await
            .unwrap()
            .items,
        std::slice::from_ref(&reward)
    );
    let rp = RewardPatch {
        required_points: Some(80),
        ..Default::default()
    };
    let r2 = owner_only_update!(store.rewards, &t, &other, &reward.id, &rp);
    assert_eq!((r2.required_points, r2.name.as_str()), (80, "Recess"));
}

/// MongoDB has no transaction across the class and its students here: a rename writes the class
/// with a `renamedFrom` marker, then moves the students. When it stops in between (simulated by
/// writing the marker directly), the next update or delete of the class finishes the move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_interrupted_rename_is_finished_later() {
    use mongodb::bson::{Document, doc};

    let (store, raw) = mongo_store_and_database().await;
    let t = a_teacher(&store).await;
    let k = class(&t, "Old", 1);
    store.classes.insert(&k).await.unwrap();
    let s = a_student(&store, &t, "Old").await;
    let classes = raw.collection::<Document>("classes");
    let interrupt = |from: &'static str, to: &'static str| {
        let classes = classes.clone();
        let id = k.id.to_object_id();
        async move {
            classes
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": { "className": to, "renamedFrom": from }, "$inc": { "__v": 1 } },
                )
                .await
                .unwrap();
        }
    };
    let class_of = || async { store.students.by_id(&s.id).await.unwrap().unwrap().class };

    interrupt("Old", "New").await;
    assert_eq!(class_of().await, "Old", "the move did not happen");
    // The next update (here: one that changes nothing) finishes it first.
    let same = ClassChange {
        class_name: "New".into(),
        start_date: k.start_date,
        end_date: k.end_date,
        expected_version: 1,
    };
    let ClassUpdate::Updated(updated) = store
        .classes
        .update(write(&t, &k.id, NOW), &same)
        .await
        .unwrap()
    else {
        panic!("updated");
    };
    assert_eq!(updated.class_name, "New");
    assert_eq!(class_of().await, "New");
    let marker = classes
        .find_one(doc! { "_id": k.id.to_object_id() })
        .await
        .unwrap()
        .unwrap();
    assert!(!marker.contains_key("renamedFrom"), "{marker}");

    // A delete finishes it too, and then counts the moved student.
    interrupt("New", "Newest").await;
    assert_eq!(
        store
            .classes
            .delete_if_empty(write(&t, &k.id, NOW))
            .await
            .unwrap(),
        ClassDelete::HasStudents(1)
    );
    assert_eq!(class_of().await, "Newest");
}

on_both_stores!(
    classes_round_trip_unique_and_pages,
    class_update_is_conditional_and_renames_students,
    class_delete_only_when_empty,
    categories_tasks_rewards_round_trip,
    level_follows_points_earned,
);

/// Achieves and approves a fresh assignment of `task` worth `points`.
async fn complete(store: &Store, t: &Id, s: &Id, task: &Id, points: i64) -> TaskAssignment {
    let now = Millis::now();
    let a = TaskAssignment::open(task, s, t, None, now);
    store.task_assignments.insert(&a).await.unwrap();
    let achieved = store
        .task_assignments
        .transition(write(s, &a.id, now), TaskStep::Achieve { points });
    assert!(matches!(achieved.await.unwrap(), Transition::Done(_)));
    let approved = store.task_assignments.transition(
        write(t, &a.id, now),
        TaskStep::Approve {
            renew_at: Millis(now.0 + 1),
        },
    );
    let Transition::Done(done) = approved.await.unwrap() else {
        panic!("approved");
    };
    done
}

/// `(points, pending_points, earned_points, level, rewards)` of a student.
async fn balances(store: &Store, s: &Id) -> (i64, i64, i64, i64, i64) {
    let s = store.students.by_id(s).await.unwrap().unwrap();
    (
        s.points,
        s.pending_points,
        s.earned_points,
        s.level,
        s.rewards,
    )
}

async fn level_follows_points_earned(db: Db) {
    let (store, _dir) = open(db).await;
    let t = a_teacher(&store).await;
    let s = a_student(&store, &t, "Class 5").await.id;
    let task = stored_task(&store, &t, 250).await;
    let reward = stored_reward(&store, &t, 200).await;
    complete(&store, &t, &s, &task, 250).await;
    assert_eq!(balances(&store, &s).await, (250, 0, 250, 3, 0));

    let offer = RewardAssignment {
        id: Id::generate(),
        reward: reward.clone(),
        student: s.clone(),
        teacher: t.clone(),
        status: RewardStatus::Unclaimed,
        paid: 0,
        claimed_at: None,
        created_at: Millis::now(),
        updated_at: Millis::now(),
        version: 0,
    };
    store.reward_assignments.insert(&offer).await.unwrap();
    let claimed = store
        .reward_assignments
        .claim(write(&s, &offer.id, Millis::now()), 200)
        .await
        .unwrap();
    assert!(claimed.is_ok(), "{claimed:?}");
    assert_eq!(balances(&store, &s).await, (50, 0, 250, 3, 1));

    complete(&store, &t, &s, &task, -180).await;
    assert_eq!(balances(&store, &s).await, (-130, 0, 70, 1, 1));
    // Nothing is left pending on either store after transitions that did not fail.
    assert_eq!(
        store.points.settle_pending(100, Millis(0)).await.unwrap(),
        0
    );
}

/// A database written before migration 0006 gets `earned_points` from its approved assignments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migration_fills_in_earned_points() {
    let (store, dir) = open(Db::Sqlite).await;
    let t = a_teacher(&store).await;
    let s = a_student(&store, &t, "Class 5").await.id;
    let task = stored_task(&store, &t, 0).await;
    complete(&store, &t, &s, &task, 120).await;
    complete(&store, &t, &s, &task, 130).await;
    complete(&store, &t, &s, &task, -40).await;
    let open_only = TaskAssignment::open(&task, &s, &t, None, Millis::now());
    store.task_assignments.insert(&open_only).await.unwrap();
    let achieved = store.task_assignments.transition(
        write(&s, &open_only.id, Millis::now()),
        TaskStep::Achieve { points: 500 },
    );
    achieved.await.unwrap();
    drop(store);
    // Back to schema 5, as an older server left it (undoing 0006 and what came after it).
    {
        let c = rusqlite::Connection::open(dir.path().join(SQLITE_FILE)).unwrap();
        c.execute_batch(
            "ALTER TABLE students DROP COLUMN earned_points; UPDATE students SET level = 1; \
             ALTER TABLE teachers DROP COLUMN token_epoch; ALTER TABLE admins DROP COLUMN token_epoch; \
             DROP TABLE uploads; DROP TABLE payment_refunds; DROP TABLE stripe_events; \
             DROP TABLE payments; DROP TABLE projects; DROP TABLE push_outbox; \
             DROP TABLE push_devices; PRAGMA user_version = 5;",
        )
        .unwrap();
    }
    let store = Store::open(&DatabaseConfig::Sqlite {
        path: dir.path().join(SQLITE_FILE),
    })
    .await
    .unwrap();
    store.backend.migrate().await.unwrap();
    // 120 + 130 - 40 approved; the 500 waiting for approval does not count.
    assert_eq!(balances(&store, &s).await, (210, 500, 210, 3, 0));
}

/// MongoDB students written before `earnedPoints` existed get it at start, from their approved
/// assignments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_start_fills_in_earned_points() {
    use mongodb::bson::{Document, doc};

    let (store, raw) = mongo_store_and_database().await;
    let t = a_teacher(&store).await;
    let s = a_student(&store, &t, "Class 5").await.id;
    let task = stored_task(&store, &t, 0).await;
    complete(&store, &t, &s, &task, 120).await;
    complete(&store, &t, &s, &task, -20).await;
    let students = raw.collection::<Document>("students");
    students
        .update_one(
            doc! { "_id": s.to_object_id() },
            doc! { "$unset": { "earnedPoints": "" }, "$set": { "level": 1 } },
        )
        .await
        .unwrap();
    store.backend.migrate().await.unwrap();
    assert_eq!(balances(&store, &s).await, (100, 0, 100, 2, 0));
    // Only documents without the field are touched: a second start changes nothing.
    students
        .update_one(
            doc! { "_id": s.to_object_id() },
            doc! { "$set": { "earnedPoints": 7_i64 } },
        )
        .await
        .unwrap();
    store.backend.migrate().await.unwrap();
    assert_eq!(balances(&store, &s).await.2, 7);
}
