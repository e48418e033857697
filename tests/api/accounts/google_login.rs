//! Must show 4: Google sign-in through the real route, `POST /api/v1/teacher/login` with the app's
//! `{type: "social", email, name, profile, idToken}`, against a local JSON Web Key Set server
//! (support/google.rs) with the test RSA keys.

use serde_json::{Value, json};

use crate::on_both_stores;
use crate::support::google::{
    CLIENT_ID, EMAIL, FakeGoogle, KID_A, claims, google, now, sign, sign_with, with,
};
use crate::support::{Db, Res, TestApp, session};

async fn server(db: Db, google: &FakeGoogle, legacy: bool) -> TestApp {
    let url = google.url.clone();
    TestApp::start_with(db, move |env| {
        env.insert(
            "GOOGLE_CLIENT_ID".into(),
            format!("{CLIENT_ID}, 1234-ios.apps.googleusercontent.com"),
        );
        env.insert("GOOGLE_JWKS_URL".into(), url);
        if legacy {
            env.insert("GOOGLE_ALLOW_LEGACY_LOGIN".into(), "true".into());
        }
    })
    .await
}

/// The app's body, with `idToken` when given.
fn body(email: &str, id_token: Option<&str>) -> Value {
    let mut body = json!({
        "type": "social",
        "email": email,
        "name": "Ada From The App",
        "profile": "https://lh3.googleusercontent.com/a/app-photo",
    });
    if let Some(token) = id_token {
        body["idToken"] = json!(token);
    }
    body
}

async fn google_login(api: &TestApp, email: &str, id_token: Option<&str>) -> Res {
    api.post("/teacher/login", None, body(email, id_token))
        .await
}

async fn teacher_count(api: &TestApp) -> u64 {
    let admin = api.super_admin().await;
    let res = api.get("/teacher?page=1", Some(&admin.token)).await;
    res.ok();
    res.body["pagination"]["total"].as_u64().unwrap()
}

async fn a_valid_id_token_logs_in_and_creates_the_teacher_once(db: Db) {
    let google = google().await;
    let api = server(db, &google, false).await;
    let token = sign(&claims());
    let first = session(&google_login(&api, EMAIL, Some(&token)).await);
    let res = api.get("/teacher/profile/", Some(&first.token)).await;
    let me = res.ok().clone();
    assert_eq!(me["email"], EMAIL);
    // Google's name and picture, not the body's.
    assert_eq!(me["name"], "Ada Teacher");
    assert_eq!(me["profile"], "https://lh3.googleusercontent.com/a/photo");
    assert_eq!(me["role"], "TEACHER");
    assert_eq!(teacher_count(&api).await, 1);

    // The second login (another token, the email in another case) reuses the account.
    let again = sign(&with(json!({"iat": now() - 5})));
    let second = session(&google_login(&api, "  Teacher@Example.COM ", Some(&again)).await);
    let res = api.get("/teacher/profile/", Some(&second.token)).await;
    assert_eq!(res.ok()["_id"], me["_id"]);
    assert_eq!(teacher_count(&api).await, 1);
    // Its refresh token works like any other.
    session(
        &api.post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": second.refresh}),
        )
        .await,
    );
    // It has no password to change.
    api.post(
        "/auth/change-password",
        Some(&second.token),
        json!({"currentPassword": "x", "newPassword": "yyyyyyyy", "confirmPassword": "yyyyyyyy"}),
    )
    .await
    .status(400);
    // And no password login.
    api.teacher_login(EMAIL, "anything-at-all")
        .await
        .status(401);
}

async fn a_teacher_who_signed_up_can_use_google_too(db: Db) {
    let google = google().await;
    let api = server(db, &google, false).await;
    let t = api.teacher("Gia Teacher").await;
    let token = sign(&with(json!({"email": t.email})));
    let s = session(&google_login(&api, &t.email, Some(&token)).await);
    let me = api.get("/teacher/profile/", Some(&s.token)).await;
    assert_eq!(me.ok()["_id"], t.id.as_str());
    assert_eq!(
        me.data()["name"],
        "Gia Teacher",
        "an existing account is not changed"
    );
    // The password still works.
    session(&api.teacher_login(&t.email, &t.password).await);
}

async fn bad_id_tokens_are_refused_with_a_clear_message(db: Db) {
    let google = google().await;
    let api = server(db, &google, false).await;
    let cases = [
        (
            "wrong audience",
            sign(&with(
                json!({"aud": "someone-else.apps.googleusercontent.com"}),
            )),
            EMAIL,
            "another app",
        ),
        (
            "expired",
            sign(&with(json!({"iat": now() - 7200, "exp": now() - 3600}))),
            EMAIL,
            "has expired",
        ),
        (
            "unverified email",
            sign(&with(json!({"email_verified": false}))),
            EMAIL,
            "not verified",
        ),
        (
            "other email",
            sign(&claims()),
            "someone.else@example.com",
            "another email address",
        ),
        (
            "bad signature",
            sign_with("b", KID_A, &claims()),
            EMAIL,
            "signature is not valid",
        ),
        (
            "another issuer",
            sign(&with(json!({"iss": "https://evil.example.com"}))),
            EMAIL,
            "not issued by Google",
        ),
        (
            "not a JWT",
            "undefined".to_owned(),
            EMAIL,
            "not a Google ID token",
        ),
    ];
    for (what, token, email, expected) in cases {
        let res = google_login(&api, email, Some(&token)).await;
        assert_eq!(res.status, 401, "{what}: {}", res.text);
        res.status(401);
        assert!(res.message().contains(expected), "{what}: {}", res.text);
        assert!(res.message().ends_with('.'), "{what}: {}", res.text);
        assert!(res.body.get("data").is_none(), "{what}");
    }
    assert_eq!(teacher_count(&api).await, 0, "no account created");
}

async fn without_id_token_the_app_is_told_to_send_it(db: Db) {
    let google = google().await;
    let api = server(db, &google, false).await;
    for id_token in [None, Some(""), Some("  ")] {
        let res = google_login(&api, EMAIL, id_token).await;
        res.status(400);
        assert!(
            res.message().contains("the app must send idToken"),
            "{}",
            res.text
        );
        assert_eq!(res.body["errorMessages"][0]["path"], "idToken");
    }
    let res = api
        .post(
            "/teacher/login",
            None,
            json!({"type": "social", "idToken": sign(&claims())}),
        )
        .await;
    res.status(400);
    assert_eq!(res.body["errorMessages"][0]["path"], "email");
    assert_eq!(teacher_count(&api).await, 0);
    assert_eq!(google.hits(), 0, "nothing to verify, nothing fetched");
}

async fn the_legacy_body_is_accepted_only_when_allowed(db: Db) {
    let google = google().await;
    let api = server(db, &google, true).await;
    let res = google_login(&api, "legacy.teacher@example.com", None).await;
    let s = session(&res);
    let me = api.get("/teacher/profile/", Some(&s.token)).await;
    let me = me.ok();
    assert_eq!(me["email"], "legacy.teacher@example.com");
    assert_eq!(me["name"], "Ada From The App");
    assert_eq!(
        me["profile"],
        "https://lh3.googleusercontent.com/a/app-photo"
    );
    // An idToken, when sent, is still verified.
    let forged = sign_with("b", KID_A, &claims());
    google_login(&api, EMAIL, Some(&forged)).await.status(401);
    session(&google_login(&api, EMAIL, Some(&sign(&claims()))).await);
    assert_eq!(teacher_count(&api).await, 2);
}

/// Issue 9 item 16: the body's `profile` becomes the picture of a new account when Google has
/// none, so it gets the `image` check: `javascript:` and `data:` URLs are 400 and create nothing.
async fn a_google_sign_up_refuses_a_script_url_as_profile(db: Db) {
    let google = google().await;
    let api = server(db, &google, true).await;
    let mut no_picture = claims();
    no_picture.as_object_mut().unwrap().remove("picture");
    let too_long = format!("https://example.com/{}.png", "a".repeat(500));
    for bad in [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "/images/a\u{7}.png",
        too_long.as_str(),
    ] {
        let mut b = body(EMAIL, Some(&sign(&no_picture)));
        b["profile"] = json!(bad);
        let res = api.post("/teacher/login", None, b).await;
        res.status(400);
        assert_eq!(res.body["errorMessages"][0]["path"], "profile", "{bad}");
        // The legacy body (no idToken) is held to the same check.
        let mut legacy = body("legacy.teacher@example.com", None);
        legacy["profile"] = json!(bad);
        let res = api.post("/teacher/login", None, legacy).await;
        res.status(400);
    }
    assert_eq!(teacher_count(&api).await, 0);
    // A path or an https URL is taken.
    let mut b = body(EMAIL, Some(&sign(&no_picture)));
    b["profile"] = json!("/images/avatar-3.png");
    let s = session(&api.post("/teacher/login", None, b).await);
    let me = api.get("/teacher/profile/", Some(&s.token)).await;
    assert_eq!(me.ok()["profile"], "/images/avatar-3.png");
}

on_both_stores!(
    a_google_sign_up_refuses_a_script_url_as_profile,
    a_valid_id_token_logs_in_and_creates_the_teacher_once,
    a_teacher_who_signed_up_can_use_google_too,
    bad_id_tokens_are_refused_with_a_clear_message,
    without_id_token_the_app_is_told_to_send_it,
    the_legacy_body_is_accepted_only_when_allowed,
);
