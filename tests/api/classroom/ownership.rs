//! Teacher A can neither see nor change teacher B's classes, categories, tasks and rewards: every
//! route that takes an id (in the path or the body) answers 404, and B's records stay as they were.

use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{call, id, ids, teacher};
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

    let (bc, bcat, bt, br) = (id(&b_class), id(&b_category), id(&b_task), id(&b_reward));
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
    ];
    for (method, path, body) in table {
        let (status, resp) = call(&app, method.clone(), &path, Some(&a.token), body).await;
        assert_eq!(status, 404, "{method} {path}: {resp}");
        assert_eq!(resp["success"], false);
        let message = resp["message"].as_str().unwrap();
        assert!(message.ends_with("not found."), "{message}");
        assert!(!resp.to_string().contains(&b.id.to_string()), "no leak");
    }

    // A's lists hold none of B's records.
    let (_, body) = a.get(&app, "/api/v1/class").await;
    assert_eq!(body["data"], json!([]));
    let (_, body) = a.get(&app, "/api/v1/category").await;
    assert_eq!(ids(&body), [id(&a_category)]);
    let (_, body) = a.get(&app, "/api/v1/task").await;
    assert_eq!(ids(&body), [id(&a_task)]);
    assert_eq!(body["data"][0]["category"]["_id"], id(&a_category));
    let (_, body) = a.get(&app, "/api/v1/reward").await;
    assert_eq!(body["data"], json!([]));

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
