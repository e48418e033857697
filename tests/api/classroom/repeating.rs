//! The repeating-task job, driven with a chosen clock: an approved task opens again once per
//! period, never twice, even with two runners racing, on both stores.

use educoin::domain::Millis;
use educoin::domain::assignment::{TaskAssignment, TaskStatus};
use educoin::jobs::repeat_tasks::run_once;
use serde_json::json;

use super::assignments::{Classroom, assign, classroom};
use crate::on_both_stores;
use crate::support::shapes::id;
use crate::support::{Db, Kv, Res, TestApp, User, spawn_app};

const DAY: i64 = 24 * 60 * 60 * 1000;

async fn complete(app: &TestApp, c: &Classroom, assignment: &str) {
    let Res { status, body, .. } = app.achieve(&c.student.token, assignment).await;
    assert_eq!(status, 200, "{body}");
    let Res { status, body, .. } = app.approve(&c.teacher.token, assignment).await;
    assert_eq!(status, 200, "{body}");
}

async fn assignments_of(app: &TestApp, s: &User) -> Vec<TaskAssignment> {
    app.state
        .store
        .task_assignments
        .list_for_student(&s.id)
        .await
        .unwrap()
}

/// Two runners at once, as two replicas would; returns how many each opened.
async fn race(app: &TestApp, now: Millis) -> u64 {
    let store = &app.state.store;
    let (a, b) = tokio::join!(run_once(store, now), run_once(store, now));
    a.unwrap() + b.unwrap()
}

async fn a_weekly_task_opens_once_next_week(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Ms Weekly", "720001", 15).await;
    let first = assign(&app, &c).await;
    complete(&app, &c, &first).await;

    let done = assignments_of(&app, &c.student).await;
    assert_eq!(done.len(), 1);
    let due = done[0]
        .renew_at
        .expect("a completed assignment is scheduled to repeat");
    // Next Monday, midnight UTC.
    let due_day = chrono::DateTime::from_timestamp_millis(due.0).unwrap();
    assert_eq!(
        due_day.format("%a %H:%M:%S%.3f").to_string(),
        "Mon 00:00:00.000"
    );
    assert!(due.0 - Millis::now().0 <= 7 * DAY);

    // Not yet due: nothing opens.
    assert_eq!(race(&app, Millis(due.0 - 1)).await, 0);
    assert_eq!(assignments_of(&app, &c.student).await.len(), 1);

    // Due: exactly one opens, however many runners race, and running again changes nothing.
    assert_eq!(race(&app, due).await, 1);
    assert_eq!(race(&app, Millis(due.0 + DAY)).await, 0);
    let all = assignments_of(&app, &c.student).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let next = all.iter().find(|a| a.id.to_string() != first).unwrap();
    assert_eq!(next.status, TaskStatus::NotStarted);
    assert_eq!(next.task.to_string(), id(&c.task));
    assert_eq!(next.origin, format!("after:{first}"));

    // The repetition shows in the student's list and is done like any other; it then repeats in
    // its own next period, once.
    let Res { body, .. } = app
        .get("/assign-task/student", Some(&c.student.token))
        .await;
    assert_eq!(body["data"][0]["_id"], next.id.to_string());
    assert_eq!(body["data"][0]["status"], "notStarted");
    complete(&app, &c, &next.id.to_string()).await;
    let approved = app
        .state
        .store
        .task_assignments
        .by_id(&next.id)
        .await
        .unwrap()
        .unwrap();
    let due2 = approved.renew_at.unwrap();
    assert_eq!(race(&app, due2).await, 1);
    assert_eq!(race(&app, due2).await, 0);
    assert_eq!(assignments_of(&app, &c.student).await.len(), 3);
    let p = app.stored_student(&c.student.id).await;
    assert_eq!(p.points, 30);
}

async fn racing_runners_open_each_repetition_once(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Ms Many", "720101", 5).await;
    let mut students = vec![];
    for i in 0..6 {
        let s = app
            .student_of(&c.teacher.token, "Class 5", &format!("72020{i}"))
            .await;
        students.push(s);
    }
    let mut latest = Millis(0);
    for s in &students {
        let data = app
            .create(
                &c.teacher.token,
                "/assign-task",
                json!({"task": id(&c.task), "student": s.id.to_string()}),
            )
            .await;
        let aid = id(&data);
        let as_student = Classroom {
            teacher: User {
                id: c.teacher.id.clone(),
                token: c.teacher.token.clone(),
            },
            student: User {
                id: s.id.clone(),
                token: s.token.clone(),
            },
            category: c.category.clone(),
            task: c.task.clone(),
        };
        complete(&app, &as_student, &aid).await;
        let a = app
            .state
            .store
            .task_assignments
            .by_id(&educoin::domain::Id::parse(&aid).unwrap())
            .await
            .unwrap()
            .unwrap();
        latest = latest.max(a.renew_at.unwrap());
    }
    // One student's task was assigned again by hand before the job ran: the job leaves it be.
    let manual = Classroom {
        teacher: User {
            id: c.teacher.id.clone(),
            token: c.teacher.token.clone(),
        },
        student: User {
            id: students[0].id.clone(),
            token: students[0].token.clone(),
        },
        category: c.category.clone(),
        task: c.task.clone(),
    };
    assign(&app, &manual).await;

    let opened = race(&app, latest).await;
    assert_eq!(opened, 5);
    for s in &students {
        let open: Vec<_> = assignments_of(&app, s)
            .await
            .into_iter()
            .filter(|a| a.status == TaskStatus::NotStarted)
            .collect();
        assert_eq!(open.len(), 1, "one open assignment per student");
    }
    assert_eq!(race(&app, Millis(latest.0 + 40 * DAY)).await, 0);
}

on_both_stores!(
    a_weekly_task_opens_once_next_week,
    racing_runners_open_each_repetition_once,
);
