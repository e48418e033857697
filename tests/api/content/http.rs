//! `/preset/*`, `/rule/*` and `/feedback` with the clients' exact bodies.

use educoin::domain::account::TeacherPatch;
use educoin::domain::content::PresetType;
use educoin::domain::{Id, Millis, Preset};
use educoin::http::upload::MAX_IMAGE_BYTES;
use reqwest::Method;
use serde_json::{Value, json};

use super::stored_files;
use crate::on_both_stores;
use crate::support::accounts::PNG;
use crate::support::shapes::{assert_document, assert_pagination, keys};
use crate::support::{Db, Res, TestApp};

const JPG: &[u8] = include_bytes!("../fixtures/quokki.jpg");
const GIF: &[u8] = include_bytes!("../fixtures/quokki.gif");

/// `POST /preset/upload` as the dashboard sends it.
async fn upload(
    api: &TestApp,
    token: &str,
    kind: Option<&str>,
    image: Option<(&[u8], &str, &str)>,
) -> Res {
    let fields: Vec<(&str, &str)> = kind.map(|k| ("type", k)).into_iter().collect();
    api.send(Method::POST, "/preset/upload")
        .bearer(token)
        .multipart(&fields, image)
        .await
}

fn image_path(preset: &Value) -> String {
    preset["image"].as_str().unwrap().to_owned()
}

fn sorted_keys(v: &Value) -> Vec<&str> {
    let mut k = keys(v);
    k.sort_unstable();
    k
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|p| p["_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn presets_upload_list_serve_and_delete(db: Db) {
    let api = TestApp::start(db).await;
    let who = api.callers().await;

    // The type in any case is stored lower-case; the content decides the file's kind.
    let res = upload(
        &api,
        &who.admin,
        Some("Avatar"),
        Some((PNG, "fox.png", "image/png")),
    )
    .await;
    let fox = res.ok().clone();
    assert_document(&fox);
    assert_eq!(
        sorted_keys(&fox),
        ["__v", "_id", "createdAt", "image", "type", "updatedAt"]
    );
    assert_eq!(fox["type"], "avatar");
    assert_eq!(fox["__v"], 0);
    let fox_path = image_path(&fox);
    assert!(
        fox_path.starts_with("/images/") && fox_path.ends_with(".png"),
        "{fox_path}"
    );
    let res = upload(
        &api,
        &who.super_admin,
        Some(" ICON "),
        Some((JPG, "star.png", "image/png")),
    )
    .await;
    let star = res.ok().clone();
    assert_eq!(star["type"], "icon");
    assert!(image_path(&star).ends_with(".jpg"), "{star}");
    let owl = upload(
        &api,
        &who.admin,
        Some("avatar"),
        Some((PNG, "owl.png", "image/png")),
    )
    .await
    .ok()
    .clone();
    assert_ne!(image_path(&owl), fox_path, "each upload gets its own name");

    // The files are served with their content type.
    let (status, content_type, bytes) = api.file(&fox_path).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert_eq!(bytes, PNG);
    let (status, content_type, bytes) = api.file(&image_path(&star)).await;
    assert_eq!((status, content_type.as_str()), (200, "image/jpeg"));
    assert_eq!(bytes, JPG);

    // The app reads one type whole, oldest first, teachers and students alike.
    let res = api.get("/preset/avatar", Some(&who.teacher)).await;
    let avatars = res.ok();
    assert!(res.body.get("pagination").is_none(), "{}", res.text);
    assert_eq!(ids(avatars), [fox["_id"].clone(), owl["_id"].clone()]);
    assert_eq!(avatars[0], fox);
    let res = api.get("/preset/icon", Some(&who.student)).await;
    assert_eq!(res.ok().as_array().unwrap().len(), 1);
    assert_eq!(res.data()[0], star);
    let res = api.get("/preset/avatar", Some(&who.student)).await;
    assert_eq!(res.ok().as_array().unwrap().len(), 2);

    // The dashboard's list: both types, newest first, 10 a page, `page=undefined` is page 1.
    let res = api.get("/preset?page=undefined", Some(&who.admin)).await;
    res.ok();
    assert_pagination(&res, 1, 3);
    assert_eq!(
        ids(res.data()),
        [owl["_id"].clone(), star["_id"].clone(), fox["_id"].clone()]
    );
    for i in 0..9 {
        let now = Millis(Millis::now().0 + 1 + i);
        api.state
            .store
            .presets
            .insert(&Preset {
                id: Id::generate(),
                image: format!("https://cdn.quokki.test/icon-{i}.png"),
                kind: PresetType::Icon,
                created_at: now,
                updated_at: now,
                version: 0,
            })
            .await
            .unwrap();
    }
    let res = api.get("/preset", Some(&who.super_admin)).await;
    res.ok();
    assert_pagination(&res, 1, 12);
    assert_eq!(res.data().as_array().unwrap().len(), 10);
    assert_eq!(res.data()[0]["image"], "https://cdn.quokki.test/icon-8.png");
    let res = api.get("/preset?page=2", Some(&who.admin)).await;
    res.ok();
    assert_pagination(&res, 2, 12);
    assert_eq!(ids(res.data()), [star["_id"].clone(), fox["_id"].clone()]);
    let res = api.get("/preset?page=3", Some(&who.admin)).await;
    assert_eq!(res.ok(), &json!([]));

    // Delete: the preset and its file go; the other avatar stays.
    let fox_id = fox["_id"].as_str().unwrap();
    let res = api
        .send(Method::DELETE, &format!("/preset/delete/{fox_id}"))
        .authorization(&format!("Bearer {}", who.admin))
        .await;
    assert_eq!(res.ok()["_id"], fox_id);
    assert_eq!(api.file(&fox_path).await.0, 404, "the file is gone");
    assert_eq!(api.file(&image_path(&owl)).await.0, 200);
    let res = api.get("/preset/avatar", Some(&who.teacher)).await;
    assert_eq!(ids(res.ok()), [owl["_id"].clone()]);
    // Again, or an id that never existed: 404; a malformed id: 400.
    for (path, status) in [
        (format!("/preset/delete/{fox_id}"), 404),
        ("/preset/delete/65a1b2c3d4e5f60718293a4b".to_owned(), 404),
        ("/preset/delete/undefined".to_owned(), 400),
    ] {
        let res = api
            .send(Method::DELETE, &path)
            .authorization(&format!("Bearer {}", who.super_admin))
            .await;
        res.status(status);
        if status == 404 {
            assert_eq!(res.message(), "Preset not found.");
        } else {
            assert_eq!(res.body["errorMessages"][0]["path"], "id");
        }
    }
    // A preset whose image is not one of our uploads is deleted without touching the files.
    let res = api.get("/preset?page=1", Some(&who.admin)).await;
    let outside = res.ok()[0]["_id"].as_str().unwrap().to_owned();
    let files = stored_files(&api).await;
    api.send(Method::DELETE, &format!("/preset/delete/{outside}"))
        .authorization(&format!("Bearer {}", who.admin))
        .await
        .ok();
    assert_eq!(stored_files(&api).await, files);
}

async fn preset_uploads_that_fail_validation_write_nothing(db: Db) {
    let api = TestApp::start(db).await;
    let who = api.callers().await;
    let png = Some((PNG, "fox.png", "image/png"));

    for (kind, image, path, message) in [
        (
            Some("badge"),
            png,
            "type",
            "type must be either \"avatar\" or \"icon\"",
        ),
        (Some("avatars"), png, "type", ""),
        (None, png, "type", "type is required"),
        (Some("   "), png, "type", "type is required"),
        (Some("avatar"), None, "image", ""),
        (None, None, "type", ""),
        (
            Some("icon"),
            Some((GIF, "fox.png", "image/png")),
            "image",
            "The image must be a PNG or JPEG file.",
        ),
        (
            Some("icon"),
            Some((
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                "x.png",
                "image/png",
            )),
            "image",
            "",
        ),
        (
            Some("icon"),
            Some((b"", "empty.png", "image/png")),
            "image",
            "The image is empty.",
        ),
    ] {
        let res = upload(&api, &who.admin, kind, image).await;
        res.status(400);
        assert_eq!(
            res.body["errorMessages"][0]["path"], path,
            "{kind:?}: {}",
            res.text
        );
        if !message.is_empty() {
            assert_eq!(res.message(), message);
        }
    }
    // Over the size limit: 413 with its own sentence.
    let mut big = PNG.to_vec();
    big.resize(MAX_IMAGE_BYTES + 1, 0);
    let res = upload(
        &api,
        &who.admin,
        Some("icon"),
        Some((&big, "big.png", "image/png")),
    )
    .await;
    res.status(413);
    assert!(res.message().contains("too large"), "{}", res.text);

    // Not a form at all.
    let res = api
        .post("/preset/upload", Some(&who.admin), json!({"type": "icon"}))
        .await;
    assert!(res.status >= 400 && res.status < 500, "{}", res.text);

    // Wrong roles and missing or malformed tokens.
    for token in [&who.teacher, &who.student] {
        upload(&api, token, Some("avatar"), png).await.status(403);
        api.get("/preset", Some(token)).await.status(403);
        api.send(Method::DELETE, "/preset/delete/65a1b2c3d4e5f60718293a4b")
            .authorization(&format!("Bearer {token}"))
            .await
            .status(403);
    }
    for path in ["/preset/avatar", "/preset/icon"] {
        // Admins curate presets through `GET /preset`; these two are the app's (T, S).
        api.get(path, Some(&who.admin)).await.status(403);
        api.get(path, None).await.status(401);
        api.send(Method::GET, path)
            .authorization("Bearer undefined")
            .await
            .status(400);
    }
    api.send(Method::POST, "/preset/upload")
        .multipart(&[("type", "icon")], png)
        .await
        .status(401);

    // Nothing was stored: no preset, no file.
    let res = api.get("/preset", Some(&who.admin)).await;
    res.ok();
    assert_pagination(&res, 1, 0);
    assert_eq!(stored_files(&api).await, 0);
}

/// A teacher whose picture is a preset's image (a Google sign-up may send any `profile`) and who
/// uploads a new one must not delete the preset's file.
async fn a_replaced_profile_picture_keeps_a_presets_file(db: Db) {
    let api = TestApp::start(db).await;
    let who = api.callers().await;
    let preset = upload(
        &api,
        &who.admin,
        Some("avatar"),
        Some((PNG, "a.png", "image/png")),
    )
    .await
    .ok()
    .clone();
    let path = image_path(&preset);
    let teacher_id = Id::parse(&who.teacher_id).unwrap();
    api.state
        .store
        .teachers
        .update(
            &teacher_id,
            &TeacherPatch {
                profile: Some(path.clone()),
                ..Default::default()
            },
            api.state.clock.now(),
        )
        .await
        .unwrap()
        .unwrap();
    let res = api
        .send(Method::PATCH, "/teacher")
        .bearer(&who.teacher)
        .multipart(&[], Some((JPG, "me.jpg", "image/jpeg")))
        .await;
    let own = res.ok()["profile"].as_str().unwrap().to_owned();
    assert_ne!(own, path);
    assert_eq!(api.file(&path).await.0, 200, "the preset's file is kept");
    // The teacher's own upload is still replaced as before.
    api.send(Method::PATCH, "/teacher")
        .bearer(&who.teacher)
        .multipart(&[], Some((PNG, "me.png", "image/png")))
        .await
        .ok();
    assert_eq!(api.file(&own).await.0, 404);
}

/// Issue 9, item 17: an account that points its profile at another account's upload (a Google
/// sign-up's `profile` can be any path) and then uploads a picture must not delete that upload;
/// the owner's own replacement still deletes it. Admins and teachers alike.
async fn a_replaced_profile_picture_never_deletes_another_accounts_upload(db: Db) {
    let api = TestApp::start(db).await;
    let victim = api.teacher("Vera Victim").await;
    let attacker = api.teacher("Mal Attacker").await;
    let admin = api.super_admin().await;
    let res = api
        .send(Method::PATCH, "/teacher")
        .bearer(&victim.token)
        .multipart(&[], Some((PNG, "me.png", "image/png")))
        .await;
    let victims = res.ok()["profile"].as_str().unwrap().to_owned();

    for (token, id) in [
        (attacker.token.clone(), Id::parse(&attacker.id).unwrap()),
        (admin.token.clone(), {
            let me = api.get("/admin/profile", Some(&admin.token)).await;
            let email = me.ok()["email"].as_str().unwrap().to_owned();
            api.state
                .store
                .admins
                .by_email(&email)
                .await
                .unwrap()
                .unwrap()
                .id
        }),
    ] {
        // Pointing the profile elsewhere happens outside these routes (a Google sign-up's
        // `profile`, an old record): the store's update stands for it.
        let patch = TeacherPatch {
            profile: Some(victims.clone()),
            ..Default::default()
        };
        let path = if api.state.store.teachers.by_id(&id).await.unwrap().is_some() {
            api.state
                .store
                .teachers
                .update(&id, &patch, api.state.clock.now())
                .await
                .unwrap();
            "/teacher"
        } else {
            let admin_patch = educoin::domain::account::AdminPatch {
                profile: Some(victims.clone()),
                ..Default::default()
            };
            api.state
                .store
                .admins
                .update(&id, &admin_patch, api.state.clock.now())
                .await
                .unwrap();
            "/admin"
        };
        let res = api
            .send(Method::PATCH, path)
            .bearer(&token)
            .multipart(&[], Some((JPG, "new.jpg", "image/jpeg")))
            .await;
        res.ok();
        assert_eq!(
            api.file(&victims).await.0,
            200,
            "{path}: another account's upload was deleted"
        );
    }

    // The owner's own replacement deletes it, as before.
    api.send(Method::PATCH, "/teacher")
        .bearer(&victim.token)
        .multipart(&[], Some((JPG, "again.jpg", "image/jpeg")))
        .await
        .ok();
    assert_eq!(
        api.file(&victims).await.0,
        404,
        "the owner's old picture is gone"
    );
}

const RULES: [&str; 2] = ["/rule/privacy-policy", "/rule/terms-and-conditions"];

async fn rules_read_empty_then_upsert(db: Db) {
    let api = TestApp::start(db).await;
    let who = api.callers().await;
    let everyone = [&who.super_admin, &who.admin, &who.teacher, &who.student];

    // Before an admin writes one: a document with empty content, for every role.
    for (path, kind) in RULES.iter().zip(["privacy-policy", "terms-and-conditions"]) {
        for token in everyone {
            let res = api.get(path, Some(token)).await;
            assert_eq!(res.ok(), &json!({"type": kind, "content": ""}), "{path}");
        }
    }

    // HTML is kept exactly as sent, markup and surrounding whitespace included.
    let html = "\n  <h1>Privacy</h1><p>We keep <b>little</b> &amp; share nothing.</p>\
                <script>alert('kept as data')</script>\n";
    let res = api
        .patch(RULES[0], Some(&who.admin), json!({"content": html}))
        .await;
    let created = res.ok().clone();
    assert_document(&created);
    assert_eq!(created["content"], html);
    assert_eq!(created["type"], "privacy-policy");
    assert_eq!(created["__v"], 0);
    assert_eq!(
        sorted_keys(&created),
        ["__v", "_id", "content", "createdAt", "type", "updatedAt"]
    );
    for token in everyone {
        let res = api.get(RULES[0], Some(token)).await;
        assert_eq!(res.ok(), &created);
    }
    // The other rule is untouched.
    let res = api.get(RULES[1], Some(&who.teacher)).await;
    assert_eq!(res.ok()["content"], "");

    // A second PATCH (the dashboard echoes the whole document) updates the same document.
    let mut echoed = created.clone();
    echoed["content"] = json!("<p>v2</p>");
    echoed["_id"] = json!("65a1b2c3d4e5f60718293a4b");
    echoed["__v"] = json!(42);
    let res = api.patch(RULES[0], Some(&who.super_admin), echoed).await;
    let updated = res.ok().clone();
    assert_eq!(updated["_id"], created["_id"]);
    assert_eq!(updated["createdAt"], created["createdAt"]);
    assert_eq!(updated["content"], "<p>v2</p>");
    assert_eq!(updated["__v"], 1);
    assert!(updated["updatedAt"].as_str() >= created["updatedAt"].as_str());
    let terms = api
        .patch(
            RULES[1],
            Some(&who.admin),
            json!({"content": "<p>Be kind.</p>"}),
        )
        .await
        .ok()
        .clone();
    assert_ne!(terms["_id"], created["_id"]);
    assert_eq!(terms["type"], "terms-and-conditions");

    // Bad bodies are 400 and change nothing.
    for bad in [
        json!({}),
        json!({"content": null}),
        json!({"content": ""}),
        json!({"content": " \n "}),
        json!({"content": "x".repeat(200_001)}),
        json!({"content": 42}),
        json!({"content": ["<p>a</p>"]}),
    ] {
        let res = api.patch(RULES[0], Some(&who.admin), bad).await;
        res.status(400);
        assert_eq!(
            res.body["errorMessages"][0]["path"], "content",
            "{}",
            res.text
        );
    }
    api.patch(
        RULES[0],
        Some(&who.admin),
        json!({"content": "y".repeat(200_000)}),
    )
    .await
    .ok();
    let res = api.get(RULES[0], Some(&who.student)).await;
    assert_eq!(res.ok()["content"].as_str().unwrap().len(), 200_000);
    assert_eq!(res.data()["__v"], 2);

    // Only admins write; every signed-in account reads, nobody else.
    for path in RULES {
        for token in [&who.teacher, &who.student] {
            api.patch(path, Some(token), json!({"content": "<p>mine</p>"}))
                .await
                .status(403);
        }
        api.get(path, None).await.status(401);
        api.send(Method::GET, path)
            .authorization("Bearer undefined")
            .await
            .status(400);
    }
    let res = api.get(RULES[1], Some(&who.admin)).await;
    assert_eq!(res.ok()["content"], "<p>Be kind.</p>");
}

async fn parallel_rule_patches_leave_one_document(db: Db) {
    let api = TestApp::start(db).await;
    let who = api.callers().await;
    const N: usize = 20;
    let writes = (0..N).map(|i| {
        api.patch(
            RULES[1],
            Some(&who.admin),
            json!({"content": format!("<p>version {i}</p>")}),
        )
    });
    let results = futures_util::future::join_all(writes).await;
    let mut ids: Vec<String> = results
        .iter()
        .map(|r| r.ok()["_id"].as_str().unwrap().to_owned())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every write hit the same document: {ids:?}");
    // One creation (`__v` 0), then one update per other write: none lost, none applied twice.
    // (Which `__v` each answer shows is not asserted: jongodb, the test MongoDB, may answer a
    // findAndModify with a later write's document under contention.)
    let created = results.iter().filter(|r| r.data()["__v"] == 0).count();
    assert_eq!(created, 1, "one write created the document");
    let res = api.get(RULES[1], Some(&who.teacher)).await;
    let stored = res.ok();
    assert_eq!(stored["_id"], ids[0].as_str());
    assert_eq!(stored["__v"], N as i64 - 1);
    let winner = results
        .iter()
        .find(|r| r.data()["__v"] == N as i64 - 1)
        .unwrap();
    assert_eq!(
        stored["content"],
        winner.data()["content"],
        "the last write wins"
    );
}

async fn feedback_from_teachers_and_students(db: Db) {
    let api = TestApp::start(db).await;
    let who = api.callers().await;

    for (token, user, role) in [
        (&who.teacher, &who.teacher_id, "TEACHER"),
        (&who.student, &who.student_id, "STUDENT"),
    ] {
        let res = api
            .post(
                "/feedback",
                Some(token),
                json!({"feedback": "  Love the app! Could tasks have photos?  "}),
            )
            .await;
        let data = res.ok().clone();
        assert_document(&data);
        assert_eq!(data["feedback"], "Love the app! Could tasks have photos?");
        assert_eq!(data["user"], user.as_str());
        assert_eq!(data["role"], role);
        let stored = api
            .state
            .store
            .feedbacks
            .by_id(&Id::parse(data["_id"].as_str().unwrap()).unwrap())
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(stored.user.to_string(), *user);
        assert_eq!(stored.role.as_str(), role);
        assert_eq!(stored.feedback, "Love the app! Could tasks have photos?");
    }
    api.post(
        "/feedback",
        Some(&who.teacher),
        json!({"feedback": "é".repeat(2000)}),
    )
    .await
    .ok();

    for bad in [
        json!({}),
        json!({"feedback": ""}),
        json!({"feedback": "   "}),
        json!({"feedback": null}),
        json!({"feedback": "x".repeat(2001)}),
    ] {
        let res = api.post("/feedback", Some(&who.student), bad).await;
        res.status(400);
        assert_eq!(
            res.body["errorMessages"][0]["path"], "feedback",
            "{}",
            res.text
        );
    }
    for token in [&who.admin, &who.super_admin] {
        api.post("/feedback", Some(token), json!({"feedback": "hi"}))
            .await
            .status(403);
    }
    api.post("/feedback", None, json!({"feedback": "hi"}))
        .await
        .status(401);
    api.send(Method::POST, "/feedback")
        .authorization("Bearer ")
        .json(&json!({"feedback": "hi"}))
        .await
        .status(400);
}

on_both_stores!(
    presets_upload_list_serve_and_delete,
    preset_uploads_that_fail_validation_write_nothing,
    a_replaced_profile_picture_keeps_a_presets_file,
    a_replaced_profile_picture_never_deletes_another_accounts_upload,
    rules_read_empty_then_upsert,
    parallel_rule_patches_leave_one_document,
    feedback_from_teachers_and_students,
);
