//! Assigned tasks and rewards, points, statistics and notifications over HTTP, on both stores,
//! with the clients' exact bodies.

use serde_json::{Value, json};

use crate::on_both_stores;
use crate::support::shapes::{id, ids};
use crate::support::{Db, Kv, Res, TestApp, User, spawn_app};

/// A teacher with a class, a category, a student and a task worth `points`.
pub(crate) struct Classroom {
    pub teacher: User,
    pub student: User,
    pub category: Value,
    pub task: Value,
}

pub(crate) async fn classroom(app: &TestApp, name: &str, passcode: &str, points: i64) -> Classroom {
    let teacher = app.stored_teacher(name).await;
    app.class(&teacher.token, "Class 5").await;
    let student = app.student_of(&teacher.token, "Class 5", passcode).await;
    let category = app.category(&teacher.token, "Kindness").await;
    let task = app
        .create(
            &teacher.token,
            "/task/create-task",
            json!({"name": "Help a friend", "points": points, "category": id(&category),
                   "type": "good", "repeat": "weekly"}),
        )
        .await;
    Classroom {
        teacher,
        student,
        category,
        task,
    }
}

pub(crate) async fn assign(app: &TestApp, c: &Classroom) -> String {
    let data = app
        .create(
            &c.teacher.token,
            "/assign-task",
            json!({"task": id(&c.task), "student": c.student.id.to_string()}),
        )
        .await;
    id(&data)
}

pub(crate) async fn profile(app: &TestApp, s: &User) -> Value {
    let Res { status, body, .. } = app.get("/student/profile", Some(&s.token)).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

async fn a_task_goes_from_assigned_to_approved(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Ms Frizzle", "700001", 30).await;
    let sid = c.student.id.to_string();

    // POST /assign-task: data is the assignment, `student` as an id.
    let Res { status, body, .. } = app
        .post(
            "/assign-task",
            Some(&c.teacher.token),
            json!({"task": id(&c.task), "student": sid}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let assignment = body["data"].clone();
    let aid = id(&assignment);
    assert_eq!(assignment["status"], "notStarted");
    assert_eq!(assignment["student"], sid);
    assert_eq!(assignment["task"]["_id"], id(&c.task));
    assert_eq!(assignment["task"]["category"], c.category);

    // The same task again while it is open: 409, nothing written.
    let Res { status, body, .. } = app
        .post(
            "/assign-task",
            Some(&c.teacher.token),
            json!({"task": id(&c.task), "student": sid}),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // GET /assign-task: all the teacher's, task populated, student as an id.
    let Res { status, body, .. } = app.get("/assign-task", Some(&c.teacher.token)).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), [aid.as_str()]);
    assert_eq!(body["data"][0]["student"], sid);
    assert_eq!(body["data"][0]["task"]["name"], "Help a friend");
    assert_eq!(body["data"][0]["task"]["category"]["name"], "Kindness");
    assert!(body.get("pagination").is_none());

    // The student's view: task with category, teacher as {_id, name, email, profile}.
    let Res { status, body, .. } = app
        .get("/assign-task/student", Some(&c.student.token))
        .await;
    assert_eq!(status, 200, "{body}");
    let mine = &body["data"][0];
    assert_eq!(mine["_id"], aid);
    assert_eq!(mine["task"]["category"]["_id"], id(&c.category));
    let teacher = mine["teacher"].as_object().unwrap();
    let mut keys: Vec<_> = teacher.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["_id", "email", "name", "profile"]);
    assert_eq!(teacher["_id"], c.teacher.id.to_string());
    assert_eq!(teacher["name"], "Ms Frizzle");

    // Approving before the student achieved it: 409.
    let Res { status, body, .. } = app.approve(&c.teacher.token, &aid).await;
    assert_eq!(status, 409, "{body}");

    // Achieve: pending points.
    let Res { status, body, .. } = app.achieve(&c.student.token, &aid).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "inProgress");
    let p = profile(&app, &c.student).await;
    assert_eq!(
        (p["points"].as_i64(), p["pendingPoints"].as_i64()),
        (Some(0), Some(30))
    );
    let Res { status, .. } = app.achieve(&c.student.token, &aid).await;
    assert_eq!(status, 409, "achieving twice");

    // Pending: task and student populated.
    let Res { status, body, .. } = app
        .get("/assign-task/pending", Some(&c.teacher.token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), [aid.as_str()]);
    assert_eq!(body["data"][0]["student"]["_id"], sid);
    assert_eq!(body["data"][0]["student"]["pendingPoints"], 30);
    assert!(body["data"][0]["student"].get("password").is_none());
    assert_eq!(body["data"][0]["task"]["category"]["_id"], id(&c.category));

    // Approve: points move, level follows.
    let Res { status, body, .. } = app.approve(&c.teacher.token, &aid).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "completed");
    let p = profile(&app, &c.student).await;
    assert_eq!(
        (
            p["points"].as_i64(),
            p["pendingPoints"].as_i64(),
            p["level"].as_i64()
        ),
        (Some(30), Some(0), Some(1))
    );
    let Res { status, .. } = app.approve(&c.teacher.token, &aid).await;
    assert_eq!(status, 409, "approving twice");
    let Res { body, .. } = app
        .get("/assign-task/pending", Some(&c.teacher.token))
        .await;
    assert_eq!(body["data"], json!([]));

    // Once approved, the task can be assigned again.
    let second = assign(&app, &c).await;
    let Res { status, body, .. } = app
        .get(
            &format!("/student/statistics/{sid}"),
            Some(&c.teacher.token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({"level": 1, "points": 30, "earnedPoints": 30, "totalAssignTask": 2,
               "totalCompletedTask": 1, "totalUnCompletedTask": 1})
    );
    assert_ne!(second, aid);

    // Notifications: the student heard of two assignments and one approval, the teacher of one
    // achievement; newest first, with the unread count.
    let Res { status, body, .. } = app
        .get("/notifications?page=undefined", Some(&c.student.token))
        .await;
    assert_eq!(status, 200, "{body}");
    let kinds: Vec<_> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].clone())
        .collect();
    assert_eq!(kinds, ["taskAssigned", "taskApproved", "taskAssigned"]);
    assert_eq!(body["totalNotification"], 3);
    assert_eq!(body["pagination"]["total"], 3);
    let n = &body["data"][0];
    assert_eq!(n["recipient"], sid);
    assert_eq!(n["recipientModel"], "Student");
    assert_eq!(n["role"], "STUDENT");
    assert_eq!(n["read"], false);
    let Res { body, .. } = app.get("/notifications", Some(&c.teacher.token)).await;
    assert_eq!(body["data"][0]["type"], "taskAchieved");
    assert_eq!(body["data"][0]["recipientModel"], "Teacher");
    assert_eq!(body["totalNotification"], 1);

    // PATCH /notifications/:id marks read, idempotently; someone else's is 404.
    let nid = id(n);
    let Res { status, body, .. } = app
        .patch(
            &format!("/notifications/{nid}"),
            Some(&c.student.token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["read"], true);
    let Res { status, .. } = app
        .patch(
            &format!("/notifications/{nid}"),
            Some(&c.student.token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let Res { status, .. } = app
        .patch(
            &format!("/notifications/{nid}"),
            Some(&c.teacher.token),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    let Res { body, .. } = app.get("/notifications", Some(&c.student.token)).await;
    assert_eq!(body["totalNotification"], 2);
}

async fn rewards_are_claimed_with_points(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Mr Keating", "700002", 40).await;
    let sid = c.student.id.to_string();
    let reward = app
        .create(
            &c.teacher.token,
            "/reward/create-reward",
            json!({"name": "Extra recess", "image": "/images/gift.png", "requiredPoints": "30"}),
        )
        .await;
    let Res { status, body, .. } = app
        .post(
            "/assign-reward",
            Some(&c.teacher.token),
            json!({"reward": id(&reward), "student": sid}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rid = id(&body["data"]);
    assert_eq!(body["data"]["status"], "unclaimed");

    // GET /assign-reward: reward and student populated.
    let Res { body, .. } = app.get("/assign-reward", Some(&c.teacher.token)).await;
    assert_eq!(ids(&body), [rid.as_str()]);
    assert_eq!(body["data"][0]["reward"], reward);
    assert_eq!(body["data"][0]["student"]["_id"], sid);

    // The student sees it unclaimed, with reward and teacher populated.
    let Res { body, .. } = app
        .get("/assign-reward/student", Some(&c.student.token))
        .await;
    assert_eq!(ids(&body), [rid.as_str()]);
    assert_eq!(body["data"][0]["reward"]["requiredPoints"], 30);
    assert_eq!(body["data"][0]["teacher"]["name"], "Mr Keating");
    let Res { body, .. } = app.get("/assign-reward/earn", Some(&c.student.token)).await;
    assert_eq!(body["data"], json!([]));

    // Not enough points: 409 with a sentence, nothing changes.
    let Res { status, body, .. } = app
        .post(
            &format!("/assign-reward/claim/{rid}"),
            Some(&c.student.token),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("30 points"),
        "{body}"
    );

    // Earn 40, claim for 30.
    let aid = assign(&app, &c).await;
    app.achieve(&c.student.token, &aid).await;
    app.approve(&c.teacher.token, &aid).await;
    let Res { status, body, .. } = app
        .post(
            &format!("/assign-reward/claim/{rid}"),
            Some(&c.student.token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "claimed");
    assert_eq!(body["data"]["paid"], 30);
    let p = profile(&app, &c.student).await;
    assert_eq!(
        (p["points"].as_i64(), p["rewards"].as_i64()),
        (Some(10), Some(1))
    );
    let Res { status, .. } = app
        .post(
            &format!("/assign-reward/claim/{rid}"),
            Some(&c.student.token),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "claiming twice");
    let Res { body, .. } = app.get("/assign-reward/earn", Some(&c.student.token)).await;
    assert_eq!(ids(&body), [rid.as_str()]);
    let Res { body, .. } = app
        .get("/assign-reward/student", Some(&c.student.token))
        .await;
    assert_eq!(body["data"], json!([]));

    // The teacher heard of the claim.
    let Res { body, .. } = app.get("/notifications", Some(&c.teacher.token)).await;
    assert_eq!(body["data"][0]["type"], "rewardClaimed");
    let Res { body, .. } = app.get("/notifications", Some(&c.student.token)).await;
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "rewardAssigned")
    );
}

async fn bad_requests_change_nothing(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Ms Honey", "700003", 10).await;
    let sid = c.student.id.to_string();
    let tid = id(&c.task);
    let missing = educoin::domain::Id::generate().to_string();
    let cases = [
        (json!({"student": sid}), 400),
        (json!({"task": tid}), 400),
        (json!({"task": "undefined", "student": sid}), 400),
        (json!({"task": tid, "student": 12}), 400),
        (json!({"task": missing, "student": sid}), 404),
        (json!({"task": tid, "student": missing}), 404),
    ];
    for (body, want) in cases {
        let Res {
            status, body: resp, ..
        } = app
            .post("/assign-task", Some(&c.teacher.token), body.clone())
            .await;
        assert_eq!(status, want, "{body}: {resp}");
        assert_eq!(resp["success"], false);
    }
    for (body, want) in [
        (json!({"student": sid}), 400),
        (json!({"reward": missing, "student": sid}), 404),
    ] {
        let Res {
            status, body: resp, ..
        } = app
            .post("/assign-reward", Some(&c.teacher.token), body.clone())
            .await;
        assert_eq!(status, want, "{body}: {resp}");
    }
    for path in [
        "/assign-task/approve/undefined",
        "/assign-task/achieve/undefined",
        "/notifications/undefined",
    ] {
        let caller = if path.contains("approve") {
            &c.teacher
        } else {
            &c.student
        };
        let Res { status, .. } = app.patch(path, Some(&caller.token), json!({})).await;
        assert_eq!(status, 400, "{path}");
    }
    let Res { status, .. } = app
        .post(
            "/assign-reward/claim/undefined",
            Some(&c.student.token),
            json!({}),
        )
        .await;
    assert_eq!(status, 400);
    let Res { status, .. } = app
        .get("/student/statistics/undefined", Some(&c.teacher.token))
        .await;
    assert_eq!(status, 400);

    // Wrong roles (403), no token (401) and `Bearer undefined` (400) on every route: the role
    // matrix (tests/api/role_matrix.rs).

    // Nothing was written.
    let Res { body, .. } = app.get("/assign-task", Some(&c.teacher.token)).await;
    assert_eq!(body["data"], json!([]));
    let Res { body, .. } = app.get("/assign-reward", Some(&c.teacher.token)).await;
    assert_eq!(body["data"], json!([]));
}

on_both_stores!(
    a_task_goes_from_assigned_to_approved,
    rewards_are_claimed_with_points,
    bad_requests_change_nothing,
);
