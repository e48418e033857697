//! The storage contract: every adapter behaves the same behind the ports.

use educoin::domain::account::{AdminPatch, TeacherPatch, normalize_email};
use educoin::domain::{AccountStatus, Admin, AdminRole, Id, Millis, Teacher};
use educoin::store::{ListQuery, StoreError};

use crate::on_both_stores;
use crate::support::Db;
use crate::support::store::open_store as open;

/// The time the updates here are stamped with: after every record's creation, and not the
/// system clock's, so a test can check that the adapter stamps what it is given.
const NOW: Millis = Millis(1_800_000_000_000);

fn teacher(name: &str, email: &str, created_at: i64) -> Teacher {
    Teacher {
        id: Id::generate(),
        name: name.into(),
        email: normalize_email(email),
        contact: "+880 1700 000000".into(),
        location: "Dhaka".into(),
        profile: None,
        status: AccountStatus::Active,
        passcode_sealed: None,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: Millis(created_at),
        updated_at: Millis(created_at),
        version: 0,
        token_epoch: 0,
    }
}

fn admin(email: &str) -> Admin {
    Admin {
        id: Id::generate(),
        name: "Root".into(),
        email: normalize_email(email),
        contact: String::new(),
        location: String::new(),
        profile: None,
        role: AdminRole::SuperAdmin,
        password_hash: "$argon2id$hash".into(),
        created_at: Millis(1_700_000_000_000),
        updated_at: Millis(1_700_000_000_000),
        version: 0,
        token_epoch: 0,
    }
}

fn page(page: u64, search: Option<&str>) -> ListQuery {
    ListQuery {
        page,
        limit: 2,
        search: search.map(str::to_owned),
    }
}

async fn teachers_round_trip(db: Db) {
    let (store, _dir) = open(db).await;
    let t = teacher("Ms Rahman", "Rahman@School.org", 1_700_000_000_123);
    store.teachers.insert(&t).await.unwrap();
    assert_eq!(store.teachers.by_id(&t.id).await.unwrap(), Some(t.clone()));
    assert_eq!(
        store.teachers.by_email("rahman@school.org").await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(store.teachers.by_id(&Id::generate()).await.unwrap(), None);
    assert_eq!(
        store.teachers.by_email("nobody@school.org").await.unwrap(),
        None
    );
    assert_eq!(store.teachers.count().await.unwrap(), 1);
}

async fn teacher_email_is_unique(db: Db) {
    let (store, _dir) = open(db).await;
    store
        .teachers
        .insert(&teacher("A", "same@school.org", 1))
        .await
        .unwrap();
    let err = store
        .teachers
        .insert(&teacher("B", "same@school.org", 2))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                entity: "a teacher",
                field: "email"
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.teachers.count().await.unwrap(), 1, "nothing written");
}

async fn teachers_list_newest_first_with_search_and_pages(db: Db) {
    let (store, _dir) = open(db).await;
    for (i, (name, email)) in [
        ("Anna Alam", "anna@school.org"),
        ("Bilal Bose", "bilal@school.org"),
        ("Chitra Alam", "chitra@other.org"),
        ("Dev (100%) Das", "dev@school.org"),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .teachers
            .insert(&teacher(name, email, 1_700_000_000_000 + i as i64))
            .await
            .unwrap();
    }
    let first = store.teachers.list(&page(1, None)).await.unwrap();
    assert_eq!(first.total, 4);
    let names: Vec<_> = first.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Dev (100%) Das", "Chitra Alam"]);
    let second = store.teachers.list(&page(2, None)).await.unwrap();
    let names: Vec<_> = second.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Bilal Bose", "Anna Alam"]);
    let past_the_end = store.teachers.list(&page(9, None)).await.unwrap();
    assert!(past_the_end.items.is_empty());
    assert_eq!(past_the_end.total, 4);

    let alam = store.teachers.list(&page(1, Some("ALAM"))).await.unwrap();
    assert_eq!(alam.total, 2, "case-insensitive name search");
    let other = store
        .teachers
        .list(&page(1, Some("other.org")))
        .await
        .unwrap();
    assert_eq!(other.total, 1, "email search");
    // Search text is literal, not a pattern.
    let percent = store.teachers.list(&page(1, Some("100%"))).await.unwrap();
    assert_eq!(percent.total, 1);
    let regex = store.teachers.list(&page(1, Some(".*"))).await.unwrap();
    assert_eq!(regex.total, 0);
}

async fn teacher_update_applies_only_set_fields(db: Db) {
    let (store, _dir) = open(db).await;
    let t = teacher("Old Name", "t@school.org", 1_700_000_000_000);
    store.teachers.insert(&t).await.unwrap();
    let updated = store
        .teachers
        .update(
            &t.id,
            &TeacherPatch {
                name: Some("New Name".into()),
                profile: Some("/images/abc.png".into()),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap()
        .expect("teacher exists");
    assert_eq!(updated.name, "New Name");
    assert_eq!(updated.profile.as_deref(), Some("/images/abc.png"));
    assert_eq!(updated.location, t.location);
    assert_eq!(updated.email, t.email);
    assert_eq!(updated.version, 1);
    assert_eq!(updated.updated_at, NOW, "updatedAt is the given now");
    assert_eq!(
        store
            .teachers
            .update(&Id::generate(), &TeacherPatch::default(), NOW)
            .await
            .unwrap(),
        None
    );

    assert!(
        store
            .teachers
            .set_password_hash(&t.id, "$argon2id$new", NOW)
            .await
            .unwrap()
    );
    let reread = store.teachers.by_id(&t.id).await.unwrap().unwrap();
    assert_eq!(reread.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(
        !store
            .teachers
            .set_password_hash(&Id::generate(), "x", NOW)
            .await
            .unwrap()
    );
}

async fn admins_round_trip_and_unique_email(db: Db) {
    let (store, _dir) = open(db).await;
    let a = admin("root@educoin.app");
    store.admins.insert(&a).await.unwrap();
    assert_eq!(store.admins.by_id(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.admins.by_email("root@educoin.app").await.unwrap(),
        Some(a.clone())
    );
    let err = store
        .admins
        .insert(&admin("root@educoin.app"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                entity: "an admin",
                ..
            }
        ),
        "{err:?}"
    );

    let other = admin("other@educoin.app");
    store.admins.insert(&other).await.unwrap();
    let err = store
        .admins
        .update(
            &other.id,
            &AdminPatch {
                email: Some("root@educoin.app".into()),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let unchanged = store.admins.by_id(&other.id).await.unwrap().unwrap();
    assert_eq!(
        unchanged.email, "other@educoin.app",
        "a refused update changes nothing"
    );

    let updated = store
        .admins
        .update(
            &a.id,
            &AdminPatch {
                contact: Some("123".into()),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.contact, "123");
    assert_eq!(updated.name, a.name);
    assert!(
        store
            .admins
            .set_password_hash(&a.id, "$argon2id$rotated", NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .admins
            .by_id(&a.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$rotated"
    );
}

/// A password change or a status change moves the account to the next token epoch, and says which;
/// a hash upgrade (`set_password_hash`) does not. Concurrent changes each get their own epoch.
async fn credential_changes_move_the_token_epoch(db: Db) {
    let (store, _dir) = open(db).await;
    let t = teacher("Ms Epoch", "epoch@school.org", 1_700_000_000_000);
    store.teachers.insert(&t).await.unwrap();
    assert!(
        store
            .teachers
            .set_password_hash(&t.id, "$argon2id$up", NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .teachers
            .by_id(&t.id)
            .await
            .unwrap()
            .unwrap()
            .token_epoch,
        0
    );

    assert_eq!(
        store
            .teachers
            .change_password(&t.id, "$argon2id$new", NOW)
            .await
            .unwrap(),
        Some(1)
    );
    let after = store.teachers.by_id(&t.id).await.unwrap().unwrap();
    assert_eq!(
        (after.token_epoch, after.password_hash.as_deref()),
        (1, Some("$argon2id$new"))
    );
    assert_eq!(
        store
            .teachers
            .set_status(&t.id, AccountStatus::Blocked, NOW)
            .await
            .unwrap(),
        Some(2)
    );
    let blocked = store.teachers.by_id(&t.id).await.unwrap().unwrap();
    assert_eq!(
        (blocked.status, blocked.token_epoch),
        (AccountStatus::Blocked, 2)
    );
    assert_eq!(
        store
            .teachers
            .set_status(&t.id, AccountStatus::Active, NOW)
            .await
            .unwrap(),
        Some(3)
    );
    let nobody = Id::generate();
    assert_eq!(
        store
            .teachers
            .change_password(&nobody, "x", NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .teachers
            .set_status(&nobody, AccountStatus::Blocked, NOW)
            .await
            .unwrap(),
        None
    );

    let a = admin("epoch@educoin.app");
    store.admins.insert(&a).await.unwrap();
    let store = std::sync::Arc::new(store);
    let racing: Vec<_> = (0..10)
        .map(|i| {
            let (store, id) = (store.clone(), a.id.clone());
            tokio::spawn(async move {
                store
                    .admins
                    .change_password(&id, &format!("$argon2id${i}"), NOW)
                    .await
            })
        })
        .collect();
    let mut epochs = Vec::new();
    for r in racing {
        epochs.push(r.await.unwrap().unwrap().unwrap());
    }
    epochs.sort();
    assert_eq!(epochs, (1..=10).collect::<Vec<i64>>());
    assert_eq!(
        store
            .admins
            .by_id(&a.id)
            .await
            .unwrap()
            .unwrap()
            .token_epoch,
        10
    );
    assert_eq!(
        store
            .admins
            .change_password(&nobody, "x", NOW)
            .await
            .unwrap(),
        None
    );
}

/// Upload records: who uploaded a file, replaced by a new record of the same name, forgotten.
async fn uploads_remember_their_owner(db: Db) {
    let (store, _dir) = open(db).await;
    let (alice, bob) = (Id::generate(), Id::generate());
    let name = "0123456789abcdef0123456789abcdef.png";
    assert_eq!(store.uploads.owner(name).await.unwrap(), None);
    store.uploads.record(name, &alice, Millis(1)).await.unwrap();
    assert_eq!(
        store.uploads.owner(name).await.unwrap(),
        Some(alice.clone())
    );
    store.uploads.record(name, &bob, Millis(2)).await.unwrap();
    assert_eq!(store.uploads.owner(name).await.unwrap(), Some(bob));
    store.uploads.forget(name).await.unwrap();
    assert_eq!(store.uploads.owner(name).await.unwrap(), None);
    // Forgetting twice is fine.
    store.uploads.forget(name).await.unwrap();
}

async fn ping_answers(db: Db) {
    let (store, _dir) = open(db).await;
    store.backend.ping().await.unwrap();
}

on_both_stores!(
    teachers_round_trip,
    teacher_email_is_unique,
    teachers_list_newest_first_with_search_and_pages,
    teacher_update_applies_only_set_fields,
    admins_round_trip_and_unique_email,
    credential_changes_move_the_token_epoch,
    uploads_remember_their_owner,
    ping_answers,
);
