//! Must show 2: who may call what. Wrong role → 403; a header that is not a JWT → 400; no header →
//! 401; expired, foreign-key, `alg: none` and deleted-account tokens → 401. A student's passcode is
//! seen only by itself and its own teacher, across two teachers. (That no response ever holds a hash
//! or a plain password is checked on every response by `Api::send`.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_stores;
use crate::support::accounts::{JWT_SECRET, PNG};
use crate::support::{Db, Res, TestApp, session};

/// Every protected route of the four groups, with a body the route would accept.
fn routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/admin/profile", None),
        (Method::GET, "/admin/dashboard-overview", None),
        (Method::GET, "/teacher?search=&page=undefined", None),
        (
            Method::POST,
            "/teacher/create-teacher",
            Some(json!({"name": "N", "email": "n@school.test", "password": "123456"})),
        ),
        (Method::GET, "/student/all?page=undefined&search=", None),
        (Method::GET, "/teacher/profile/", None),
        (Method::GET, "/teacher/pass-code", None),
        (Method::GET, "/student?page=undefined", None),
        (Method::GET, "/student/class/Blue%20Group", None),
        (Method::GET, "/student/000000000000000000000000", None),
        (
            Method::POST,
            "/student/create-student",
            Some(json!({"name": "N", "password": "999999", "class": "C"})),
        ),
        (Method::GET, "/student/profile", None),
        (Method::PATCH, "/student", Some(json!({"name": "N"}))),
        (
            Method::POST,
            "/auth/change-password",
            Some(
                json!({"currentPassword": "x", "newPassword": "yyyyyy", "confirmPassword": "yyyyyy"}),
            ),
        ),
    ]
}

/// Which roles each route admits.
fn admits(path: &str, role: &str) -> bool {
    let admin = [
        "/admin",
        "/teacher?",
        "/teacher/create-teacher",
        "/student/all",
    ];
    let student = ["/student/profile", "/student"];
    if path == "/auth/change-password" {
        // Any account, but a student's passcode is its teacher's to set.
        return role != "student";
    }
    if admin.iter().any(|p| path.starts_with(p)) {
        return role == "admin";
    }
    if student.contains(&path) {
        return role == "student";
    }
    role == "teacher"
}

async fn call(
    api: &TestApp,
    method: &Method,
    path: &str,
    auth: Option<&str>,
    body: &Option<Value>,
) -> Res {
    let mut call = api.send(method.clone(), path);
    if let Some(auth) = auth {
        call = call.authorization(auth);
    }
    if let Some(body) = body {
        call = call.json(body);
    }
    call.await
}

async fn every_role_gets_403_outside_its_routes(db: Db) {
    let api = TestApp::start(db).await;
    let admin = api.super_admin().await;
    // The admin creates a teacher with this password below.
    api.watch("123456");
    let t = api.teacher("Hal Teacher").await;
    api.create_student(&t.token, "Ivy Pupil", json!("246810"), "Blue Group")
        .await;
    let s = session(&api.student_login(json!("246810")).await);
    for (role, token) in [
        ("admin", &admin.token),
        ("teacher", &t.token),
        ("student", &s.token),
    ] {
        let auth = format!("Bearer {token}");
        for (method, path, body) in routes() {
            let res = call(&api, &method, path, Some(&auth), &body).await;
            if admits(path, role) {
                assert_ne!(res.status, 403, "{role} {method} {path}: {}", res.text);
                assert_ne!(res.status, 401, "{role} {method} {path}: {}", res.text);
            } else {
                assert_eq!(res.status, 403, "{role} {method} {path}: {}", res.text);
                res.status(403);
            }
        }
        // The multipart routes too.
        for path in ["/teacher", "/admin"] {
            let res = api
                .send(Method::PATCH, path)
                .bearer(token)
                .multipart(&[("name", "N")], Some((PNG, "a.png", "image/png")))
                .await;
            let own =
                (path == "/teacher" && role == "teacher") || (path == "/admin" && role == "admin");
            assert_eq!(
                res.status,
                if own { 200 } else { 403 },
                "{role} PATCH {path}: {}",
                res.text
            );
        }
    }
}

async fn headers_that_are_not_a_jwt_get_400_and_none_401(db: Db) {
    let api = TestApp::start(db).await;
    for (method, path, body) in routes() {
        for header in [
            "Bearer undefined",
            "Bearer ",
            "Bearer",
            "Bearer null",
            "Bearer garbage",
            "Bearer a.b.c",
            "undefined",
        ] {
            let res = call(&api, &method, path, Some(header), &body).await;
            res.status(400);
            assert!(res.message().contains("token"), "{header}: {}", res.text);
        }
        let res = call(&api, &method, path, None, &body).await;
        res.status(401);
        assert_eq!(res.message(), "You are not logged in. Please log in.");
    }
    for path in ["/teacher", "/admin"] {
        api.send(Method::PATCH, path)
            .multipart(&[("name", "N")], None)
            .await
            .status(401);
        let res = api
            .send(Method::PATCH, path)
            .bearer("undefined")
            .multipart(&[("name", "N")], None)
            .await;
        res.status(400);
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(id: &str, role: &str, exp: i64) -> Value {
    json!({"id": id, "role": role, "email": "x@school.test", "iat": now() - 60, "exp": exp, "typ": "access"})
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// The id in an access token (its payload is plain base64url JSON).
fn token_id(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["id"].as_str().unwrap().to_owned()
}

async fn forged_expired_and_orphan_tokens_get_401(db: Db) {
    let api = TestApp::start(db).await;
    let admin = api.super_admin().await;
    let t = api.teacher("Ike Teacher").await;
    api.create_student(&t.token, "Jo Pupil", json!("135791"), "Blue Group")
        .await;
    let s = session(&api.student_login(json!("135791")).await);
    let accounts = [
        (token_id(&admin.token), "SUPER_ADMIN", "/admin/profile"),
        (t.id.clone(), "TEACHER", "/teacher/profile/"),
        (token_id(&s.token), "STUDENT", "/student/profile"),
    ];
    for (id, role, path) in &accounts {
        // Signed with the server's key and fresh: accepted (the forging works).
        let good = sign(&claims(id, role, now() + 600), JWT_SECRET);
        api.get(path, Some(&good)).await.ok();

        let expired = sign(&claims(id, role, now() - 120), JWT_SECRET);
        let res = api.get(path, Some(&expired)).await;
        res.status(401);
        assert!(res.message().contains("expired"), "{}", res.text);

        let foreign = sign(
            &claims(id, role, now() + 600),
            "another-key-0123456789abcdef0123456789",
        );
        let res = api.get(path, Some(&foreign)).await;
        res.status(401);
        assert!(res.message().contains("not valid"), "{}", res.text);

        for none in [
            unsigned(&claims(id, role, now() + 600)),
            unsigned(&claims(id, role, now() + 600))
                .trim_end_matches('.')
                .to_owned()
                + ".c2ln",
        ] {
            api.get(path, Some(&none)).await.status(401);
        }
        // A token of ours with its payload swapped.
        let other = sign(&claims(id, "SUPER_ADMIN", now() + 6000), JWT_SECRET);
        let parts: Vec<&str> = good.split('.').collect();
        let swapped = format!(
            "{}.{}.{}",
            parts[0],
            other.split('.').nth(1).unwrap(),
            parts[2]
        );
        api.get(path, Some(&swapped)).await.status(401);

        // A deleted account: a valid signature for an id nobody has.
        let orphan = sign(
            &claims(
                &educoin::domain::Id::generate().to_string(),
                role,
                now() + 600,
            ),
            JWT_SECRET,
        );
        let res = api.get(path, Some(&orphan)).await;
        res.status(401);
        assert!(res.message().contains("no longer exists"), "{}", res.text);
    }
    // The right id with another role's claim is not that account.
    let as_teacher = sign(
        &claims(&token_id(&s.token), "TEACHER", now() + 600),
        JWT_SECRET,
    );
    api.get("/teacher/profile/", Some(&as_teacher))
        .await
        .status(401);
    let as_admin = sign(&claims(&t.id, "ADMIN", now() + 600), JWT_SECRET);
    api.get("/admin/profile", Some(&as_admin)).await.status(401);
    // Not an access token: no `typ`, or a bad id.
    let mut no_typ = claims(&t.id, "TEACHER", now() + 600);
    no_typ.as_object_mut().unwrap().remove("typ");
    api.get("/teacher/profile/", Some(&sign(&no_typ, JWT_SECRET)))
        .await
        .status(401);
    let bad_id = sign(&claims("12", "TEACHER", now() + 600), JWT_SECRET);
    api.get("/teacher/profile/", Some(&bad_id))
        .await
        .status(401);
    // A refresh token is not an access token.
    let res = api.get("/teacher/profile/", Some(&t.refresh)).await;
    assert!(matches!(res.status, 400 | 401), "{}", res.text);
}

async fn a_passcode_is_seen_only_by_its_student_and_its_teacher(db: Db) {
    let api = TestApp::start(db).await;
    let admin = api.super_admin().await;
    let mine = api.teacher("Kim Teacher").await;
    let theirs = api.teacher("Lou Teacher").await;
    let created = api
        .create_student(&mine.token, "Mo Pupil", json!("572931"), "Shared Class")
        .await;
    api.create_student(&theirs.token, "Ned Pupil", json!("683042"), "Shared Class")
        .await;
    let id = created["_id"].as_str().unwrap();
    const CODE: &str = "572931";

    // The student itself.
    let s = session(&api.student_login(json!(CODE)).await);
    let me = api.get("/student/profile", Some(&s.token)).await;
    assert_eq!(me.ok()["password"], CODE);
    // Its teacher: list, class list, one.
    let list = api.get("/student?page=undefined", Some(&mine.token)).await;
    assert_eq!(list.ok()[0]["password"], CODE);
    let class = api
        .get("/student/class/Shared%20Class", Some(&mine.token))
        .await;
    assert_eq!(class.ok().as_array().unwrap().len(), 1);
    assert_eq!(class.data()[0]["password"], CODE);
    let one = api.get(&format!("/student/{id}"), Some(&mine.token)).await;
    assert_eq!(one.ok()["password"], CODE);

    // Another teacher: not found, and never in its lists.
    let hidden = [
        api.get(&format!("/student/{id}"), Some(&theirs.token))
            .await,
        api.get("/student?page=undefined", Some(&theirs.token))
            .await,
        api.get("/student/class/Shared%20Class", Some(&theirs.token))
            .await,
        api.get("/student?page=undefined&search=Mo", Some(&theirs.token))
            .await,
        // Admins: the student is listed, the passcode is not.
        api.get("/student/all?page=undefined&search=", Some(&admin.token))
            .await,
        api.get("/student/all?search=Mo%20Pupil", Some(&admin.token))
            .await,
        api.get("/teacher?search=&page=undefined", Some(&admin.token))
            .await,
        api.get("/admin/dashboard-overview", Some(&admin.token))
            .await,
        // The teacher's own views of itself.
        api.get("/teacher/profile/", Some(&theirs.token)).await,
    ];
    hidden[0].status(404);
    assert_eq!(hidden[0].message(), "Student not found.");
    for res in &hidden[1..4] {
        let names: Vec<&str> = res
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"Mo Pupil"), "{}", res.text);
    }
    let all = hidden[4].ok().as_array().unwrap();
    assert_eq!(all.len(), 2);
    for st in all {
        assert!(st.get("password").is_none(), "{st}");
    }
    assert_eq!(hidden[5].ok().as_array().unwrap().len(), 1);
    for res in &hidden {
        assert!(!res.text.contains(CODE), "passcode leaked: {}", res.text);
    }
    // Nor can the other teacher reach it by creating a student with it: 409 says "taken" but the
    // student stays hidden.
    api.try_create_student(&theirs.token, "Probe", json!(CODE), "X")
        .await
        .status(409);
}

async fn no_response_holds_a_hash_or_a_teacher_password(db: Db) {
    // Every response of every test is scanned by `Api::send`; this test visits every route that
    // returns an account once more, after a password change and a profile update.
    let api = TestApp::start(db).await;
    let admin = api.super_admin().await;
    let t = api.teacher("Max Teacher").await;
    api.watch("Max-New-Password-1");
    api.post(
        "/auth/change-password",
        Some(&t.token),
        json!({"currentPassword": t.password, "newPassword": "Max-New-Password-1", "confirmPassword": "Max-New-Password-1"}),
    )
    .await
    .ok();
    let t2 = session(&api.teacher_login(&t.email, "Max-New-Password-1").await);
    api.watch("654987");
    api.post(
        "/teacher/create-teacher",
        Some(&admin.token),
        json!({"name": "Code Teacher", "email": "code@school.test", "password": "654987"}),
    )
    .await
    .ok();
    let res = api
        .send(Method::PATCH, "/teacher")
        .bearer(&t2.token)
        .multipart(&[("name", "Max Two")], None)
        .await;
    assert!(res.ok().get("password").is_none());
    for path in [
        "/teacher/profile/",
        "/teacher/pass-code",
        "/student?page=undefined",
    ] {
        api.get(path, Some(&t2.token)).await.ok();
    }
    for path in [
        "/admin/profile",
        "/teacher?search=&page=undefined",
        "/teacher?search=code",
        "/student/all?page=undefined&search=",
        "/admin/dashboard-overview",
    ] {
        let res = api.get(path, Some(&admin.token)).await;
        res.ok();
        for word in ["password", "hash", "passcode"] {
            assert!(
                !res.text.contains(word),
                "{path} mentions {word}: {}",
                res.text
            );
        }
    }
}

on_both_stores!(
    every_role_gets_403_outside_its_routes,
    headers_that_are_not_a_jwt_get_400_and_none_401,
    forged_expired_and_orphan_tokens_get_401,
    a_passcode_is_seen_only_by_its_student_and_its_teacher,
    no_response_holds_a_hash_or_a_teacher_password,
);
