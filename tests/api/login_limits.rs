//! Brute force is bounded (issue 3, must show 5): failed logins per client address and per account
//! on `/teacher/login` and `/auth/login`, passcode attempts per address and failed passcodes
//! globally on `/student/login`, each answered 429 with `Retry-After` and the error envelope, with
//! the in-process cache and with Redis (where replicas share the counters). And a reused refresh
//! token revokes its whole family.
//!
//! The client address comes from `X-Forwarded-For` because the tests' peer (127.0.0.1) is set as a
//! trusted proxy, so one test can play many addresses.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::{Db, Kv, TestApp, spawn_app_with};
use crate::{on_both_caches, on_both_stores};

const ADMIN: &str = "root@educoin.test";
const ADMIN_PASSWORD: &str = "admin-password-123";
const PASSWORD: &str = "teacher-password-1";
const WINDOW_SECS: u64 = 900;

fn limits(
    per_address: u64,
    per_account: u64,
    passcode_attempts: u64,
    passcode_failures: u64,
) -> impl FnOnce(&mut BTreeMap<String, String>) {
    move |env| {
        let mut set = |k: &str, v: String| {
            env.insert(k.to_owned(), v);
        };
        set("TRUSTED_PROXIES", "127.0.0.1/32".into());
        set(
            "LOGIN_RATE_LIMIT_WINDOW_MS",
            (WINDOW_SECS * 1000).to_string(),
        );
        set("LOGIN_RATE_LIMIT_MAX_FAILURES", per_address.to_string());
        set(
            "LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES",
            per_account.to_string(),
        );
        set(
            "PASSCODE_RATE_LIMIT_MAX_ATTEMPTS",
            passcode_attempts.to_string(),
        );
        set(
            "PASSCODE_RATE_LIMIT_MAX_FAILURES",
            passcode_failures.to_string(),
        );
        set("SUPER_ADMIN_EMAIL", ADMIN.into());
        set("SUPER_ADMIN_PASSWORD", ADMIN_PASSWORD.into());
    }
}

struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn post_from(
    app: &TestApp,
    from: &str,
    path: &str,
    auth: Option<&str>,
    body: Value,
) -> Reply {
    let mut req = app
        .client
        .post(app.url(path))
        .header("X-Forwarded-For", from)
        .json(&body);
    if let Some(token) = auth {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("request sent");
    Reply {
        status: resp.status().as_u16(),
        retry_after: resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: resp.json().await.expect("a JSON body"),
    }
}

async fn teacher_login(app: &TestApp, from: &str, email: &str, password: &str) -> Reply {
    post_from(
        app,
        from,
        "/api/v1/teacher/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

async fn admin_login(app: &TestApp, from: &str, email: &str, password: &str) -> Reply {
    post_from(
        app,
        from,
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

async fn student_login(app: &TestApp, from: &str, passcode: u32) -> Reply {
    // As the app sends it: a JSON number.
    post_from(
        app,
        from,
        "/api/v1/student/login",
        None,
        json!({ "password": passcode }),
    )
    .await
}

async fn sign_up(app: &TestApp, email: &str) {
    let r = post_from(
        app,
        "10.255.255.1",
        "/api/v1/teacher/sign-up",
        None,
        json!({"name": "Ms T", "email": email, "contact": "", "location": "Here",
               "password": PASSWORD, "confirm_password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[track_caller]
fn assert_ok(r: &Reply, what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.body);
    assert!(r.body["data"].is_string(), "{what}: {}", r.body);
}

#[track_caller]
fn assert_wrong(r: &Reply, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.body);
    assert_eq!(r.body["success"], false);
}

/// 429, a `Retry-After` within the window, and the error envelope.
#[track_caller]
fn assert_limited(r: &Reply, what: &str) {
    assert_eq!(r.status, 429, "{what}: {}", r.body);
    let secs: u64 = r
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=WINDOW_SECS).contains(&secs),
        "{what}: Retry-After {secs}"
    );
    assert_eq!(r.body["success"], false, "{what}: {}", r.body);
    assert_eq!(
        r.body["message"], "Too many requests. Please wait and try again.",
        "{what}"
    );
    assert_eq!(
        r.body["errorMessages"][0]["message"], r.body["message"],
        "{what}: {}",
        r.body
    );
    assert!(r.body.get("data").is_none(), "{what}: {}", r.body);
}

/// LOGIN_RATE_LIMIT_MAX_FAILURES failures from one address, each on another email: the next try
/// from that address is refused, even with the right password; other addresses are not.
async fn teacher_login_failures_per_address(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(3, 100, 100, 100)).await;
    sign_up(&app, "t1@school.test").await;
    let from = "10.0.0.1";
    for i in 1..=3 {
        let r = teacher_login(&app, from, &format!("guess{i}@school.test"), "nope-nope").await;
        assert_wrong(&r, &format!("failure {i}"));
    }
    let r = teacher_login(&app, from, "guess4@school.test", "nope-nope").await;
    assert_limited(&r, "a 4th email from the same address");
    let r = teacher_login(&app, from, "t1@school.test", PASSWORD).await;
    assert_limited(&r, "the right password from the blocked address");
    let r = teacher_login(&app, "10.0.0.2", "t1@school.test", PASSWORD).await;
    assert_ok(&r, "another address");
}

/// LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES failures on one account, each from another address: the
/// account is refused from every address, even with the right password; other accounts are not.
async fn teacher_login_failures_per_account_across_addresses(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(100, 3, 100, 100)).await;
    sign_up(&app, "t1@school.test").await;
    sign_up(&app, "t2@school.test").await;
    for i in 1..=3 {
        let r = teacher_login(&app, &format!("10.0.1.{i}"), "t1@school.test", "wrong-pass").await;
        assert_wrong(&r, &format!("failure {i}"));
    }
    let r = teacher_login(&app, "10.0.1.4", "t1@school.test", "wrong-pass").await;
    assert_limited(&r, "a 4th failure from a 4th address");
    let r = teacher_login(&app, "10.0.1.5", "t1@school.test", PASSWORD).await;
    assert_limited(&r, "the right password from a fresh address");
    // The email is normalised: case does not open a second budget.
    let r = teacher_login(&app, "10.0.1.6", "T1@School.TEST", PASSWORD).await;
    assert_limited(&r, "the same account in capitals");
    let r = teacher_login(&app, "10.0.1.7", "t2@school.test", PASSWORD).await;
    assert_ok(&r, "another account");
}

/// A successful login forgets the account's failures but not the address's.
async fn success_clears_the_account_counter_not_the_address_one(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(4, 3, 100, 100)).await;
    sign_up(&app, "t1@school.test").await;
    let a = "10.0.2.1";
    assert_wrong(
        &teacher_login(&app, a, "t1@school.test", "wrong-1").await,
        "1",
    );
    assert_wrong(
        &teacher_login(&app, a, "t1@school.test", "wrong-2").await,
        "2",
    );
    assert_ok(
        &teacher_login(&app, a, "t1@school.test", PASSWORD).await,
        "right",
    );
    // Account counter back to 0: three more failures fit (from elsewhere), the 4th does not.
    for i in 1..=3 {
        let r = teacher_login(&app, "10.0.2.2", "t1@school.test", "wrong-3").await;
        assert_wrong(&r, &format!("account failure {i} after the reset"));
    }
    assert_limited(
        &teacher_login(&app, "10.0.2.2", "t1@school.test", PASSWORD).await,
        "account budget spent again",
    );
    // Address counter kept its 2: two more failures from `a` fit, the 3rd try is refused.
    assert_wrong(
        &teacher_login(&app, a, "x1@school.test", "wrong").await,
        "address 3",
    );
    assert_wrong(
        &teacher_login(&app, a, "x2@school.test", "wrong").await,
        "address 4",
    );
    assert_limited(
        &teacher_login(&app, a, "x3@school.test", "wrong").await,
        "address budget (not cleared by the success)",
    );
}

/// The same two limits on the admin login (`/auth/login`).
async fn admin_login_failures_per_address_and_per_account(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(3, 2, 100, 100)).await;
    assert_ok(
        &admin_login(&app, "10.0.3.1", ADMIN, ADMIN_PASSWORD).await,
        "seeded admin",
    );
    // Per account, across addresses.
    for i in 1..=2 {
        let r = admin_login(&app, &format!("10.0.3.{}", 10 + i), ADMIN, "wrong-admin").await;
        assert_wrong(&r, &format!("account failure {i}"));
    }
    assert_limited(
        &admin_login(&app, "10.0.3.20", ADMIN, ADMIN_PASSWORD).await,
        "admin account locked, right password, fresh address",
    );
    // Per address, across emails.
    let from = "10.0.3.30";
    for i in 1..=3 {
        let r = admin_login(&app, from, &format!("admin{i}@educoin.test"), "wrong").await;
        assert_wrong(&r, &format!("address failure {i}"));
    }
    assert_limited(
        &admin_login(&app, from, "admin9@educoin.test", "wrong").await,
        "admin login, 4th email from one address",
    );
}

/// A teacher with one student whose passcode is `code`.
async fn teacher_with_student(app: &TestApp, code: u32) {
    sign_up(app, "owner@school.test").await;
    let r = teacher_login(app, "10.254.0.1", "owner@school.test", PASSWORD).await;
    assert_ok(&r, "owner login");
    let token = r.body["data"].as_str().unwrap().to_owned();
    let r = post_from(
        app,
        "10.254.0.1",
        "/api/v1/class/create-class",
        Some(&token),
        json!({"className": "5A", "startDate": "2025-01-01"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_from(
        app,
        "10.254.0.1",
        "/api/v1/student/create-student",
        Some(&token),
        json!({"name": "Kid", "password": code.to_string(), "class": "5A"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// PASSCODE_RATE_LIMIT_MAX_ATTEMPTS passcode tries from one address (failed or not), then 429
/// there, even with the right passcode; other addresses go on.
async fn passcode_attempts_per_address(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(100, 100, 3, 100)).await;
    teacher_with_student(&app, 424_242).await;
    let from = "10.0.4.1";
    assert_wrong(&student_login(&app, from, 111_111).await, "attempt 1");
    assert_ok(
        &student_login(&app, from, 424_242).await,
        "attempt 2 (right)",
    );
    assert_wrong(&student_login(&app, from, 222_222).await, "attempt 3");
    assert_limited(
        &student_login(&app, from, 424_242).await,
        "attempt 4, right passcode",
    );
    assert_ok(
        &student_login(&app, "10.0.4.2", 424_242).await,
        "another address",
    );
}

/// PASSCODE_RATE_LIMIT_MAX_FAILURES failed passcodes in all: then every passcode login is refused,
/// from fresh addresses too, and so is creating students (whose 409 reveals taken passcodes).
async fn passcode_global_failure_ceiling(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(100, 100, 100, 3)).await;
    teacher_with_student(&app, 424_242).await;
    for i in 1..=3u32 {
        let r = student_login(&app, &format!("10.0.5.{i}"), 100_000 + i).await;
        assert_wrong(&r, &format!("failure {i}"));
    }
    assert_limited(
        &student_login(&app, "10.0.5.99", 424_242).await,
        "right passcode from a fresh address after the global ceiling",
    );
    assert_limited(
        &student_login(&app, "192.168.7.7", 555_555).await,
        "another fresh address",
    );
}

/// With Redis, replicas share the counters: failures on A are refused on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_replicas_share_the_login_counters() {
    let a = spawn_app_with(Db::Sqlite, Kv::Redis, limits(100, 2, 100, 2)).await;
    let prefix = a.state.config.redis_key_prefix.clone();
    let shared = move |env: &mut BTreeMap<String, String>| {
        limits(100, 2, 100, 2)(env);
        env.insert("REDIS_KEY_PREFIX".into(), prefix);
    };
    let b = spawn_app_with(Db::Sqlite, Kv::Redis, shared).await;
    sign_up(&b, "t1@school.test").await;
    for i in 1..=2 {
        let r = teacher_login(&a, &format!("10.0.6.{i}"), "t1@school.test", "wrong-pass").await;
        assert_wrong(&r, &format!("failure {i} on A"));
    }
    assert_limited(
        &teacher_login(&b, "10.0.6.9", "t1@school.test", PASSWORD).await,
        "B after the account's failures on A",
    );
    for i in 1..=2u32 {
        let r = student_login(&a, &format!("10.0.7.{i}"), 100_000 + i).await;
        assert_wrong(&r, &format!("passcode failure {i} on A"));
    }
    assert_limited(
        &student_login(&b, "10.0.7.9", 123_456).await,
        "B after the global passcode failures on A",
    );
}

on_both_caches!(
    teacher_login_failures_per_address,
    teacher_login_failures_per_account_across_addresses,
    success_clears_the_account_counter_not_the_address_one,
    admin_login_failures_per_address_and_per_account,
    passcode_attempts_per_address,
    passcode_global_failure_ceiling,
);

/// Rotation: R1 → R2. Presenting R1 again is refused and revokes the family, so R2 fails too; a
/// session from another login is untouched.
async fn refresh_token_reuse_revokes_the_family(db: Db) {
    let app = spawn_app_with(db, Kv::Memory, limits(100, 100, 100, 100)).await;
    sign_up(&app, "t1@school.test").await;
    let first = teacher_login(&app, "10.0.8.1", "t1@school.test", PASSWORD).await;
    assert_ok(&first, "login");
    let other = teacher_login(&app, "10.0.8.2", "t1@school.test", PASSWORD).await;
    assert_ok(&other, "a second session");
    let refresh = |token: String| {
        let app = &app;
        async move {
            post_from(
                app,
                "10.0.8.1",
                "/api/v1/auth/refresh-token",
                None,
                json!({ "refreshToken": token }),
            )
            .await
        }
    };
    let r1 = first.body["refreshToken"].as_str().unwrap().to_owned();
    let rotated = refresh(r1.clone()).await;
    assert_ok(&rotated, "R1 → R2");
    let r2 = rotated.body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);

    let reuse = refresh(r1.clone()).await;
    assert_wrong(&reuse, "R1 presented again");
    assert!(
        reuse.body["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{}",
        reuse.body
    );
    assert_wrong(&refresh(r2).await, "R2 after the family was revoked");
    assert_wrong(&refresh(r1).await, "R1 a third time");

    let r3 = other.body["refreshToken"].as_str().unwrap().to_owned();
    assert_ok(&refresh(r3).await, "the other login's family");
}

on_both_stores!(refresh_token_reuse_revokes_the_family);
