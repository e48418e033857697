//! A store opened directly (no server) for the adapter contract tests, and the records the
//! assignment and notification ports refer to.

use educoin::config::DatabaseConfig;
use educoin::domain::classroom::{Repeat, TaskType};
use educoin::domain::{AccountStatus, Category, Id, Millis, Reward, Student, Task, Teacher};
use educoin::store::{OwnerWrite, Store};
use secrecy::SecretString;

use super::{Db, services};

/// The SQLite file of [`open_store`], in its temp dir.
pub const SQLITE_FILE: &str = "store.db";

/// A migrated, empty store of the given kind, with the temp dir that holds it (SQLite).
pub async fn open_store(db: Db) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = match db {
        Db::Sqlite => DatabaseConfig::Sqlite {
            path: dir.path().join(SQLITE_FILE),
        },
        Db::Mongo => DatabaseConfig::Mongo {
            url: SecretString::from(services::fresh_mongodb_url()),
        },
    };
    let store = Store::open(&config).await.unwrap();
    store.backend.migrate().await.unwrap();
    // Migrations are idempotent.
    store.backend.migrate().await.unwrap();
    (store, dir)
}

/// A migrated MongoDB store and its database as the driver sees it, for the tests that write what
/// the store never would (an interrupted move, a document from before a field existed).
pub async fn mongo_store_and_database() -> (Store, mongodb::Database) {
    let url = services::fresh_mongodb_url();
    let config = DatabaseConfig::Mongo {
        url: SecretString::from(url.clone()),
    };
    let store = Store::open(&config).await.unwrap();
    store.backend.migrate().await.unwrap();
    (store, database(&url).await)
}

/// The database a MongoDB URL names, through the driver.
pub async fn database(url: &str) -> mongodb::Database {
    let client = mongodb::Client::with_uri_str(url).await.unwrap();
    client
        .default_database()
        .expect("the test URL names a database")
}

/// A fixed instant far from the wall clock, so that a stamp taken from the clock instead of
/// the given `now` shows.
pub const T0: Millis = Millis(1_900_000_000_000);

/// An active teacher without a password (its token is issued directly).
/// `owner`'s write to its record `id`, stamped `now`.
pub fn write<'a>(owner: &'a Id, id: &'a Id, now: Millis) -> OwnerWrite<'a> {
    OwnerWrite { owner, id, now }
}

pub fn teacher_record(id: &Id, name: &str, email: String, at: Millis) -> Teacher {
    Teacher {
        id: id.clone(),
        name: name.into(),
        email,
        contact: String::new(),
        location: String::new(),
        profile: None,
        status: AccountStatus::Active,
        password_hash: None,
        passcode_sealed: None,
        created_at: at,
        updated_at: at,
        version: 0,
        token_epoch: 0,
    }
}

pub async fn stored_teacher(store: &Store) -> Id {
    let id = Id::generate();
    let teacher = teacher_record(&id, "T", format!("{id}@school.org"), T0);
    store.teachers.insert(&teacher).await.unwrap();
    id
}

/// A student of `teacher` holding `points`.
pub async fn stored_student(store: &Store, teacher: &Id, points: i64) -> Id {
    let id = Id::generate();
    store
        .students
        .insert(&Student {
            passcode_sealed: format!("sealed-{id}"),
            passcode_lookup: format!("lookup-{id}"),
            id: id.clone(),
            name: "Kid".into(),
            date_of_birth: None,
            profile: None,
            class: "Class 1".into(),
            teacher: teacher.clone(),
            points,
            level: 1,
            rewards: 0,
            pending_points: 0,
            earned_points: 0,
            created_at: T0,
            updated_at: T0,
            version: 0,
        })
        .await
        .unwrap();
    id
}

/// A task of `teacher` worth `points` (in a category of its own).
pub async fn stored_task(store: &Store, teacher: &Id, points: i64) -> Id {
    let category = Category {
        id: Id::generate(),
        name: "Points".into(),
        image: "/images/star.png".into(),
        teacher: teacher.clone(),
        created_at: T0,
        updated_at: T0,
        version: 0,
    };
    store.categories.insert(&category).await.unwrap();
    let task = Task {
        id: Id::generate(),
        name: "Help".into(),
        points,
        category: category.id,
        kind: TaskType::Good,
        repeat: Repeat::Weekly,
        teacher: teacher.clone(),
        created_at: T0,
        updated_at: T0,
        version: 0,
    };
    store.tasks.insert(&task).await.unwrap();
    task.id
}

/// A reward of `teacher` costing `price`.
pub async fn stored_reward(store: &Store, teacher: &Id, price: i64) -> Id {
    let reward = Reward {
        id: Id::generate(),
        name: "Prize".into(),
        image: "/images/gift.png".into(),
        required_points: price,
        teacher: teacher.clone(),
        created_at: T0,
        updated_at: T0,
        version: 0,
    };
    store.rewards.insert(&reward).await.unwrap();
    reward.id
}
