//! `/auth/*`: admin login as the dashboard sends it, refresh-token rotation, logout, password change
//! for admins and teachers (a student gets 403), and the answers of the reset routes that need no mail.

use reqwest::Method;
use serde_json::json;

use crate::on_both_stores;
use crate::support::accounts::{SUPER_EMAIL, SUPER_PASSWORD};
use crate::support::{Db, TestApp, session};

async fn admin_login_with_the_dashboards_body(db: Db) {
    let api = TestApp::start(db).await;
    // `Bearer null` on a public route is ignored; `remember: true` is accepted.
    let res = api.admin_login(SUPER_EMAIL, SUPER_PASSWORD).await;
    let s = session(&res);
    assert_eq!(res.message(), "Logged in successfully");
    let me = api.get("/admin/profile", Some(&s.token)).await;
    assert_eq!(me.ok()["role"], "SUPER_ADMIN");
    // The email is matched whatever its case and surrounding spaces.
    session(&api.admin_login(" ROOT@Quokki.TEST ", SUPER_PASSWORD).await);

    let wrong = api.admin_login(SUPER_EMAIL, "not-the-password").await;
    wrong.status(401);
    let unknown = api.admin_login("nobody@quokki.test", SUPER_PASSWORD).await;
    unknown.status(401);
    assert_eq!(wrong.message(), unknown.message(), "no account enumeration");
    assert_eq!(wrong.message(), "The email or password is incorrect.");

    let missing = api
        .post("/auth/login", None, json!({"password": SUPER_PASSWORD}))
        .await;
    missing.status(400);
    assert_eq!(missing.body["errorMessages"][0]["path"], "email");
    api.post("/auth/login", None, json!({"email": SUPER_EMAIL}))
        .await
        .status(400);
    // A teacher's credentials do not open the dashboard.
    let t = api.teacher("Dana Teacher").await;
    api.admin_login(&t.email, &t.password).await.status(401);
}

async fn refresh_token_rotation(db: Db) {
    let api = TestApp::start(db).await;
    let first = api.super_admin().await;
    let res = api
        .post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": first.refresh}),
        )
        .await;
    let second = session(&res);
    assert_ne!(second.refresh, first.refresh, "rotated");
    api.get("/admin/profile", Some(&second.token)).await.ok();
    // The old refresh token is spent.
    api.post(
        "/auth/refresh-token",
        None,
        json!({"refreshToken": first.refresh}),
    )
    .await
    .status(401);

    // Teacher and student sessions rotate too, keeping their role.
    let t = api.teacher("Rita Teacher").await;
    let t2 = session(
        &api.post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": t.refresh}),
        )
        .await,
    );
    let me = api.get("/teacher/profile/", Some(&t2.token)).await;
    assert_eq!(me.ok()["email"], t.email.as_str());
    api.create_student(&t.token, "Sam", json!("314159"), "Blue")
        .await;
    let s = session(&api.student_login(json!("314159")).await);
    let s2 = session(
        &api.post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": s.refresh}),
        )
        .await,
    );
    assert_eq!(
        api.get("/student/profile", Some(&s2.token)).await.ok()["name"],
        "Sam"
    );

    for bad in [json!({}), json!({"refreshToken": ""})] {
        api.post("/auth/refresh-token", None, bad).await.status(400);
    }
    api.post(
        "/auth/refresh-token",
        None,
        json!({"refreshToken": "not-a-token-we-issued"}),
    )
    .await
    .status(401);
}

async fn logout_ends_the_session(db: Db) {
    let api = TestApp::start(db).await;
    let s = api.super_admin().await;
    let other = api.super_admin().await;
    let res = api
        .post(
            "/auth/logout",
            Some(&s.token),
            json!({"refreshToken": s.refresh}),
        )
        .await;
    res.ok();
    assert_eq!(res.message(), "Logged out");
    api.post(
        "/auth/refresh-token",
        None,
        json!({"refreshToken": s.refresh}),
    )
    .await
    .status(401);
    // Another session of the same account is untouched.
    session(
        &api.post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": other.refresh}),
        )
        .await,
    );
    // Logging out twice, with no token or an unknown one, still succeeds.
    for body in [
        json!({"refreshToken": s.refresh}),
        json!({}),
        json!({"refreshToken": "whatever"}),
    ] {
        api.post("/auth/logout", None, body).await.ok();
    }
}

async fn change_password_for_an_admin(db: Db) {
    let api = TestApp::start(db).await;
    let s = api.super_admin().await;
    let new = "Changed-Admin-Pass-5521";
    api.watch(new);
    let change = |current: &str, confirm: &str| json!({"currentPassword": current, "newPassword": new, "confirmPassword": confirm});
    let wrong = api
        .post(
            "/auth/change-password",
            Some(&s.token),
            change("wrong-current", new),
        )
        .await;
    wrong.status(400);
    assert_eq!(wrong.body["errorMessages"][0]["path"], "currentPassword");
    let mismatch = api
        .post(
            "/auth/change-password",
            Some(&s.token),
            change(SUPER_PASSWORD, "something-else"),
        )
        .await;
    mismatch.status(400);
    assert_eq!(mismatch.body["errorMessages"][0]["path"], "confirmPassword");
    api.post(
        "/auth/change-password",
        Some(&s.token),
        json!({"currentPassword": SUPER_PASSWORD, "newPassword": "12345", "confirmPassword": "12345"}),
    )
    .await
    .status(400);
    api.post(
        "/auth/change-password",
        Some(&s.token),
        change(SUPER_PASSWORD, new),
    )
    .await
    .ok();

    api.admin_login(SUPER_EMAIL, SUPER_PASSWORD)
        .await
        .status(401);
    session(&api.admin_login(SUPER_EMAIL, new).await);
    // The sessions opened with the old password are ended.
    api.post(
        "/auth/refresh-token",
        None,
        json!({"refreshToken": s.refresh}),
    )
    .await
    .status(401);
}

async fn change_password_for_a_teacher_and_not_a_student(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Tess Teacher").await;
    let new = "Changed-Teacher-Pass-8812";
    api.watch(new);
    api.post(
        "/auth/change-password",
        Some(&t.token),
        json!({"currentPassword": t.password, "newPassword": new, "confirmPassword": new}),
    )
    .await
    .ok();
    api.teacher_login(&t.email, &t.password).await.status(401);
    // The access token of the old password is over too (the token epoch): log in again.
    api.get("/teacher/profile/", Some(&t.token))
        .await
        .status(401);
    let again = session(&api.teacher_login(&t.email, new).await);

    api.create_student(&again.token, "Stu", json!(271828), "Red")
        .await;
    let s = session(&api.student_login(json!(271828)).await);
    let res = api
        .post(
            "/auth/change-password",
            Some(&s.token),
            json!({"currentPassword": "271828", "newPassword": "999999", "confirmPassword": "999999"}),
        )
        .await;
    res.status(403);
    assert!(res.message().contains("teacher"), "{}", res.text);
    // The passcode still works.
    session(&api.student_login(json!("271828")).await);
    // No header at all: 401.
    api.post(
        "/auth/change-password",
        None,
        json!({"currentPassword": "a", "newPassword": "bbbbbb", "confirmPassword": "bbbbbb"}),
    )
    .await
    .status(401);
}

/// The reset routes without a mail server (the end-to-end flow through SMTP is Must show 3).
async fn reset_routes_answer_without_revealing_accounts(db: Db) {
    let api = TestApp::start(db).await;
    let known = api
        .post(
            "/auth/forget-password",
            Some("null"),
            json!({"email": SUPER_EMAIL}),
        )
        .await;
    let unknown = api
        .post(
            "/auth/forget-password",
            None,
            json!({"email": "nobody@quokki.test"}),
        )
        .await;
    known.ok();
    unknown.ok();
    assert_eq!(
        known.text, unknown.text,
        "same answer whether or not it exists"
    );
    api.post("/auth/forget-password", None, json!({"email": "nope"}))
        .await
        .status(400);

    // No code was sent to this address: any code is refused, as a number or a string.
    for code in [json!(1234), json!("1234")] {
        let res = api
            .post(
                "/auth/verify-email",
                None,
                json!({"email": "nobody@quokki.test", "oneTimeCode": code}),
            )
            .await;
        res.status(400);
        assert_eq!(res.body["errorMessages"][0]["path"], "oneTimeCode");
    }
    api.post("/auth/verify-email", None, json!({"email": SUPER_EMAIL}))
        .await
        .status(400);

    let body = json!({"newPassword": "New-Pass-123", "confirmPassword": "New-Pass-123"});
    api.send(Method::POST, "/auth/reset-password")
        .json(&body)
        .await
        .status(401);
    api.send(Method::POST, "/auth/reset-password")
        .authorization("made-up-reset-token")
        .json(&body)
        .await
        .status(401);
    api.send(Method::POST, "/auth/reset-password")
        .authorization("made-up-reset-token")
        .json(&json!({"newPassword": "New-Pass-123", "confirmPassword": "Other-Pass-123"}))
        .await
        .status(400);
    // Nothing changed.
    session(&api.admin_login(SUPER_EMAIL, SUPER_PASSWORD).await);
}

on_both_stores!(
    admin_login_with_the_dashboards_body,
    refresh_token_rotation,
    logout_ends_the_session,
    change_password_for_an_admin,
    change_password_for_a_teacher_and_not_a_student,
    reset_routes_answer_without_revealing_accounts,
);
