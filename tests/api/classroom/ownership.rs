//! Teacher A can neither see nor change teacher B's classes, students, categories, tasks, rewards,
//! assignments or notifications (nor can A's student touch B's student's): every route that takes
//! an id (in the path or the body) answers 404, and B's records stay as they were.

use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{call, id, ids, student, teacher};
use crate::on_both_stores;
use crate::support::{Db, Kv, spawn_app};

async fn another_teachers_records_are_not_found(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let a = teacher(&app, "Teacher A").await;
    let b = teacher(&app, "Teacher B").await;

    let b_class = b.class(&app, "B's class").await;
    let b_category = b.category(&app, "B's category").await;
    let b_task = b.task(&app, "B's task", &id(&b_category)).await;
    let b_reward = b.reward(&app, "B's reward").await;
    let a_category = a.category(&app, "A's category").await;
    let a_task = a.task(&app, "A's task", &id(&a_category)).await;

    a.class(&app, "A's class").await;
    let a_student = student(&app, &a, "A's class", "510001").await;
    let a_reward = a.reward(&app, "A's reward").await;
    let b_student = student(&app, &b, "B's class", "510002").await;
    let bs = b_student.id.to_string();
    let b_assigned = b
        .create(
            &app,
            "/api/v1/assign-task",
            json!({"task": id(&b_task), "student": bs}),
        )
        .await;
    let b_offered = b
        .create(
            &app,
            "/api/v1/assign-reward",
            json!({"reward": id(&b_reward), "student": bs}),
        )
        .await;
    let (bat, bar) = (id(&b_assigned), id(&b_offered));
    // B's student achieves B's task: B gets a notification.
    let (status, _) = b_student
        .patch(
            &app,
            &format!("/api/v1/assign-task/achieve/{bat}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = b.get(&app, "/api/v1/notifications").await;
    let b_notification = id(&body["data"][0]);
    let b_student_before = app.state.store.students.by_id(&b_student.id).await.unwrap();

    let (bc, bcat, bt, br) = (id(&b_class), id(&b_category), id(&b_task), id(&b_reward));
    let (a_s, a_t, a_r) = (a_student.id.to_string(), id(&a_task), id(&a_reward));
    let table: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/class/{bc}"), None),
        (
            Method::PATCH,
            format!("/api/v1/class/{bc}"),
            Some(json!({"className": "Taken over", "startDate": "2025-01-01"})),
        ),
        (Method::DELETE, format!("/api/v1/class/{bc}"), None),
        (
            Method::PATCH,
            format!("/api/v1/category/{bcat}"),
            Some(json!({"name": "Taken over", "image": "/images/x.png"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/task/{bt}"),
            Some(json!({"name": "Taken over", "points": 1})),
        ),
        // B's task with A's own category: still B's task.
        (
            Method::PATCH,
            format!("/api/v1/task/{bt}"),
            Some(json!({"category": id(&a_category)})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/reward/{br}"),
            Some(json!({"name": "Taken over", "requiredPoints": 0})),
        ),
        // Ids in bodies.
        (
            Method::POST,
            "/api/v1/task/create-task".into(),
            Some(
                json!({"name": "x", "points": 5, "category": bcat, "type": "good", "repeat": "everyday"}),
            ),
        ),
        (
            Method::PATCH,
            format!("/api/v1/task/{}", id(&a_task)),
            Some(json!({"category": bcat})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/task/{}", id(&a_task)),
            Some(json!({"category": b_category.clone()})),
        ),
        (
            Method::POST,
            "/api/v1/student/create-student".into(),
            Some(json!({"name": "Kid", "password": "500001", "class": "B's class"})),
        ),
        // B's students, assignments and notifications.
        (Method::GET, format!("/api/v1/student/{bs}"), None),
        (
            Method::GET,
            format!("/api/v1/student/statistics/{bs}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/assign-task/approve/{bat}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/notifications/{b_notification}"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/assign-task".into(),
            Some(json!({"task": bt, "student": a_s})),
        ),
        (
            Method::POST,
            "/api/v1/assign-task".into(),
            Some(json!({"task": a_t, "student": bs})),
        ),
        (
            Method::POST,
            "/api/v1/assign-reward".into(),
            Some(json!({"reward": br, "student": a_s})),
        ),
        (
            Method::POST,
            "/api/v1/assign-reward".into(),
            Some(json!({"reward": a_r, "student": bs})),
        ),
    ];
    for (method, path, body) in table {
        let (status, resp) = call(&app, method.clone(), &path, Some(&a.token), body).await;
        assert_eq!(status, 404, "{method} {path}: {resp}");
        assert_eq!(resp["success"], false);
        let message = resp["message"].as_str().unwrap();
        assert!(message.ends_with("not found."), "{message}");
        assert!(!resp.to_string().contains(&b.id.to_string()), "no leak");
    }

    // A's student cannot touch B's student's assignments either.
    for (method, path) in [
        (Method::PATCH, format!("/api/v1/assign-task/achieve/{bat}")),
        (Method::POST, format!("/api/v1/assign-reward/claim/{bar}")),
        (
            Method::PATCH,
            format!("/api/v1/notifications/{b_notification}"),
        ),
    ] {
        let (status, resp) = call(&app, method.clone(), &path, Some(&a_student.token), None).await;
        assert_eq!(status, 404, "{method} {path}: {resp}");
    }
    let (_, body) = a_student.get(&app, "/api/v1/assign-task/student").await;
    assert_eq!(body["data"], json!([]));
    let (_, body) = a_student.get(&app, "/api/v1/assign-reward/student").await;
    assert_eq!(body["data"], json!([]));
    let (_, body) = a_student.get(&app, "/api/v1/notifications").await;
    assert_eq!(body["data"], json!([]));
    for path in [
        "/api/v1/assign-task",
        "/api/v1/assign-task/pending",
        "/api/v1/assign-reward",
    ] {
        let (_, body) = a.get(&app, path).await;
        assert_eq!(body["data"], json!([]), "{path}");
    }
    let (_, body) = a.get(&app, "/api/v1/notifications").await;
    assert_eq!(body["data"], json!([]));

    // B's assignments and student are untouched.
    let (_, body) = b.get(&app, "/api/v1/assign-task/pending").await;
    assert_eq!(ids(&body), [bat.as_str()]);
    let (_, body) = b_student.get(&app, "/api/v1/assign-reward/student").await;
    assert_eq!(ids(&body), [bar.as_str()]);
    let (_, body) = b.get(&app, "/api/v1/notifications").await;
    assert_eq!(body["totalNotification"], 1);
    assert_eq!(
        app.state.store.students.by_id(&b_student.id).await.unwrap(),
        b_student_before
    );

    // A's lists hold none of B's records.
    let (_, body) = a.get(&app, "/api/v1/class").await;
    assert_eq!(ids(&body).len(), 1, "only A's class");
    let (_, body) = a.get(&app, "/api/v1/category").await;
    assert_eq!(ids(&body), [id(&a_category)]);
    let (_, body) = a.get(&app, "/api/v1/task").await;
    assert_eq!(ids(&body), [id(&a_task)]);
    assert_eq!(body["data"][0]["category"]["_id"], id(&a_category));
    let (_, body) = a.get(&app, "/api/v1/reward").await;
    assert_eq!(ids(&body), [a_r.as_str()]);

    // B's records are as they were.
    let (status, body) = b.get(&app, &format!("/api/v1/class/{bc}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], b_class);
    let (_, body) = b.get(&app, "/api/v1/category").await;
    assert_eq!(body["data"], json!([b_category]));
    let (_, body) = b.get(&app, "/api/v1/task").await;
    assert_eq!(body["data"], json!([b_task]));
    let (_, body) = b.get(&app, "/api/v1/reward").await;
    assert_eq!(body["data"], json!([b_reward]));
    let (_, body) = a.get(&app, "/api/v1/task").await;
    assert_eq!(body["data"], json!([a_task]), "A's task kept its category");
}

on_both_stores!(another_teachers_records_are_not_found);
