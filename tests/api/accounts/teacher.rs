//! `/teacher/*` as the app calls it: sign-up, login, `GET /teacher/profile/` with the trailing slash,
//! `GET /teacher/pass-code`, `PATCH /teacher` as a multipart form with and without an image.

use reqwest::Method;
use serde_json::json;

use crate::on_both_stores;
use crate::support::accounts::{DEFAULT_AVATAR, PNG};
use crate::support::shapes::{assert_document, keys};
use crate::support::{Db, TestApp, session};

async fn sign_up_then_log_in_at_once(db: Db) {
    let api = TestApp::start(db).await;
    let password = "Sign-Up-Pass-4417";
    api.watch(password);
    let body = json!({
        "name": "Nora Teacher",
        "email": "Nora@School.test",
        "contact": "+1 555 0101",
        "location": "Ogdenville",
        "password": password,
        "confirm_password": password,
    });
    // The app may send a stale header on public routes: ignored.
    let res = api
        .send(Method::POST, "/teacher/sign-up")
        .authorization("Bearer undefined")
        .json(&body)
        .await;
    let created = res.ok();
    assert_document(created);
    assert_eq!(created["email"], "nora@school.test");
    assert!(created.get("password").is_none());

    // No verification step.
    let login = api
        .send(Method::POST, "/teacher/login")
        .authorization("Bearer null")
        .json(&json!({"email": "nora@school.test", "password": password}))
        .await;
    let s = session(&login);
    assert_eq!(login.message(), "Logged in successfully");
    api.get("/teacher/profile/", Some(&s.token)).await.ok();

    api.post("/teacher/sign-up", None, body.clone())
        .await
        .status(409);
    let mut mismatch = body.clone();
    mismatch["email"] = json!("other@school.test");
    mismatch["confirm_password"] = json!("something else");
    let res = api.post("/teacher/sign-up", None, mismatch).await;
    res.status(400);
    assert_eq!(res.body["errorMessages"][0]["path"], "confirm_password");
    let mut short = body.clone();
    short["email"] = json!("short@school.test");
    short["password"] = json!("abc");
    short["confirm_password"] = json!("abc");
    api.post("/teacher/sign-up", None, short).await.status(400);
    let mut no_name = body;
    no_name["email"] = json!("noname@school.test");
    no_name.as_object_mut().unwrap().remove("name");
    api.post("/teacher/sign-up", None, no_name)
        .await
        .status(400);

    let wrong = api
        .teacher_login("nora@school.test", "wrong-password")
        .await;
    wrong.status(401);
    let unknown = api.teacher_login("ghost@school.test", password).await;
    unknown.status(401);
    assert_eq!(wrong.message(), unknown.message());
}

async fn profile_with_the_trailing_slash(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Paul Teacher").await;
    let res = api.get("/teacher/profile/", Some(&t.token)).await;
    let me = res.ok().clone();
    assert_document(&me);
    let mut fields = keys(&me);
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "__v",
            "_id",
            "contact",
            "createdAt",
            "email",
            "location",
            "name",
            "profile",
            "role",
            "status",
            "totalStudent",
            "updatedAt"
        ]
    );
    assert_eq!(me["name"], "Paul Teacher");
    assert_eq!(me["email"], t.email.as_str());
    assert_eq!(me["contact"], "+1 555 0100");
    assert_eq!(me["location"], "Springfield");
    assert_eq!(me["profile"], DEFAULT_AVATAR, "never null");
    assert_eq!(me["role"], "TEACHER");
    assert_eq!(me["status"], "active");
    assert_eq!(me["totalStudent"], 0);
    // Both spellings.
    let plain = api.get("/teacher/profile", Some(&t.token)).await;
    assert_eq!(plain.ok(), &me);

    // totalStudent counts this teacher's students only.
    let other = api.teacher("Olga Teacher").await;
    api.create_student(&t.token, "One", json!("400001"), "C")
        .await;
    api.create_student(&t.token, "Two", json!("400002"), "D")
        .await;
    api.create_student(&other.token, "Three", json!("400003"), "C")
        .await;
    let me = api.get("/teacher/profile/", Some(&t.token)).await;
    assert_eq!(me.ok()["totalStudent"], 2);
    let them = api.get("/teacher/profile/", Some(&other.token)).await;
    assert_eq!(them.ok()["totalStudent"], 1);
}

async fn pass_code_is_a_stable_six_digit_string(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Quinn Teacher").await;
    let first = api.get("/teacher/pass-code", Some(&t.token)).await;
    let code = first.ok().as_str().expect("a string").to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let second = api.get("/teacher/pass-code", Some(&t.token)).await;
    assert_eq!(second.ok(), code.as_str());
    // Not the password, and each teacher has its own.
    assert_ne!(code, t.password);
    let other = api.teacher("Rex Teacher").await;
    let theirs = api.get("/teacher/pass-code", Some(&other.token)).await;
    assert!(theirs.ok().is_string());
}

async fn patch_teacher_as_multipart_with_and_without_an_image(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Uma Teacher").await;
    let res = api
        .send(Method::PATCH, "/teacher")
        .bearer(&t.token)
        .multipart(
            &[("name", "Uma Renamed"), ("location", "Capital City")],
            None,
        )
        .await;
    let updated = res.ok();
    assert_eq!(updated["name"], "Uma Renamed");
    assert_eq!(updated["location"], "Capital City");
    assert_eq!(updated["profile"], DEFAULT_AVATAR);
    assert_eq!(updated["email"], t.email.as_str(), "not editable here");

    let res = api
        .send(Method::PATCH, "/teacher")
        .bearer(&t.token)
        .multipart(&[], Some((PNG, "photo.png", "image/png")))
        .await;
    let first = res.ok()["profile"].as_str().unwrap().to_owned();
    assert!(
        first.starts_with("/images/") && first.ends_with(".png"),
        "{first}"
    );
    assert_eq!(res.data()["name"], "Uma Renamed", "kept");
    let (status, content_type, bytes) = api.file(&first).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert_eq!(bytes, PNG);
    let me = api.get("/teacher/profile/", Some(&t.token)).await;
    assert_eq!(me.ok()["profile"], first.as_str());
    assert_eq!(me.data()["location"], "Capital City");

    // A new picture (named like a JPEG, but the content decides) replaces the old file.
    let res = api
        .send(Method::PATCH, "/teacher")
        .bearer(&t.token)
        .multipart(
            &[("name", "Uma Again")],
            Some((PNG, "photo.jpg", "image/jpeg")),
        )
        .await;
    let second = res.ok()["profile"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(second.ends_with(".png"), "{second}");
    assert_eq!(api.file(&second).await.0, 200);
    assert_eq!(api.file(&first).await.0, 404, "the replaced file is gone");

    // Not an image: 400, nothing changes.
    api.send(Method::PATCH, "/teacher")
        .bearer(&t.token)
        .multipart(
            &[("name", "Never")],
            Some((b"GIF89a not really", "x.png", "image/png")),
        )
        .await
        .status(400);
    let me = api.get("/teacher/profile/", Some(&t.token)).await;
    assert_eq!(me.ok()["name"], "Uma Again");
    assert_eq!(me.data()["profile"], second.as_str());
}

on_both_stores!(
    sign_up_then_log_in_at_once,
    profile_with_the_trailing_slash,
    pass_code_is_a_stable_six_digit_string,
    patch_teacher_as_multipart_with_and_without_an_image,
);
