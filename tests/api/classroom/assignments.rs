//! Assigned tasks and rewards, points, statistics and notifications over HTTP, on both stores,
//! with the clients' exact bodies.

use serde_json::{Value, json};

use super::helpers::{Caller, id, ids, student, teacher};
use crate::on_both_stores;
use crate::support::{Db, Kv, TestApp, spawn_app};

/// A teacher with a class, a category, a student and a task worth `points`.
pub(crate) struct Classroom {
    pub teacher: Caller,
    pub student: Caller,
    pub category: Value,
    pub task: Value,
}

pub(crate) async fn classroom(app: &TestApp, name: &str, passcode: &str, points: i64) -> Classroom {
    let teacher = teacher(app, name).await;
    teacher.class(app, "Class 5").await;
    let student = student(app, &teacher, "Class 5", passcode).await;
    let category = teacher.category(app, "Kindness").await;
    let task = teacher
        .create(
            app,
            "/api/v1/task/create-task",
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
    let data = c
        .teacher
        .create(
            app,
            "/api/v1/assign-task",
            json!({"task": id(&c.task), "student": c.student.id.to_string()}),
        )
        .await;
    id(&data)
}

async fn profile(app: &TestApp, s: &Caller) -> Value {
    let (status, body) = s.get(app, "/api/v1/student/profile").await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

async fn a_task_goes_from_assigned_to_approved(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Ms Frizzle", "700001", 30).await;
    let sid = c.student.id.to_string();

    // POST /assign-task: data is the assignment, `student` as an id.
    let (status, body) = c
        .teacher
        .post(
            &app,
            "/api/v1/assign-task",
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
    let (status, body) = c
        .teacher
        .post(
            &app,
            "/api/v1/assign-task",
            json!({"task": id(&c.task), "student": sid}),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // GET /assign-task: all the teacher's, task populated, student as an id.
    let (status, body) = c.teacher.get(&app, "/api/v1/assign-task").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), [aid.as_str()]);
    assert_eq!(body["data"][0]["student"], sid);
    assert_eq!(body["data"][0]["task"]["name"], "Help a friend");
    assert_eq!(body["data"][0]["task"]["category"]["name"], "Kindness");
    assert!(body.get("pagination").is_none());

    // The student's view: task with category, teacher as {_id, name, email, profile}.
    let (status, body) = c.student.get(&app, "/api/v1/assign-task/student").await;
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
    let (status, body) = c
        .teacher
        .patch(
            &app,
            &format!("/api/v1/assign-task/approve/{aid}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // Achieve: pending points.
    let (status, body) = c
        .student
        .patch(
            &app,
            &format!("/api/v1/assign-task/achieve/{aid}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "inProgress");
    let p = profile(&app, &c.student).await;
    assert_eq!(
        (p["points"].as_i64(), p["pendingPoints"].as_i64()),
        (Some(0), Some(30))
    );
    let (status, _) = c
        .student
        .patch(
            &app,
            &format!("/api/v1/assign-task/achieve/{aid}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "achieving twice");

    // Pending: task and student populated.
    let (status, body) = c.teacher.get(&app, "/api/v1/assign-task/pending").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), [aid.as_str()]);
    assert_eq!(body["data"][0]["student"]["_id"], sid);
    assert_eq!(body["data"][0]["student"]["pendingPoints"], 30);
    assert!(body["data"][0]["student"].get("password").is_none());
    assert_eq!(body["data"][0]["task"]["category"]["_id"], id(&c.category));

    // Approve: points move, level follows.
    let (status, body) = c
        .teacher
        .patch(
            &app,
            &format!("/api/v1/assign-task/approve/{aid}"),
            json!({}),
        )
        .await;
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
    let (status, _) = c
        .teacher
        .patch(
            &app,
            &format!("/api/v1/assign-task/approve/{aid}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "approving twice");
    let (_, body) = c.teacher.get(&app, "/api/v1/assign-task/pending").await;
    assert_eq!(body["data"], json!([]));

    // Once approved, the task can be assigned again.
    let second = assign(&app, &c).await;
    let (status, body) = c
        .teacher
        .get(&app, &format!("/api/v1/student/statistics/{sid}"))
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
    let (status, body) = c
        .student
        .get(&app, "/api/v1/notifications?page=undefined")
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
    let (_, body) = c.teacher.get(&app, "/api/v1/notifications").await;
    assert_eq!(body["data"][0]["type"], "taskAchieved");
    assert_eq!(body["data"][0]["recipientModel"], "Teacher");
    assert_eq!(body["totalNotification"], 1);

    // PATCH /notifications/:id marks read, idempotently; someone else's is 404.
    let nid = id(n);
    let (status, body) = c
        .student
        .patch(&app, &format!("/api/v1/notifications/{nid}"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["read"], true);
    let (status, _) = c
        .student
        .patch(&app, &format!("/api/v1/notifications/{nid}"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = c
        .teacher
        .patch(&app, &format!("/api/v1/notifications/{nid}"), json!({}))
        .await;
    assert_eq!(status, 404);
    let (_, body) = c.student.get(&app, "/api/v1/notifications").await;
    assert_eq!(body["totalNotification"], 2);
}

async fn rewards_are_claimed_with_points(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Mr Keating", "700002", 40).await;
    let sid = c.student.id.to_string();
    let reward = c
        .teacher
        .create(
            &app,
            "/api/v1/reward/create-reward",
            json!({"name": "Extra recess", "image": "/images/gift.png", "requiredPoints": "30"}),
        )
        .await;
    let (status, body) = c
        .teacher
        .post(
            &app,
            "/api/v1/assign-reward",
            json!({"reward": id(&reward), "student": sid}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rid = id(&body["data"]);
    assert_eq!(body["data"]["status"], "unclaimed");

    // GET /assign-reward: reward and student populated.
    let (_, body) = c.teacher.get(&app, "/api/v1/assign-reward").await;
    assert_eq!(ids(&body), [rid.as_str()]);
    assert_eq!(body["data"][0]["reward"], reward);
    assert_eq!(body["data"][0]["student"]["_id"], sid);

    // The student sees it unclaimed, with reward and teacher populated.
    let (_, body) = c.student.get(&app, "/api/v1/assign-reward/student").await;
    assert_eq!(ids(&body), [rid.as_str()]);
    assert_eq!(body["data"][0]["reward"]["requiredPoints"], 30);
    assert_eq!(body["data"][0]["teacher"]["name"], "Mr Keating");
    let (_, body) = c.student.get(&app, "/api/v1/assign-reward/earn").await;
    assert_eq!(body["data"], json!([]));

    // Not enough points: 409 with a sentence, nothing changes.
    let (status, body) = c
        .student
        .post(
            &app,
            &format!("/api/v1/assign-reward/claim/{rid}"),
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
    c.student
        .patch(
            &app,
            &format!("/api/v1/assign-task/achieve/{aid}"),
            json!({}),
        )
        .await;
    c.teacher
        .patch(
            &app,
            &format!("/api/v1/assign-task/approve/{aid}"),
            json!({}),
        )
        .await;
    let (status, body) = c
        .student
        .post(
            &app,
            &format!("/api/v1/assign-reward/claim/{rid}"),
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
    let (status, _) = c
        .student
        .post(
            &app,
            &format!("/api/v1/assign-reward/claim/{rid}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "claiming twice");
    let (_, body) = c.student.get(&app, "/api/v1/assign-reward/earn").await;
    assert_eq!(ids(&body), [rid.as_str()]);
    let (_, body) = c.student.get(&app, "/api/v1/assign-reward/student").await;
    assert_eq!(body["data"], json!([]));

    // The teacher heard of the claim.
    let (_, body) = c.teacher.get(&app, "/api/v1/notifications").await;
    assert_eq!(body["data"][0]["type"], "rewardClaimed");
    let (_, body) = c.student.get(&app, "/api/v1/notifications").await;
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
        let (status, resp) = c
            .teacher
            .post(&app, "/api/v1/assign-task", body.clone())
            .await;
        assert_eq!(status, want, "{body}: {resp}");
        assert_eq!(resp["success"], false);
    }
    for (body, want) in [
        (json!({"student": sid}), 400),
        (json!({"reward": missing, "student": sid}), 404),
    ] {
        let (status, resp) = c
            .teacher
            .post(&app, "/api/v1/assign-reward", body.clone())
            .await;
        assert_eq!(status, want, "{body}: {resp}");
    }
    for path in [
        "/api/v1/assign-task/approve/undefined",
        "/api/v1/assign-task/achieve/undefined",
        "/api/v1/notifications/undefined",
    ] {
        let caller = if path.contains("approve") {
            &c.teacher
        } else {
            &c.student
        };
        let (status, _) = caller.patch(&app, path, json!({})).await;
        assert_eq!(status, 400, "{path}");
    }
    let (status, _) = c
        .student
        .post(&app, "/api/v1/assign-reward/claim/undefined", json!({}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = c
        .teacher
        .get(&app, "/api/v1/student/statistics/undefined")
        .await;
    assert_eq!(status, 400);

    // Wrong roles are 403.
    for (caller, path) in [
        (&c.student, "/api/v1/assign-task"),
        (&c.student, "/api/v1/assign-task/pending"),
        (&c.student, "/api/v1/assign-reward"),
        (&c.teacher, "/api/v1/assign-task/student"),
        (&c.teacher, "/api/v1/assign-reward/student"),
        (&c.teacher, "/api/v1/assign-reward/earn"),
        (&c.student, &format!("/api/v1/student/statistics/{sid}")),
    ] {
        let (status, _) = caller.get(&app, path).await;
        assert_eq!(status, 403, "{path}");
    }
    let admin = super::helpers::admin(&app).await;
    let (status, _) = admin.get(&app, "/api/v1/notifications").await;
    assert_eq!(status, 403);

    // Nothing was written.
    let (_, body) = c.teacher.get(&app, "/api/v1/assign-task").await;
    assert_eq!(body["data"], json!([]));
    let (_, body) = c.teacher.get(&app, "/api/v1/assign-reward").await;
    assert_eq!(body["data"], json!([]));
}

on_both_stores!(
    a_task_goes_from_assigned_to_approved,
    rewards_are_claimed_with_points,
    bad_requests_change_nothing,
);
