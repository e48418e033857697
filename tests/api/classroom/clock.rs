//! Stamps come from the server's injected clock, never from an adapter's own reading of the time
//! (issue 12, item 2): a test that stops the clock knows every `createdAt`, `updatedAt` and
//! `approvedAt` exactly, on both stores.

use educoin::clock::Clock;
use educoin::domain::{Id, Millis};
use serde_json::json;

use super::assignments::{assign, classroom};
use crate::on_both_stores;
use crate::support::{Db, Kv, spawn_app};

async fn assignment_stamps_follow_the_injected_clock(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Ms Frizzle", "700001", 30).await;
    // Hours ahead of the real time, so a stamp read from any other clock cannot pass for these,
    // and within the day the callers' access tokens live.
    let at = |hours: i64| Millis(app.clock().now().0 + hours * 3_600_000 + 123);
    let (assigned, achieved, approved) = (at(1), at(2), at(3));

    app.clock().set(assigned);
    let aid = assign(&app, &c).await;
    let listed = app.get("/assign-task", Some(&c.teacher.token)).await;
    let data = listed.ok();
    assert_eq!(data[0]["createdAt"], assigned.to_iso());
    assert_eq!(data[0]["updatedAt"], assigned.to_iso());

    app.clock().set(achieved);
    let res = app
        .patch(
            &format!("/assign-task/achieve/{aid}"),
            Some(&c.student.token),
            json!({}),
        )
        .await;
    assert_eq!(res.ok()["updatedAt"], achieved.to_iso(), "{}", res.text);

    app.clock().set(approved);
    let res = app
        .patch(
            &format!("/assign-task/approve/{aid}"),
            Some(&c.teacher.token),
            json!({}),
        )
        .await;
    assert_eq!(res.ok()["updatedAt"], approved.to_iso(), "{}", res.text);

    let stored = app
        .state
        .store
        .task_assignments
        .by_id(&Id::parse(&aid).unwrap())
        .await
        .unwrap()
        .expect("the assignment is stored");
    assert_eq!(stored.created_at, assigned);
    assert_eq!(stored.approved_at, Some(approved));
    assert_eq!(stored.updated_at, approved);
    assert_eq!(stored.updated_at, stored.approved_at.unwrap());
}

on_both_stores!(assignment_stamps_follow_the_injected_clock);
