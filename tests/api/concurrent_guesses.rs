//! Attackers send in parallel (issue 9, items 1, 2 and 12). Every guessable secret is attacked
//! with a burst of concurrent guesses, the right one among them, and at most the budget is
//! checked: the rest are refused (429) before any hash or lookup. How many were checked is read
//! from the server's own failure counter (`login_failures_total`), since a 429 alone does not say
//! whether the guess was checked first (the old code checked, then counted, then said 429). The
//! counts are printed as the before/after figures of the issue. Reset codes: `password_reset.rs`.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::future::join_all;
use serde_json::json;

use crate::login_limits::{
    ADMIN, ADMIN_PASSWORD, PASSWORD, Reply, assert_ok, limits, post_from, sign_up, student_login,
    teacher_login, teacher_with_student,
};
use crate::on_both_caches;
use crate::support::{Db, Kv, TestApp, spawn_app_with};

/// How many answers had each status.
fn tally(replies: &[Reply]) -> BTreeMap<u16, usize> {
    let mut t = BTreeMap::new();
    for r in replies {
        *t.entry(r.status).or_default() += 1;
        if r.status == 429 || r.status == 503 {
            assert!(r.retry_after.is_some(), "{} without Retry-After", r.status);
            assert_eq!(r.body["success"], false);
        }
    }
    t
}

fn count(t: &BTreeMap<u16, usize>, status: u16) -> usize {
    t.get(&status).copied().unwrap_or(0)
}

/// The most secrets a burst at one account (budget 5) may have checked: the budget, plus the one
/// attempt an address with no failure may make. When the owner's right password is among them and
/// gets in, the account's failures are forgotten by design (a login clears its typos), so the
/// guesses still in flight meet a fresh budget once: twice the budget plus that one right attempt.
fn checked_at_most(t: &BTreeMap<u16, usize>) -> u64 {
    if count(t, 200) > 0 { 11 } else { 6 }
}

/// Wrong secrets the server has checked so far, of one kind (the test's server runs in this
/// process, each test in a process of its own).
fn failures_checked(kind: &str) -> u64 {
    educoin::ops::metrics::get()
        .login_failures
        .with_label_values(&[kind])
        .get()
}

/// `n` parallel password guesses at one account from one address, the right password at #46:
/// at most the account's budget (5) is checked, plus the one attempt an address with no failure
/// may make; the owner still gets in from a clean address afterwards.
async fn password_burst(kv: Kv, n: usize) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(10, 5, 100, 100)).await;
    sign_up(&app, "t1@school.test").await;
    let guesses = (0..n).map(|i| {
        let password = if i == 45 {
            PASSWORD.to_owned()
        } else {
            format!("guess-{i}")
        };
        let app = &app;
        async move { teacher_login(app, "10.1.0.1", "t1@school.test", &password).await }
    });
    let before = failures_checked("teacher");
    let replies = join_all(guesses).await;
    let t = tally(&replies);
    let checked = failures_checked("teacher") - before + count(&t, 200) as u64;
    println!("{n} parallel password guesses ({kv:?} cache): {t:?}, {checked} checked");
    assert!(
        checked <= checked_at_most(&t),
        "{checked} guesses checked: {t:?}"
    );
    assert_eq!(count(&t, 200) + count(&t, 401) + count(&t, 429), n, "{t:?}");
    assert_ok(
        &teacher_login(&app, "10.1.0.2", "t1@school.test", PASSWORD).await,
        "the owner from a clean address",
    );
}

async fn fifty_parallel_password_guesses(kv: Kv) {
    password_burst(kv, 50).await;
}

async fn two_hundred_parallel_password_guesses(kv: Kv) {
    password_burst(kv, 200).await;
}

/// The same on the admin login, at the super admin.
async fn fifty_parallel_admin_guesses(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(10, 5, 100, 100)).await;
    let guesses = (0..50).map(|i| {
        let password = if i == 45 {
            ADMIN_PASSWORD.to_owned()
        } else {
            format!("guess-{i}")
        };
        let app = &app;
        async move {
            post_from(
                app,
                "10.1.1.1",
                "/api/v1/auth/login",
                None,
                json!({"email": ADMIN, "password": password}),
            )
            .await
        }
    });
    let before = failures_checked("admin");
    let t = tally(&join_all(guesses).await);
    let checked = failures_checked("admin") - before + count(&t, 200) as u64;
    println!("50 parallel admin password guesses ({kv:?} cache): {t:?}, {checked} checked");
    assert!(checked <= checked_at_most(&t), "{checked} checked: {t:?}");
}

/// `n` parallel wrong current passwords at change-password, the right one at #46: at most the
/// budget is checked, as for logins (issue 9, item 12).
async fn fifty_parallel_current_password_guesses(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(10, 5, 100, 100)).await;
    sign_up(&app, "t1@school.test").await;
    let r = teacher_login(&app, "10.1.2.1", "t1@school.test", PASSWORD).await;
    assert_ok(&r, "login");
    let token = r.body["data"].as_str().unwrap().to_owned();
    let guesses = (0..50).map(|i| {
        let current = if i == 45 {
            PASSWORD.to_owned()
        } else {
            format!("guess-{i}")
        };
        let (app, token) = (&app, &token);
        async move {
            post_from(
                app,
                "10.1.2.2",
                "/api/v1/auth/change-password",
                Some(token),
                json!({"currentPassword": current, "newPassword": "brand-new-pass-1",
                       "confirmPassword": "brand-new-pass-1"}),
            )
            .await
        }
    });
    let replies = join_all(guesses).await;
    let t = tally(&replies);
    println!("50 parallel current-password guesses ({kv:?} cache): {t:?}");
    assert!(count(&t, 200) + count(&t, 400) <= 6, "{t:?}");
    for r in replies.iter().filter(|r| r.status == 400) {
        assert_eq!(r.body["errorMessages"][0]["path"], "currentPassword");
    }
}

/// `n` parallel passcode guesses from one address, the right passcode at #46: at most the address
/// budget (10) plus the slow lane's one attempt fail; a right passcode gives its count back, so it
/// can make room for one more.
async fn fifty_parallel_passcode_guesses(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(100, 100, 10, 1000)).await;
    teacher_with_student(&app, 424_242).await;
    let guesses = (0..50u32).map(|i| {
        let code = if i == 45 { 424_242 } else { 100_000 + i };
        let app = &app;
        async move { student_login(app, "10.1.3.1", code).await }
    });
    let before = failures_checked("student");
    let t = tally(&join_all(guesses).await);
    let failed = failures_checked("student") - before;
    println!(
        "50 parallel passcode guesses from one address ({kv:?} cache): {t:?}, {failed} failed"
    );
    assert!(failed <= 11, "{failed} failed: {t:?}");
    assert!(count(&t, 200) <= 1, "{t:?}");
}

/// A distributed guess: 100 addresses (distinct networks) × 3 parallel guesses, global budget 20.
/// Past the global budget only addresses with no failure are checked, so at most 20 + 100 of the
/// 300 guesses are; afterwards the right passcode from a clean address is accepted and from an
/// attacking address refused.
async fn distributed_passcode_guesses(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, limits(100, 100, 10, 20)).await;
    teacher_with_student(&app, 424_242).await;
    let guesses = (0..300u32).map(|i| {
        let from = format!("10.{}.{}.1", 10 + i % 100 / 50, i % 100);
        let app = &app;
        async move { student_login(app, &from, 100_000 + i).await }
    });
    let before = failures_checked("student");
    let t = tally(&join_all(guesses).await);
    let failed = failures_checked("student") - before;
    println!(
        "300 parallel passcode guesses from 100 addresses ({kv:?} cache): {t:?}, {failed} checked"
    );
    assert!(failed <= 120, "{failed} checked: {t:?}");
    assert_ok(
        &student_login(&app, "10.200.0.1", 424_242).await,
        "the right passcode from a clean address during the attack",
    );
    let r = student_login(&app, "10.10.0.1", 424_242).await;
    assert_eq!(r.status, 429, "an attacking address: {}", r.body);
}

/// Sign-up has a budget of its own per address (it costs a hash in the login queue).
async fn parallel_sign_ups_are_limited(kv: Kv) {
    let app = spawn_app_with(Db::Sqlite, kv, |env| {
        limits(100, 100, 100, 100)(env);
        env.insert("SIGNUP_RATE_LIMIT_MAX".into(), "3".into());
    })
    .await;
    let sign_ups = (0..8).map(|i| {
        let app = &app;
        async move {
            post_from(
                app,
                "10.1.4.1",
                "/api/v1/teacher/sign-up",
                None,
                json!({"name": "T", "email": format!("s{i}@school.test"), "contact": "",
                       "location": "", "password": PASSWORD, "confirm_password": PASSWORD}),
            )
            .await
        }
    });
    let t = tally(&join_all(sign_ups).await);
    println!("8 parallel sign-ups from one address, budget 3 ({kv:?} cache): {t:?}");
    assert_eq!((count(&t, 200), count(&t, 429)), (3, 5), "{t:?}");
    let r = post_from(
        &app,
        "10.1.4.2",
        "/api/v1/teacher/sign-up",
        None,
        json!({"name": "T", "email": "other@school.test", "contact": "", "location": "",
               "password": PASSWORD, "confirm_password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 200, "another address: {}", r.body);
}

on_both_caches!(
    fifty_parallel_password_guesses,
    two_hundred_parallel_password_guesses,
    fifty_parallel_admin_guesses,
    fifty_parallel_current_password_guesses,
    fifty_parallel_passcode_guesses,
    distributed_passcode_guesses,
    parallel_sign_ups_are_limited,
);

/// The hashing queue is bounded: a request that cannot get a slot in time is answered 503 with
/// `Retry-After` (not queued for seconds), and is not counted as a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_answers_503() {
    let app = spawn_app_with(Db::Sqlite, Kv::Memory, |env| {
        limits(1, 1, 100, 100)(env);
        env.insert("PASSWORD_HASH_QUEUE_WAIT_MS".into(), "1".into());
    })
    .await;
    let guesses = (0..40u32).map(|i| {
        let app = &app;
        async move {
            let from = format!("10.2.{i}.1");
            teacher_login(app, &from, &format!("u{i}@school.test"), "wrong-pass").await
        }
    });
    let replies = join_all(guesses).await;
    let t = tally(&replies);
    println!("40 parallel logins with a 1 ms queue wait: {t:?}");
    assert!(count(&t, 503) >= 1, "{t:?}");
    assert_eq!(count(&t, 401) + count(&t, 503), 40, "{t:?}");
    // With a budget of 1 failure per address, an address whose guess was turned away unchecked
    // still has its budget: its next guess is checked (401), not refused.
    let i = replies.iter().position(|r| r.status == 503).unwrap();
    let again =
        retry_until_checked(&app, &format!("10.2.{i}.1"), &format!("u{i}@school.test")).await;
    assert_eq!(again.status, 401, "{}", again.body);
}

async fn retry_until_checked(app: &TestApp, from: &str, email: &str) -> Reply {
    loop {
        let r = teacher_login(app, from, email, "wrong-pass").await;
        if r.status != 503 {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The figure of issue 9, item 1: how long a legitimate login takes while 50 guesses from 50
/// addresses hit the hashing queue (printed, not asserted: the CPU is shared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legitimate_login_during_a_guess_storm() {
    let app = spawn_app_with(Db::Sqlite, Kv::Memory, limits(10, 5, 100, 100)).await;
    sign_up(&app, "t1@school.test").await;
    let storm = (0..50u32).map(|i| {
        let app = &app;
        async move {
            let from = format!("10.3.{i}.1");
            teacher_login(app, &from, &format!("u{i}@school.test"), "wrong-pass").await
        }
    });
    let legit = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let started = Instant::now();
        let r = teacher_login(&app, "10.4.0.1", "t1@school.test", PASSWORD).await;
        (r.status, started.elapsed())
    };
    let (replies, (status, took)) = tokio::join!(join_all(storm), legit);
    let t = tally(&replies);
    println!("legitimate login during 50 parallel guesses: {status} after {took:?}; storm: {t:?}");
    assert!(status == 200 || status == 503, "{status}");
}
