//! Classroom events reach the right socket, through the official `socket.io-client`: the student's
//! socket hears its teacher's approval; another student's socket hears nothing; with Redis, a
//! socket on one instance hears an approval made through another.

use std::time::Duration;

use serde_json::{Value, json};

use super::assignments::{Classroom, assign, classroom};
use crate::on_both_stores;
use crate::support::shapes::id;
use crate::support::socket::{SocketClient, SocketTransport, WAIT};
use crate::support::{Db, Kv, Res, TestApp, User, services, spawn_app, spawn_app_with};

const QUIET: Duration = Duration::from_millis(800);

fn event_for(c: &User) -> String {
    format!("notification::{}", c.id)
}

/// The newest stored notification of `c`: what the socket must have carried.
async fn newest_notification(app: &TestApp, c: &User) -> Value {
    let Res { status, body, .. } = app.get("/notifications", Some(&c.token)).await;
    assert_eq!(status, 200, "{body}");
    body["data"][0].clone()
}

async fn expect_notification(sock: &mut SocketClient, app: &TestApp, to: &User, kind: &str) {
    let (name, arg) = sock.next_event(WAIT).await;
    assert_eq!(name, event_for(to));
    assert_eq!(arg["type"], kind, "{arg}");
    assert_eq!(
        arg,
        newest_notification(app, to).await,
        "the stored document"
    );
}

async fn the_students_socket_hears_its_approval_and_no_one_elses(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Ms Live", "730001", 25).await;
    let other = app.student_of(&c.teacher.token, "Class 5", "730002").await;
    let mut kid = SocketClient::connect(&app, &c.student.token, SocketTransport::WebSocket).await;
    let mut bystander = SocketClient::connect(&app, &other.token, SocketTransport::WebSocket).await;
    let mut teacher =
        SocketClient::connect(&app, &c.teacher.token, SocketTransport::WebSocket).await;

    let aid = assign(&app, &c).await;
    expect_notification(&mut kid, &app, &c.student, "taskAssigned").await;
    let Res { status, .. } = app.achieve(&c.student.token, &aid).await;
    assert_eq!(status, 200);
    expect_notification(&mut teacher, &app, &c.teacher, "taskAchieved").await;
    let Res { status, .. } = app.approve(&c.teacher.token, &aid).await;
    assert_eq!(status, 200);
    expect_notification(&mut kid, &app, &c.student, "taskApproved").await;

    bystander.assert_no_event(QUIET).await;
    kid.assert_no_event(QUIET).await;
    teacher.assert_no_event(QUIET).await;
}

on_both_stores!(the_students_socket_hears_its_approval_and_no_one_elses);

/// Two replicas: one MongoDB database, one Redis, the same signing keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_through_one_instance_reaches_a_socket_on_another() {
    let database = services::fresh_mongodb_url();
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let shared = |env: &mut std::collections::BTreeMap<String, String>| {
        env.insert("DATABASE_URL".into(), database.clone());
        env.insert("REDIS_KEY_PREFIX".into(), prefix.clone());
        env.insert("JWT_SECRET".into(), "a".repeat(64));
        env.insert("JWT_REFRESH_SECRET".into(), "b".repeat(64));
        env.insert("PASSCODE_KEY".into(), "c".repeat(64));
    };
    let a = spawn_app_with(Db::Mongo, Kv::Redis, shared).await;
    let b = spawn_app_with(Db::Mongo, Kv::Redis, shared).await;
    let c: Classroom = classroom(&b, "Ms Replica", "730101", 40).await;
    let mut on_a = SocketClient::connect(&a, &c.student.token, SocketTransport::WebSocket).await;

    // A replica subscribes to Redis in the background after start; assign (through B) until A's
    // socket hears of it, each time to a fresh task so that every assignment is new.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut assigned = None;
    for n in 0.. {
        let task = b
            .create(
                &c.teacher.token,
                "/task/create-task",
                json!({"name": format!("Warm-up {n}"), "points": 40,
                       "category": id(&c.category), "type": "good",
                       "repeat": "everyday"}),
            )
            .await;
        let data = b
            .create(
                &c.teacher.token,
                "/assign-task",
                json!({"task": id(&task), "student": c.student.id.to_string()}),
            )
            .await;
        if let Some(line) = on_a.next_line(Duration::from_millis(500)).await {
            assert_eq!(line["type"], "event", "{line}");
            assert_eq!(line["name"], event_for(&c.student));
            assigned = Some(id(&data));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no event through Redis"
        );
    }
    // Events of earlier attempts may still arrive; let them.
    while on_a.next_line(QUIET).await.is_some() {}

    let aid = assigned.unwrap();
    let Res { status, .. } = a.achieve(&c.student.token, &aid).await;
    assert_eq!(status, 200);
    let Res { status, .. } = b.approve(&c.teacher.token, &aid).await;
    assert_eq!(status, 200);
    expect_notification(&mut on_a, &a, &c.student, "taskApproved").await;
    on_a.assert_no_event(QUIET).await;
}
