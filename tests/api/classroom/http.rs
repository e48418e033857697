//! The class, category, task and reward routes with the clients' exact bodies.

use serde_json::{Value, json};

use crate::on_both_stores;
use crate::support::shapes::{id, ids};
use crate::support::{Db, Kv, Res, spawn_app};

const DOC_KEYS: [&str; 4] = ["_id", "createdAt", "updatedAt", "__v"];

fn has_doc_shape(v: &Value, keys: &[&str]) {
    for k in DOC_KEYS.iter().chain(keys) {
        assert!(v.get(*k).is_some(), "{k} missing in {v}");
    }
    assert_eq!(v["_id"].as_str().unwrap().len(), 24);
    assert!(v["createdAt"].as_str().unwrap().ends_with('Z'));
}

async fn classes_create_list_get_update(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let t = app.stored_teacher("Ms Rahman").await;

    let Res { status, body, .. } = app
        .post(
            "/class/create-class",
            Some(&t.token),
            json!({"className": "Class 5 / A", "startDate": "2025-01-31", "endDate": "2025-12-20"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let created = body["data"].clone();
    has_doc_shape(&created, &["className", "startDate", "endDate", "teacher"]);
    assert_eq!(created["className"], "Class 5 / A");
    assert_eq!(created["startDate"], "2025-01-31T00:00:00.000Z");
    assert_eq!(created["endDate"], "2025-12-20T00:00:00.000Z");
    assert_eq!(created["teacher"], t.id.to_string());
    assert_eq!(created["__v"], 0);
    let class_id = id(&created);

    // endDate is optional; ISO timestamps are accepted.
    let open = app
        .create(
            &t.token,
            "/class/create-class",
            json!({"className": "Open", "startDate": "2025-02-01T08:30:00.000Z"}),
        )
        .await;
    assert_eq!(open["endDate"], Value::Null);
    assert_eq!(open["startDate"], "2025-02-01T08:30:00.000Z");

    // A duplicate name (after trimming) is 409 and writes nothing; another teacher may use it.
    let Res { status, body, .. } = app
        .post(
            "/class/create-class",
            Some(&t.token),
            json!({"className": " Class 5 / A ", "startDate": "2025-01-31"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["success"], false);
    assert!(body["message"].as_str().unwrap().contains("already"));
    let other = app.stored_teacher("Mr Other").await;
    app.class(&other.token, "Class 5 / A").await;

    // Validation.
    for (bad, field) in [
        (json!({"startDate": "2025-01-31"}), "className"),
        (
            json!({"className": "   ", "startDate": "2025-01-31"}),
            "className",
        ),
        (
            json!({"className": "x".repeat(101), "startDate": "2025-01-31"}),
            "className",
        ),
        (json!({"className": "No start"}), "startDate"),
        (
            json!({"className": "Bad", "startDate": "31/01/2025"}),
            "startDate",
        ),
        (
            json!({"className": "Back", "startDate": "2025-02-01", "endDate": "2025-01-31"}),
            "endDate",
        ),
    ] {
        let Res { status, body, .. } = app.post("/class/create-class", Some(&t.token), bad).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errorMessages"][0]["path"], field, "{body}");
    }

    // List: newest first, 10 a page, `page=undefined` is page 1, past the end is empty.
    for i in 0..10 {
        app.class(&t.token, &format!("Extra {i}")).await;
    }
    let Res { status, body, .. } = app.get("/class?page=undefined", Some(&t.token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["pagination"],
        json!({"page": 1, "limit": 10, "total": 12, "totalPage": 2})
    );
    let first = ids(&body);
    assert_eq!(first.len(), 10);
    assert_eq!(body["data"][0]["className"], "Extra 9");
    has_doc_shape(&body["data"][0], &["className", "startDate", "teacher"]);
    let Res { body, .. } = app.get("/class?page=2", Some(&t.token)).await;
    assert_eq!(ids(&body), [id(&open), class_id.clone()]);
    let Res { status, body, .. } = app.get("/class?page=3", Some(&t.token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]));
    let Res { body, .. } = app.get("/class", Some(&t.token)).await;
    assert_eq!(body["pagination"]["page"], 1);

    // One.
    let Res { status, body, .. } = app.get(&format!("/class/{class_id}"), Some(&t.token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], created);
    let Res { status, .. } = app.get("/class/undefined", Some(&t.token)).await;
    assert_eq!(status, 400);
    let Res { status, body, .. } = app
        .get("/class/65a1b2c3d4e5f60718293a4b", Some(&t.token))
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Class not found.");

    // PATCH with the whole object echoed: `_id`, `__v`, `teacher`, timestamps are ignored.
    let mut echoed = created.clone();
    echoed["className"] = json!("Class 6 / A");
    echoed["endDate"] = json!("2026-01-10");
    echoed["teacher"] = json!(other.id.to_string());
    echoed["_id"] = json!("65a1b2c3d4e5f60718293a4b");
    echoed["__v"] = json!(42);
    echoed["createdAt"] = json!("2000-01-01T00:00:00.000Z");
    let Res { status, body, .. } = app
        .patch(&format!("/class/{class_id}"), Some(&t.token), echoed)
        .await;
    assert_eq!(status, 200, "{body}");
    let updated = &body["data"];
    assert_eq!(updated["_id"], class_id.as_str());
    assert_eq!(updated["className"], "Class 6 / A");
    assert_eq!(updated["startDate"], "2025-01-31T00:00:00.000Z");
    assert_eq!(updated["endDate"], "2026-01-10T00:00:00.000Z");
    assert_eq!(updated["teacher"], t.id.to_string());
    assert_eq!(updated["createdAt"], created["createdAt"]);
    assert_eq!(updated["__v"], 1);

    // Renaming onto another own class's name is 409; dates stay in order.
    let Res { status, .. } = app
        .patch(
            &format!("/class/{class_id}"),
            Some(&t.token),
            json!({"className": "Open"}),
        )
        .await;
    assert_eq!(status, 409);
    let Res { status, body, .. } = app
        .patch(
            &format!("/class/{class_id}"),
            Some(&t.token),
            json!({"startDate": "2026-02-01"}),
        )
        .await;
    assert_eq!(status, 400, "start after the stored end: {body}");
    let Res { body, .. } = app.get(&format!("/class/{class_id}"), Some(&t.token)).await;
    assert_eq!(body["data"]["className"], "Class 6 / A", "nothing changed");
    assert_eq!(body["data"]["__v"], 1);
}

async fn class_rename_carries_to_students(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let t = app.stored_teacher("Ms Rahman").await;
    let other = app.stored_teacher("Mr Other").await;
    let class = app.class(&t.token, "Class 5 / A").await;
    app.class(&t.token, "Class 7").await;
    app.class(&other.token, "Class 5 / A").await;
    app.student_of(&t.token, "Class 5 / A", "100001").await;
    app.student_of(&t.token, "Class 5 / A", "100002").await;
    app.student_of(&t.token, "Class 7", "100003").await;
    let foreign = app.student_of(&other.token, "Class 5 / A", "100004").await;

    let Res { status, body, .. } = app
        .get(
            "/student/class/Class%205%20%2F%20A?page=undefined",
            Some(&t.token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pagination"]["total"], 2);

    let Res { status, body, .. } = app
        .patch(
            &format!("/class/{}", id(&class)),
            Some(&t.token),
            json!({"className": "Class 6 / A", "startDate": class["startDate"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let Res { body, .. } = app
        .get("/student/class/Class%206%20%2F%20A", Some(&t.token))
        .await;
    assert_eq!(body["pagination"]["total"], 2, "{body}");
    for s in body["data"].as_array().unwrap() {
        assert_eq!(s["class"], "Class 6 / A");
    }
    let Res { body, .. } = app
        .get("/student/class/Class%205%20%2F%20A", Some(&t.token))
        .await;
    assert_eq!(body["data"], json!([]));
    let Res { body, .. } = app.get("/student/class/Class%207", Some(&t.token)).await;
    assert_eq!(body["pagination"]["total"], 1, "other classes untouched");
    // Another teacher's class of the same name and its students are untouched.
    let s = app.stored_student(&foreign.id).await;
    assert_eq!(s.class, "Class 5 / A");

    // New students join the class by its new name; the old name no longer exists.
    app.student_of(&t.token, "Class 6 / A", "100005").await;
    let Res { status, body, .. } = app
        .post(
            "/student/create-student",
            Some(&t.token),
            json!({"name": "Late", "password": "100006", "class": "Class 5 / A", "profile": ""}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["message"], "Class not found.");
}

/// Renames racing on one class: each answers 200 or 409 (never a lost update), and the students end up
/// under the name the class ends up with.
async fn concurrent_renames_keep_students_with_their_class(db: Db) {
    let app = std::sync::Arc::new(spawn_app(db, Kv::Memory).await);
    let t = std::sync::Arc::new(app.stored_teacher("Ms Rahman").await);
    let class = app.class(&t.token, "Start").await;
    app.student_of(&t.token, "Start", "600001").await;
    app.student_of(&t.token, "Start", "600002").await;
    let path = format!("/class/{}", id(&class));
    let mut racers = Vec::new();
    for i in 0..8 {
        let (app, t, path) = (app.clone(), t.clone(), path.clone());
        racers.push(tokio::spawn(async move {
            app.patch(
                &path,
                Some(&t.token),
                json!({"className": format!("Name {i}")}),
            )
            .await
            .status
        }));
    }
    let mut ok = 0;
    for r in racers {
        let status = r.await.unwrap();
        assert!(status == 200 || status == 409, "{status}");
        ok += usize::from(status == 200);
    }
    assert!(ok >= 1);
    let Res { body, .. } = app.get(&path, Some(&t.token)).await;
    assert_eq!(body["data"]["__v"], ok, "one version per successful rename");
    let name = body["data"]["className"].as_str().unwrap().to_owned();
    let Res { body, .. } = app.get("/student?page=1", Some(&t.token)).await;
    assert_eq!(body["pagination"]["total"], 2);
    for s in body["data"].as_array().unwrap() {
        assert_eq!(s["class"], name.as_str(), "{body}");
    }
}

async fn class_delete_refuses_while_students_remain(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let t = app.stored_teacher("Ms Rahman").await;
    let full = app.class(&t.token, "Full").await;
    let empty = app.class(&t.token, "Empty").await;
    app.student_of(&t.token, "Full", "200001").await;

    let Res { status, body, .. } = app
        .delete(&format!("/class/{}", id(&full)), Some(&t.token))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("1 student"),
        "{body}"
    );
    let Res { status, .. } = app
        .get(&format!("/class/{}", id(&full)), Some(&t.token))
        .await;
    assert_eq!(status, 200, "nothing deleted");
    let Res { body, .. } = app.get("/student/class/Full", Some(&t.token)).await;
    assert_eq!(body["pagination"]["total"], 1);

    let Res { status, body, .. } = app
        .delete(&format!("/class/{}", id(&empty)), Some(&t.token))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let Res { status, .. } = app
        .get(&format!("/class/{}", id(&empty)), Some(&t.token))
        .await;
    assert_eq!(status, 404);
    let Res { status, .. } = app
        .delete(&format!("/class/{}", id(&empty)), Some(&t.token))
        .await;
    assert_eq!(status, 404, "a second delete finds nothing");
    // Its name is free app.class(&again.t.token, "Empty").await;
}

async fn create_student_needs_an_own_class(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let t = app.stored_teacher("Ms Rahman").await;
    let other = app.stored_teacher("Mr Other").await;
    app.class(&other.token, "Theirs").await;
    let body = |class: &str| json!({"name": "Kid", "password": "300001", "class": class});
    for class in ["Nowhere", "Theirs"] {
        let Res {
            status, body: resp, ..
        } = app
            .post("/student/create-student", Some(&t.token), body(class))
            .await;
        assert_eq!(status, 404, "{resp}");
        assert_eq!(resp["message"], "Class not found.");
    }
    app.class(&t.token, "Mine").await;
    let Res {
        status, body: resp, ..
    } = app
        .post("/student/create-student", Some(&t.token), body(" Mine "))
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["data"]["class"], "Mine");
}

async fn categories_create_list_update(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let t = app.stored_teacher("Ms Rahman").await;
    let Res { status, body, .. } = app
        .post(
            "/category/create-category",
            Some(&t.token),
            json!({"name": "Homework", "image": "/images/preset-book.png"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let homework = body["data"].clone();
    has_doc_shape(&homework, &["name", "image", "teacher"]);
    assert_eq!(homework["image"], "/images/preset-book.png");
    assert_eq!(homework["teacher"], t.id.to_string());
    let kindness = app.category(&t.token, "Kindness").await;

    for (bad, field) in [
        (json!({"image": "/images/a.png"}), "name"),
        (json!({"name": "No image"}), "image"),
        (
            json!({"name": "JS", "image": "javascript:alert(1)"}),
            "image",
        ),
        (
            json!({"name": "Long", "image": format!("/{}", "x".repeat(500))}),
            "image",
        ),
    ] {
        let Res { status, body, .. } = app
            .post("/category/create-category", Some(&t.token), bad)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errorMessages"][0]["path"], field);
    }

    // All own categories, newest first, not paginated; `page` is ignored.
    for i in 0..10 {
        app.category(&t.token, &format!("C{i}")).await;
    }
    let Res { status, body, .. } = app.get("/category?page=undefined", Some(&t.token)).await;
    assert_eq!(status, 200);
    assert!(body.get("pagination").is_none(), "{body}");
    let all = ids(&body);
    assert_eq!(all.len(), 12);
    assert_eq!(all[10], id(&kindness));
    assert_eq!(all[11], id(&homework));
    let other = app.stored_teacher("Mr Other").await;
    let Res { body, .. } = app.get("/category", Some(&other.token)).await;
    assert_eq!(body["data"], json!([]));

    // PATCH with the echoed object.
    let mut echoed = homework.clone();
    echoed["name"] = json!("Home work");
    echoed["image"] = json!("https://cdn.example.com/book.png");
    echoed["teacher"] = json!(other.id.to_string());
    echoed["__v"] = json!("7");
    let Res { status, body, .. } = app
        .patch(
            &format!("/category/{}", id(&homework)),
            Some(&t.token),
            echoed,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "Home work");
    assert_eq!(body["data"]["image"], "https://cdn.example.com/book.png");
    assert_eq!(body["data"]["teacher"], t.id.to_string());
    assert_eq!(body["data"]["__v"], 1);
    // Only a name: the image stays.
    let Res { body, .. } = app
        .patch(
            &format!("/category/{}", id(&homework)),
            Some(&t.token),
            json!({"name": "Homework"}),
        )
        .await;
    assert_eq!(body["data"]["image"], "https://cdn.example.com/book.png");
    let Res { status, .. } = app
        .patch(
            &format!("/category/{}", id(&homework)),
            Some(&t.token),
            json!({"image": "data:image/png;base64,AAAA"}),
        )
        .await;
    assert_eq!(status, 400);
}

async fn tasks_create_list_update(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let t = app.stored_teacher("Ms Rahman").await;
    let homework = app.category(&t.token, "Homework").await;
    let conduct = app.category(&t.token, "Conduct").await;

    // The app's body: points as a string.
    let Res { status, body, .. } = app
        .post(
            "/task/create-task",
            Some(&t.token),
            json!({"name": "Read a book", "points": "25", "category": id(&homework),
                   "type": "good", "repeat": "weekly"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let task = body["data"].clone();
    has_doc_shape(
        &task,
        &["name", "points", "category", "type", "repeat", "teacher"],
    );
    assert_eq!(task["points"], 25);
    assert_eq!(task["type"], "good");
    assert_eq!(task["repeat"], "weekly");
    assert_eq!(task["category"]["_id"], id(&homework));
    assert_eq!(task["category"]["name"], "Homework");
    assert_eq!(task["teacher"], t.id.to_string());

    let late = app
        .create(
            &t.token,
            "/task/create-task",
            json!({"name": "Late", "points": -500, "category": id(&conduct),
                   "type": "bad", "repeat": "everyday"}),
        )
        .await;
    assert_eq!(late["points"], -500);

    for (bad, field) in [
        (
            json!({"points": 1, "category": id(&homework), "type": "good", "repeat": "weekly"}),
            "name",
        ),
        (
            json!({"name": "x", "category": id(&homework), "type": "good", "repeat": "weekly"}),
            "points",
        ),
        (
            json!({"name": "x", "points": 501, "category": id(&homework), "type": "good", "repeat": "weekly"}),
            "points",
        ),
        (
            json!({"name": "x", "points": "-501", "category": id(&homework), "type": "good", "repeat": "weekly"}),
            "points",
        ),
        (
            json!({"name": "x", "points": "25 points", "category": id(&homework), "type": "good", "repeat": "weekly"}),
            "points",
        ),
        (
            json!({"name": "x", "points": 2.5, "category": id(&homework), "type": "good", "repeat": "weekly"}),
            "points",
        ),
        (
            json!({"name": "x", "points": 1, "type": "good", "repeat": "weekly"}),
            "category",
        ),
        (
            json!({"name": "x", "points": 1, "category": "undefined", "type": "good", "repeat": "weekly"}),
            "category",
        ),
        (
            json!({"name": "x", "points": 1, "category": id(&homework), "type": "neutral", "repeat": "weekly"}),
            "type",
        ),
        (
            json!({"name": "x", "points": 1, "category": id(&homework), "type": "good", "repeat": "daily"}),
            "repeat",
        ),
        (
            json!({"name": "x", "points": 1, "category": id(&homework), "type": "good"}),
            "repeat",
        ),
    ] {
        let Res { status, body, .. } = app.post("/task/create-task", Some(&t.token), bad).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errorMessages"][0]["path"], field, "{body}");
    }
    let Res { status, body, .. } = app
        .post(
            "/task/create-task",
            Some(&t.token),
            json!({"name": "x", "points": 1, "category": "65a1b2c3d4e5f60718293a4b",
                   "type": "good", "repeat": "weekly"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["message"], "Category not found.");

    // List: newest first, populated, paginated.
    for i in 0..9 {
        app.task(&t.token, &format!("T{i}"), &id(&homework)).await;
    }
    let Res { status, body, .. } = app.get("/task?page=undefined", Some(&t.token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["pagination"]["total"], 11);
    assert_eq!(body["pagination"]["totalPage"], 2);
    assert_eq!(body["data"][0]["name"], "T8");
    assert_eq!(body["data"][0]["category"]["name"], "Homework");
    let Res { body, .. } = app.get("/task?page=2", Some(&t.token)).await;
    assert_eq!(ids(&body), [id(&task)]);
    assert_eq!(body["data"][0]["category"], task["category"]);
    let Res { body, .. } = app.get("/task?page=5", Some(&t.token)).await;
    assert_eq!(body["data"], json!([]));

    // PATCH with the echoed, populated task and points as a string.
    let mut echoed = task.clone();
    echoed["name"] = json!("Read two books");
    echoed["points"] = json!("40");
    echoed["type"] = json!("good");
    echoed["repeat"] = json!("monthly");
    echoed["category"] = conduct.clone();
    echoed["teacher"] = json!("65a1b2c3d4e5f60718293a4b");
    let Res { status, body, .. } = app
        .patch(&format!("/task/{}", id(&task)), Some(&t.token), echoed)
        .await;
    assert_eq!(status, 200, "{body}");
    let updated = &body["data"];
    assert_eq!(updated["name"], "Read two books");
    assert_eq!(updated["points"], 40);
    assert_eq!(updated["repeat"], "monthly");
    assert_eq!(updated["category"]["_id"], id(&conduct));
    assert_eq!(updated["teacher"], t.id.to_string());
    assert_eq!(updated["__v"], 1);
    // The category as a plain id; type flips.
    let Res { status, body, .. } = app
        .patch(
            &format!("/task/{}", id(&task)),
            Some(&t.token),
            json!({"category": id(&homework), "type": "bad", "points": -5}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["category"]["_id"], id(&homework));
    assert_eq!(body["data"]["type"], "bad");
    assert_eq!(body["data"]["name"], "Read two books");
    let Res { status, .. } = app
        .patch(
            &format!("/task/{}", id(&task)),
            Some(&t.token),
            json!({"points": 900}),
        )
        .await;
    assert_eq!(status, 400);
    let Res { status, .. } = app
        .patch(
            "/task/65a1b2c3d4e5f60718293a4b",
            Some(&t.token),
            json!({"name": "ghost"}),
        )
        .await;
    assert_eq!(status, 404);
}

async fn rewards_create_list_update(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let t = app.stored_teacher("Ms Rahman").await;
    let Res { status, body, .. } = app
        .post(
            "/reward/create-reward",
            Some(&t.token),
            json!({"name": "Extra recess", "image": "/images/recess.png", "requiredPoints": "40"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let reward = body["data"].clone();
    has_doc_shape(&reward, &["name", "requiredPoints", "image", "teacher"]);
    assert_eq!(reward["requiredPoints"], 40);
    assert_eq!(reward["teacher"], t.id.to_string());
    let free = app
        .create(
            &t.token,
            "/reward/create-reward",
            json!({"name": "Sticker", "image": "/images/s.png", "requiredPoints": 0}),
        )
        .await;
    assert_eq!(free["requiredPoints"], 0);

    for (bad, field) in [
        (
            json!({"image": "/images/a.png", "requiredPoints": 1}),
            "name",
        ),
        (json!({"name": "x", "requiredPoints": 1}), "image"),
        (json!({"name": "x", "image": "/i.png"}), "requiredPoints"),
        (
            json!({"name": "x", "image": "/i.png", "requiredPoints": -1}),
            "requiredPoints",
        ),
        (
            json!({"name": "x", "image": "/i.png", "requiredPoints": "ten"}),
            "requiredPoints",
        ),
        (
            json!({"name": "x", "image": "/i.png", "requiredPoints": [1]}),
            "requiredPoints",
        ),
    ] {
        let Res { status, body, .. } = app.post("/reward/create-reward", Some(&t.token), bad).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errorMessages"][0]["path"], field, "{body}");
    }

    for i in 0..9 {
        app.reward(&t.token, &format!("R{i}")).await;
    }
    let Res { body, .. } = app.get("/reward?page=undefined", Some(&t.token)).await;
    assert_eq!(body["pagination"]["total"], 11);
    assert_eq!(body["data"][0]["name"], "R8");
    let Res { body, .. } = app.get("/reward?page=2", Some(&t.token)).await;
    assert_eq!(ids(&body), [id(&reward)]);
    let Res { body, .. } = app.get("/reward?page=3", Some(&t.token)).await;
    assert_eq!(body["data"], json!([]));
    let _ = free;

    let mut echoed = reward.clone();
    echoed["requiredPoints"] = json!("75");
    echoed["name"] = json!("Long recess");
    echoed["teacher"] = json!("65a1b2c3d4e5f60718293a4b");
    let Res { status, body, .. } = app
        .patch(&format!("/reward/{}", id(&reward)), Some(&t.token), echoed)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["requiredPoints"], 75);
    assert_eq!(body["data"]["name"], "Long recess");
    assert_eq!(body["data"]["image"], "/images/recess.png");
    assert_eq!(body["data"]["teacher"], t.id.to_string());
    let Res { status, .. } = app
        .patch(
            &format!("/reward/{}", id(&reward)),
            Some(&t.token),
            json!({"requiredPoints": -3}),
        )
        .await;
    assert_eq!(status, 400);
}

// Students and admins on teacher routes (403), no token (401) and `Bearer undefined` (400): the
// role matrix (tests/api/role_matrix.rs) calls every secured route of the document so.

on_both_stores!(
    classes_create_list_get_update,
    class_rename_carries_to_students,
    concurrent_renames_keep_students_with_their_class,
    class_delete_refuses_while_students_remain,
    create_student_needs_an_own_class,
    categories_create_list_update,
    tasks_create_list_update,
    rewards_create_list_update,
);
