//! Teacher A can neither see nor change teacher B's classes, students, categories, tasks, rewards,
//! assignments or notifications (nor can A's student touch B's student's): every route that takes
//! an id (in the path or the body) answers 404, and B's records stay as they were.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_stores;
use crate::support::shapes::{id, ids};
use crate::support::{Db, Kv, Res, spawn_app};

async fn another_teachers_records_are_not_found(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let a = app.stored_teacher("Teacher A").await;
    let b = app.stored_teacher("Teacher B").await;

    let b_class = app.class(&b.token, "B's class").await;
    let b_category = app.category(&b.token, "B's category").await;
    let b_task = app.task(&b.token, "B's task", &id(&b_category)).await;
    let b_reward = app.reward(&b.token, "B's reward").await;
    let a_category = app.category(&a.token, "A's category").await;
    let a_task = app.task(&a.token, "A's task", &id(&a_category)).await;

    app.class(&a.token, "A's class").await;
    let a_student = app.student_of(&a.token, "A's class", "510001").await;
    let a_reward = app.reward(&a.token, "A's reward").await;
    let b_student = app.student_of(&b.token, "B's class", "510002").await;
    let bs = b_student.id.to_string();
    let b_assigned = app
        .create(
            &b.token,
            "/assign-task",
            json!({"task": id(&b_task), "student": bs}),
        )
        .await;
    let b_offered = app
        .create(
            &b.token,
            "/assign-reward",
            json!({"reward": id(&b_reward), "student": bs}),
        )
        .await;
    let (bat, bar) = (id(&b_assigned), id(&b_offered));
    // B's student achieves B's task: B gets a notification.
    let Res { status, .. } = app.achieve(&b_student.token, &bat).await;
    assert_eq!(status, 200);
    let Res { body, .. } = app.get("/notifications", Some(&b.token)).await;
    let b_notification = id(&body["data"][0]);
    let b_student_before = app.state.store.students.by_id(&b_student.id).await.unwrap();

    let (bc, bcat, bt, br) = (id(&b_class), id(&b_category), id(&b_task), id(&b_reward));
    let (a_s, a_t, a_r) = (a_student.id.to_string(), id(&a_task), id(&a_reward));
    let table: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/class/{bc}"), None),
        (
            Method::PATCH,
            format!("/class/{bc}"),
            Some(json!({"className": "Taken over", "startDate": "2025-01-01"})),
        ),
        (Method::DELETE, format!("/class/{bc}"), None),
        (
            Method::PATCH,
            format!("/category/{bcat}"),
            Some(json!({"name": "Taken over", "image": "/images/x.png"})),
        ),
        (
            Method::PATCH,
            format!("/task/{bt}"),
            Some(json!({"name": "Taken over", "points": 1})),
        ),
        // B's task with A's own category: still B's task.
        (
            Method::PATCH,
            format!("/task/{bt}"),
            Some(json!({"category": id(&a_category)})),
        ),
        (
            Method::PATCH,
            format!("/reward/{br}"),
            Some(json!({"name": "Taken over", "requiredPoints": 0})),
        ),
        // Ids in bodies.
        (
            Method::POST,
            "/task/create-task".into(),
            Some(
                json!({"name": "x", "points": 5, "category": bcat, "type": "good", "repeat": "everyday"}),
            ),
        ),
        (
            Method::PATCH,
            format!("/task/{}", id(&a_task)),
            Some(json!({"category": bcat})),
        ),
        (
            Method::PATCH,
            format!("/task/{}", id(&a_task)),
            Some(json!({"category": b_category.clone()})),
        ),
        (
            Method::POST,
            "/student/create-student".into(),
            Some(json!({"name": "Kid", "password": "500001", "class": "B's class"})),
        ),
        // B's students, assignments and notifications.
        (Method::GET, format!("/student/{bs}"), None),
        (Method::GET, format!("/student/statistics/{bs}"), None),
        (Method::PATCH, format!("/assign-task/approve/{bat}"), None),
        (
            Method::PATCH,
            format!("/notifications/{b_notification}"),
            None,
        ),
        (
            Method::POST,
            "/assign-task".into(),
            Some(json!({"task": bt, "student": a_s})),
        ),
        (
            Method::POST,
            "/assign-task".into(),
            Some(json!({"task": a_t, "student": bs})),
        ),
        (
            Method::POST,
            "/assign-reward".into(),
            Some(json!({"reward": br, "student": a_s})),
        ),
        (
            Method::POST,
            "/assign-reward".into(),
            Some(json!({"reward": a_r, "student": bs})),
        ),
    ];
    for (method, path, body) in table {
        let mut call = app.send(method.clone(), &path).bearer(&a.token);
        if let Some(body) = &body {
            call = call.json(body);
        }
        let Res {
            status, body: resp, ..
        } = call.await;
        assert_eq!(status, 404, "{method} {path}: {resp}");
        assert_eq!(resp["success"], false);
        let message = resp["message"].as_str().unwrap();
        assert!(message.ends_with("not found."), "{message}");
        assert!(!resp.to_string().contains(&b.id.to_string()), "no leak");
    }

    // A's student cannot touch B's student's assignments either.
    for (method, path) in [
        (Method::PATCH, format!("/assign-task/achieve/{bat}")),
        (Method::POST, format!("/assign-reward/claim/{bar}")),
        (Method::PATCH, format!("/notifications/{b_notification}")),
    ] {
        let Res {
            status, body: resp, ..
        } = app
            .send(method.clone(), &path)
            .bearer(&a_student.token)
            .await;
        assert_eq!(status, 404, "{method} {path}: {resp}");
    }
    let Res { body, .. } = app
        .get("/assign-task/student", Some(&a_student.token))
        .await;
    assert_eq!(body["data"], json!([]));
    let Res { body, .. } = app
        .get("/assign-reward/student", Some(&a_student.token))
        .await;
    assert_eq!(body["data"], json!([]));
    let Res { body, .. } = app.get("/notifications", Some(&a_student.token)).await;
    assert_eq!(body["data"], json!([]));
    for path in ["/assign-task", "/assign-task/pending", "/assign-reward"] {
        let Res { body, .. } = app.get(path, Some(&a.token)).await;
        assert_eq!(body["data"], json!([]), "{path}");
    }
    let Res { body, .. } = app.get("/notifications", Some(&a.token)).await;
    assert_eq!(body["data"], json!([]));

    // B's assignments and student are untouched.
    let Res { body, .. } = app.get("/assign-task/pending", Some(&b.token)).await;
    assert_eq!(ids(&body), [bat.as_str()]);
    let Res { body, .. } = app
        .get("/assign-reward/student", Some(&b_student.token))
        .await;
    assert_eq!(ids(&body), [bar.as_str()]);
    let Res { body, .. } = app.get("/notifications", Some(&b.token)).await;
    assert_eq!(body["totalNotification"], 1);
    assert_eq!(
        app.state.store.students.by_id(&b_student.id).await.unwrap(),
        b_student_before
    );

    // A's lists hold none of B's records.
    let Res { body, .. } = app.get("/class", Some(&a.token)).await;
    assert_eq!(ids(&body).len(), 1, "only A's class");
    let Res { body, .. } = app.get("/category", Some(&a.token)).await;
    assert_eq!(ids(&body), [id(&a_category)]);
    let Res { body, .. } = app.get("/task", Some(&a.token)).await;
    assert_eq!(ids(&body), [id(&a_task)]);
    assert_eq!(body["data"][0]["category"]["_id"], id(&a_category));
    let Res { body, .. } = app.get("/reward", Some(&a.token)).await;
    assert_eq!(ids(&body), [a_r.as_str()]);

    // B's records are as they were.
    let Res { status, body, .. } = app.get(&format!("/class/{bc}"), Some(&b.token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], b_class);
    let Res { body, .. } = app.get("/category", Some(&b.token)).await;
    assert_eq!(body["data"], json!([b_category]));
    let Res { body, .. } = app.get("/task", Some(&b.token)).await;
    assert_eq!(body["data"], json!([b_task]));
    let Res { body, .. } = app.get("/reward", Some(&b.token)).await;
    assert_eq!(body["data"], json!([b_reward]));
    let Res { body, .. } = app.get("/task", Some(&a.token)).await;
    assert_eq!(body["data"], json!([a_task]), "A's task kept its category");
}

on_both_stores!(another_teachers_records_are_not_found);
