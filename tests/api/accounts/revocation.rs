//! Issue 9, items 9 and 10: a password change, a reset or a block ends the account's access tokens
//! at once (the token epoch), not when they expire; a blocked or removed account's refresh token
//! issues nothing and its login is revoked. On both stores.

use educoin::domain::{AccountStatus, Id};
use educoin::revocation::set_teacher_status;
use serde_json::json;

use crate::on_both_stores;
use crate::support::accounts::SUPER_PASSWORD;
use crate::support::{Db, TestApp, session};

fn change(current: &str, new: &str) -> serde_json::Value {
    json!({"currentPassword": current, "newPassword": new, "confirmPassword": new})
}

/// Every access token of the account ends with a password change, the one that made the change
/// included, while a login right after it (in the same second) works: the epoch is a counter, not
/// a time.
async fn a_password_change_ends_every_access_token(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Ada Teacher").await;
    let phone = session(&api.teacher_login(&t.email, &t.password).await);
    api.get("/teacher/profile/", Some(&phone.token)).await.ok();

    let new = "Epoch-Teacher-Pass-4471";
    api.watch(new);
    api.post(
        "/auth/change-password",
        Some(&t.token),
        change(&t.password, new),
    )
    .await
    .ok();
    let fresh = session(&api.teacher_login(&t.email, new).await);
    for old in [&t.token, &phone.token] {
        let res = api.get("/teacher/profile/", Some(old)).await;
        res.status(401);
        assert!(res.message().contains("log in again"), "{}", res.text);
    }
    api.get("/teacher/profile/", Some(&fresh.token)).await.ok();
    // The refresh token of the new login issues tokens of the new epoch.
    let rotated = session(
        &api.post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": fresh.refresh}),
        )
        .await,
    );
    api.get("/teacher/profile/", Some(&rotated.token))
        .await
        .ok();

    // Admins too.
    let admin = api.super_admin().await;
    let second = api.super_admin().await;
    let new_admin = "Epoch-Admin-Pass-9902";
    api.watch(new_admin);
    api.post(
        "/auth/change-password",
        Some(&admin.token),
        change(SUPER_PASSWORD, new_admin),
    )
    .await
    .ok();
    for old in [&admin.token, &second.token] {
        api.get("/admin/profile", Some(old)).await.status(401);
    }
    let again = session(
        &api.admin_login(crate::support::accounts::SUPER_EMAIL, new_admin)
            .await,
    );
    api.get("/admin/profile", Some(&again.token)).await.ok();
}

/// Blocking ends the access and refresh tokens at once; unblocking does not bring the old ones
/// back. A blocked teacher's refresh token is 401 and its whole login revoked.
async fn a_blocked_teacher_gets_no_new_tokens_and_keeps_none(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Bea Teacher").await;
    let spare = session(&api.teacher_login(&t.email, &t.password).await);
    let id = Id::parse(&t.id).unwrap();
    assert!(
        set_teacher_status(&api.state, &id, AccountStatus::Blocked)
            .await
            .unwrap()
    );

    let refused = api
        .post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": t.refresh}),
        )
        .await;
    refused.status(401);
    assert!(
        refused.body.get("refreshToken").is_none(),
        "{}",
        refused.text
    );
    api.get("/teacher/profile/", Some(&t.token))
        .await
        .status(401);
    api.teacher_login(&t.email, &t.password).await.status(403);

    assert!(
        set_teacher_status(&api.state, &id, AccountStatus::Active)
            .await
            .unwrap()
    );
    // Neither the tokens from before the block nor its refresh tokens come back.
    api.get("/teacher/profile/", Some(&t.token))
        .await
        .status(401);
    api.get("/teacher/profile/", Some(&spare.token))
        .await
        .status(401);
    for refresh in [&t.refresh, &spare.refresh] {
        api.post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": refresh}),
        )
        .await
        .status(401);
    }
    let back = session(&api.teacher_login(&t.email, &t.password).await);
    api.get("/teacher/profile/", Some(&back.token)).await.ok();
}

/// A refresh token whose teacher is blocked between the rotation's read and its answer: the refresh
/// tokens race the block, and none of them yields a token that works afterwards.
async fn refreshes_racing_a_block_yield_nothing_usable(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Cy Teacher").await;
    let mut refresh_tokens = vec![t.refresh.clone()];
    for _ in 0..7 {
        refresh_tokens.push(session(&api.teacher_login(&t.email, &t.password).await).refresh);
    }
    let id = Id::parse(&t.id).unwrap();
    let api = std::sync::Arc::new(api);
    let mut racing = Vec::new();
    for refresh in refresh_tokens {
        let api = api.clone();
        racing.push(tokio::spawn(async move {
            api.post(
                "/auth/refresh-token",
                None,
                json!({"refreshToken": refresh}),
            )
            .await
        }));
    }
    assert!(
        set_teacher_status(&api.state, &id, AccountStatus::Blocked)
            .await
            .unwrap()
    );
    let mut issued = Vec::new();
    for r in racing {
        let res = r.await.unwrap();
        match res.status {
            200 => issued.push(session(&res)),
            401 => {}
            other => panic!("unexpected {other}: {}", res.text),
        }
    }
    println!("{} of 8 refreshes finished before the block", issued.len());
    assert!(
        set_teacher_status(&api.state, &id, AccountStatus::Active)
            .await
            .unwrap()
    );
    for s in issued {
        api.get("/teacher/profile/", Some(&s.token))
            .await
            .status(401);
        api.post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": s.refresh}),
        )
        .await
        .status(401);
    }
}

on_both_stores!(
    a_password_change_ends_every_access_token,
    a_blocked_teacher_gets_no_new_tokens_and_keeps_none,
    refreshes_racing_a_block_yield_nothing_usable,
);
