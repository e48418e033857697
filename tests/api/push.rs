//! Push notifications through FCM HTTP v1 (issue 15), against a local server speaking FCM v1 and
//! Google's OAuth token endpoint (`tests/services/fcm_server.py`): it verifies every assertion with
//! Google's own `google-auth`, checks every message against the FCM v1 `Message` structure, and
//! fails, 429s, 503s, hangs or answers `UNREGISTERED` on command. Without google-auth the server
//! does not start and these tests fail.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use educoin::domain::Id;
use educoin::domain::notification::NotificationKind;
use educoin::store::{Lease, OutboxState, Platform, Store};
use serde_json::{Value, json};

use crate::classroom::assignments::{assign, classroom};
use crate::on_both_stores;
use crate::support::services::die_with_parent;
use crate::support::socket::{SocketClient, SocketTransport, WAIT};
use crate::support::{Db, Kv, TestApp, spawn_app_with};

/// The local FCM + OAuth server of one test.
pub struct FakeFcm {
    child: Child,
    pub url: String,
    pub key: String,
    http: reqwest::Client,
}

impl FakeFcm {
    pub fn start() -> FakeFcm {
        let python =
            std::env::var("EDUCOIN_TEST_GOOGLE_AUTH_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/services/fcm_server.py");
        let mut cmd = Command::new(&python);
        cmd.arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null());
        die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut url, mut key) = (None, None);
        while url.is_none() || key.is_none() {
            let line = lines
                .next()
                .expect("fcm_server.py exited: is google-auth installed (tests/services/requirements.txt)?")
                .unwrap();
            if let Some(e) = line.strip_prefix("FCM_FAKE_ERROR=") {
                panic!("{e}: run `python3 -m pip install -r tests/services/requirements.txt`");
            }
            if let Some(u) = line.strip_prefix("FCM_FAKE_URL=") {
                url = Some(u.to_owned());
            }
            if let Some(k) = line.strip_prefix("FCM_FAKE_KEY=") {
                key = Some(k.to_owned());
            }
        }
        FakeFcm {
            child,
            url: url.unwrap(),
            key: key.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    /// The server settings that point push at this fake.
    pub fn env(&self, env: &mut BTreeMap<String, String>) {
        env.insert(
            "FIREBASE_SERVICE_ACCOUNT_KEY_BASE64".into(),
            self.key.clone(),
        );
        env.insert("FCM_API_BASE".into(), self.url.clone());
        env.insert("FCM_TOKEN_URI".into(), format!("{}/token", self.url));
        env.insert("PUSH_RETRY_INITIAL_BACKOFF_MS".into(), "50".into());
    }

    pub async fn state(&self) -> Value {
        self.http
            .get(format!("{}/_state", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn mode(&self, change: Value) {
        let res = self
            .http
            .post(format!("{}/_mode", self.url))
            .json(&change)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    pub async fn deliveries(&self) -> Vec<Value> {
        self.state().await["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `check` holds for the fake's state; returns that state.
    pub async fn until(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.state().await;
            if check(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "{what}: {s:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// No assertion refused and no message outside the FCM v1 structure, in the whole test.
    pub async fn assert_clean(&self) {
        let s = self.state().await;
        assert_eq!(s["assertion_errors"], json!([]), "assertions: {s:#}");
        assert_eq!(s["invalid"], json!([]), "messages: {s:#}");
    }
}

impl Drop for FakeFcm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stores a notification for `to` the way the server does (so its push is queued).
fn notify<'a>(
    app: &'a TestApp,
    to: &'a Id,
    kind: NotificationKind,
    message: impl Into<String>,
) -> impl std::future::Future<Output = ()> + 'a {
    educoin::notifications::send(&app.state, to, kind, message.into())
}

fn count(s: &Value, key: &str) -> usize {
    s[key].as_array().map_or(0, Vec::len)
}

async fn register(app: &TestApp, token: &str, device: &str, platform: &str) -> crate::support::Res {
    app.post(
        "/devices",
        Some(token),
        json!({"token": device, "platform": platform}),
    )
    .await
}

async fn devices(store: &Store, account: &Id) -> Vec<String> {
    store
        .push
        .devices_of(account)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.token)
        .collect()
}

/// Waits until the outbox row of notification `id` is in `state`.
async fn row_state(store: &Store, id: &Id, state: OutboxState) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = store.push.outbox_row(id).await.unwrap();
        if row.as_ref().map(|r| r.state) == Some(state) {
            return;
        }
        assert!(Instant::now() < deadline, "row {id} not {state:?}: {row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until no outbox row is pending.
async fn drained(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (depth, _) = store.push.depth().await.unwrap();
        if depth == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{depth} rows still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// 1. End to end: a student achieves a task; the teacher's device gets exactly one push, the
//    socket event still arrives, the outbox row is sent.
async fn the_teachers_device_gets_one_push_when_a_student_achieves_a_task(db: Db) {
    let fcm = FakeFcm::start();
    let app = spawn_app_with(db, Kv::Memory, |env| fcm.env(env)).await;
    let c = classroom(&app, "Ms Push", "740001", 25).await;
    let phone = "teacher-phone:APA91b-1";
    register(&app, &c.teacher.token, phone, "android")
        .await
        .ok();
    let mut socket =
        SocketClient::connect(&app, &c.teacher.token, SocketTransport::WebSocket).await;

    let aid = assign(&app, &c).await;
    assert_eq!(app.achieve(&c.student.token, &aid).await.status, 200);

    let (name, event) = socket.next_event(WAIT).await;
    assert_eq!(name, format!("notification::{}", c.teacher.id));
    assert_eq!(event["type"], "taskAchieved", "{event}");
    let id = Id::parse(event["_id"].as_str().unwrap()).unwrap();
    row_state(&app.state.store, &id, OutboxState::Sent).await;
    // The student's `taskAssigned` had no device to go to: sent to nobody, nothing delivered.
    drained(&app.state.store).await;
    // A few more rounds of the worker: still exactly one push.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let delivered = fcm.deliveries().await;
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    let m = &delivered[0];
    assert_eq!(m["token"], phone);
    assert_eq!(m["notification"]["title"], "Task completed");
    assert_eq!(m["notification"]["body"], event["message"], "{event}");
    assert_eq!(
        m["data"],
        json!({"notificationId": id.to_hex(), "kind": "taskAchieved"})
    );
    assert_eq!(m["android"]["collapse_key"], id.to_hex());
    assert_eq!(m["android"]["priority"], "HIGH");
    assert!(m.get("apns").is_none() && m.get("webpush").is_none(), "{m}");
    let row = app.state.store.push.outbox_row(&id).await.unwrap().unwrap();
    assert_eq!(row.sent_to, vec![phone.to_owned()]);
    let metrics = educoin::ops::metrics::render();
    assert!(metrics.contains("educoin_push_messages_total{result=\"sent\"}"));
    assert!(metrics.contains("educoin_push_outbox_depth"));
    fcm.assert_clean().await;
    app.stop().await;
}

// 4. Token lifecycle: UNREGISTERED removes the token; a token registered by another account
//    moves; logout and a password change remove the account's tokens; the per-account cap drops
//    the oldest; DELETE removes one.
async fn device_tokens_live_and_die_with_their_accounts(db: Db) {
    let fcm = FakeFcm::start();
    let app = spawn_app_with(db, Kv::Memory, |env| {
        fcm.env(env);
        env.insert("PUSH_MAX_DEVICES_PER_ACCOUNT".into(), "2".into());
    })
    .await;
    let store = &app.state.store;
    let alice = app.teacher("Alice").await;
    let alice_id = Id::parse(&alice.id).unwrap();
    let bob = app.stored_teacher("Bob").await;

    // UNREGISTERED: the token is removed, the row is still finished.
    register(&app, &alice.token, "stale-token", "ios")
        .await
        .ok();
    fcm.mode(json!({"unregistered": ["stale-token"]})).await;
    notify(&app, &alice_id, NotificationKind::TaskAchieved, "one").await;
    fcm.until("an UNREGISTERED answer", |s| count(s, "refused") == 1)
        .await;
    drained(store).await;
    assert_eq!(devices(store, &alice_id).await, Vec::<String>::new());

    // The shared tablet changes hands: the token moves to Bob, Alice no longer gets pushes.
    register(&app, &alice.token, "tablet", "web").await.ok();
    register(&app, &bob.token, "tablet", "web").await.ok();
    assert_eq!(devices(store, &alice_id).await, Vec::<String>::new());
    assert_eq!(devices(store, &bob.id).await, vec!["tablet".to_owned()]);
    notify(&app, &alice_id, NotificationKind::RewardClaimed, "to alice").await;
    notify(&app, &bob.id, NotificationKind::RewardClaimed, "to bob").await;
    drained(store).await;
    let delivered = fcm.deliveries().await;
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    assert_eq!(delivered[0]["notification"]["body"], "to bob");
    assert_eq!(delivered[0]["webpush"]["headers"]["Urgency"], "high");

    // At most two devices per account here: the third drops the oldest.
    for (i, t) in ["phone-1", "phone-2", "phone-3"].iter().enumerate() {
        app.clock()
            .advance(Duration::from_millis(10 * (i as u64 + 1)));
        register(&app, &alice.token, t, "android").await.ok();
    }
    assert_eq!(
        devices(store, &alice_id).await,
        vec!["phone-2".to_owned(), "phone-3".to_owned()]
    );
    // DELETE removes one of the caller's own; someone else's token is left alone.
    app.delete("/devices/phone-2", Some(&alice.token))
        .await
        .ok();
    app.delete("/devices/tablet", Some(&alice.token)).await.ok();
    assert_eq!(devices(store, &alice_id).await, vec!["phone-3".to_owned()]);
    assert_eq!(devices(store, &bob.id).await, vec!["tablet".to_owned()]);

    // Logout removes the account's devices.
    app.post("/auth/logout", None, json!({"refreshToken": alice.refresh}))
        .await
        .ok();
    assert_eq!(devices(store, &alice_id).await, Vec::<String>::new());

    // So does a password change.
    let fresh = crate::support::session(&app.teacher_login(&alice.email, &alice.password).await);
    register(&app, &fresh.token, "phone-4", "android")
        .await
        .ok();
    let new = "Push-Teacher-Pass-5521";
    app.watch(new);
    app.post(
        "/auth/change-password",
        Some(&fresh.token),
        json!({"currentPassword": alice.password, "newPassword": new, "confirmPassword": new}),
    )
    .await
    .ok();
    assert_eq!(devices(store, &alice_id).await, Vec::<String>::new());
    fcm.assert_clean().await;
    app.stop().await;
}

// 7. Bad input: a clear 400, nothing written.
async fn bad_device_registrations_are_refused_and_change_nothing(db: Db) {
    let app = spawn_app_with(db, Kv::Memory, |_| {}).await;
    let t = app.stored_teacher("Carol").await;
    let huge = "a".repeat(5000);
    for (body, field) in [
        (json!({"token": "", "platform": "android"}), "token"),
        (json!({"token": "   ", "platform": "android"}), "token"),
        (json!({"token": huge, "platform": "android"}), "token"),
        (
            json!({"token": "has spaces in it", "platform": "web"}),
            "token",
        ),
        (
            json!({"token": "ok-token", "platform": "windows"}),
            "platform",
        ),
        (json!({"token": "ok-token", "platform": ""}), "platform"),
        (json!({"token": "ok-token"}), "platform"),
        (json!({"platform": "ios"}), "token"),
        // poem-openapi's own type check: still the 400 envelope (its wording is generic).
        (json!({"token": 42, "platform": "ios"}), ""),
    ] {
        let res = app.post("/devices", Some(&t.token), body.clone()).await;
        assert_eq!(res.status, 400, "{body}: {}", res.text);
        assert_eq!(res.body["success"], false, "{}", res.text);
        assert!(
            res.text.contains(field),
            "the refusal names {field}: {}",
            res.text
        );
    }
    assert_eq!(devices(&app.state.store, &t.id).await, Vec::<String>::new());
    // Without a Firebase key push is off, and devices still register.
    assert!(app.state.push.is_none());
    register(&app, &t.token, "ok-token", "ios").await.ok();
    assert_eq!(
        devices(&app.state.store, &t.id).await,
        vec!["ok-token".to_owned()]
    );
    let row = app.state.store.push.devices_of(&t.id).await.unwrap();
    assert_eq!(row[0].platform, Platform::Ios);
    // Signed-out callers are refused before anything else.
    let res = app
        .post("/devices", None, json!({"token": "x", "platform": "ios"}))
        .await;
    assert_eq!(res.status, 401, "{}", res.text);
    app.stop().await;
}

// 5. One access token for many pushes, refreshed before it expires (the clock moves).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_access_token_serves_many_pushes_and_is_renewed_before_it_expires() {
    let fcm = FakeFcm::start();
    // The fake's tokens live 120 s: renewed 30 s before.
    let app = spawn_app_with(Db::Sqlite, Kv::Memory, |env| fcm.env(env)).await;
    let t = app.stored_teacher("Dana").await;
    register(&app, &t.token, "dana-phone", "android").await.ok();
    for i in 0..20 {
        notify(
            &app,
            &t.id,
            NotificationKind::RewardClaimed,
            format!("n{i}"),
        )
        .await;
    }
    fcm.until("20 pushes", |s| count(s, "deliveries") == 20)
        .await;
    assert_eq!(fcm.state().await["token_requests"], 1);

    // 95 s later the token is within its renewal margin: the next push fetches a new one.
    app.clock().advance(Duration::from_secs(95));
    notify(&app, &t.id, NotificationKind::RewardClaimed, "later").await;
    fcm.until("the 21st push", |s| count(s, "deliveries") == 21)
        .await;
    assert_eq!(fcm.state().await["token_requests"], 2);
    fcm.assert_clean().await;
    app.stop().await;
}

// 3. Two replicas sharing the store: 200 notifications, exactly 200 pushes, none twice.
async fn two_replicas_push_each_notification_exactly_once(db: Db) {
    let fcm = FakeFcm::start();
    let dir = tempfile::tempdir().unwrap();
    let database = match db {
        Db::Sqlite => format!("sqlite://{}/shared.db", dir.path().display()),
        Db::Mongo => crate::support::services::fresh_mongodb_url(),
    };
    let shared = |env: &mut BTreeMap<String, String>| {
        fcm.env(env);
        env.insert("DATABASE_URL".into(), database.clone());
    };
    let a = spawn_app_with(db, Kv::Memory, shared).await;
    let b = spawn_app_with(db, Kv::Memory, shared).await;
    let teachers = [
        a.stored_teacher("Eve").await,
        a.stored_teacher("Finn").await,
    ];
    for (i, t) in teachers.iter().enumerate() {
        register(&a, &t.token, &format!("device-{i}"), "android")
            .await
            .ok();
    }
    // Both replicas store notifications while both workers run.
    let sends = (0..200).map(|i| {
        let (app, t) = (if i % 2 == 0 { &a } else { &b }, &teachers[i % 2]);
        notify(app, &t.id, NotificationKind::TaskAchieved, format!("n{i}"))
    });
    futures_util::future::join_all(sends).await;
    fcm.until("200 pushes", |s| count(s, "deliveries") >= 200)
        .await;
    drained(&a.state.store).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let delivered = fcm.deliveries().await;
    let ids: HashSet<&str> = delivered
        .iter()
        .map(|m| m["data"]["notificationId"].as_str().unwrap())
        .collect();
    assert_eq!(delivered.len(), 200, "pushes");
    assert_eq!(ids.len(), 200, "distinct notifications");
    fcm.assert_clean().await;
    a.stop().await;
    b.stop().await;
}

// 6. The worker stops within the shutdown drain, even with a send hanging, and releases its
//    lease; a lease held by a replica that died ends, and another replica sends the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_stops_within_the_drain_and_leases_pass_on() {
    let fcm = FakeFcm::start();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/shared.db", dir.path().display());
    let shared = |env: &mut BTreeMap<String, String>| {
        fcm.env(env);
        env.insert("DATABASE_URL".into(), database.clone());
    };
    let app = spawn_app_with(Db::Sqlite, Kv::Memory, shared).await;
    let t = app.stored_teacher("Gus").await;
    register(&app, &t.token, "gus-phone", "android").await.ok();
    fcm.mode(json!({"mode": "hang"})).await;
    notify(&app, &t.id, NotificationKind::RewardClaimed, "held").await;
    fcm.until("a send in flight", |s| s["attempts"].as_u64() >= Some(1))
        .await;
    let store = app.state.store.clone();
    let row = store.push.pending(10).await.unwrap().remove(0);
    assert!(row.lease_owner.is_some(), "leased while sending: {row:?}");
    // SHUTDOWN_TIMEOUT_SECS is 5 and the hanging send would take 30 s: `finished` returns only
    // after the worker ended (the serve task awaits it within the drain).
    app.stop().await;
    let row = store
        .push
        .outbox_row(&row.notification.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.lease_owner, None, "released at stop: {row:?}");
    assert_eq!(row.state, OutboxState::Pending);
    assert_eq!(row.attempts, 0, "an interrupted send is not an attempt");

    // A replica that died while holding a row: its lease ends, another replica sends it.
    fcm.mode(json!({"mode": "ok"})).await;
    let now = educoin::domain::Millis::now();
    assert!(
        store
            .push
            .claim(
                &Lease {
                    id: &row.notification.id,
                    owner: "crashed-replica",
                },
                now,
                educoin::domain::Millis(now.0 + 60_000)
            )
            .await
            .unwrap()
    );
    let next = spawn_app_with(Db::Sqlite, Kv::Memory, shared).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        count(&fcm.state().await, "deliveries"),
        0,
        "the lease still holds"
    );
    next.clock().advance(Duration::from_secs(61));
    row_state(&next.state.store, &row.notification.id, OutboxState::Sent).await;
    assert_eq!(count(&fcm.state().await, "deliveries"), 1);
    fcm.assert_clean().await;
    next.stop().await;
}

// 2. FCM down (503s, then 429 with Retry-After), then back: every queued push is delivered once,
//    in order per device, and nothing is lost across a kill -9 of the replica holding the
//    outbox (the real binary) and a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_and_a_kill_lose_nothing_and_keep_the_order() {
    use crate::faults::{Launch, binary, wait_serving};
    let _ = binary();
    let fcm = FakeFcm::start();
    fcm.mode(json!({"mode": "503"})).await;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("educoin.db");
    let database = format!("sqlite://{}", db_path.display());
    let token_uri = format!("{}/token", fcm.url);
    let env: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &database),
        ("FIREBASE_SERVICE_ACCOUNT_KEY_BASE64", &fcm.key),
        ("FCM_API_BASE", &fcm.url),
        ("FCM_TOKEN_URI", &token_uri),
        ("PUSH_RETRY_INITIAL_BACKOFF_MS", "50"),
        ("PUSH_LEASE_SECS", "2"),
    ];
    let port = crate::support::services::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut launch = Launch::new(dir.path());
    launch.port = port;
    launch.env = &env;
    let mut server = launch.spawn();
    wait_serving(&addr, "/api/v1/health/ready", Duration::from_secs(30)).await;

    // This test writes as the API would: notifications with their outbox rows, in the same
    // SQLite file (the store is the one the binary runs on).
    let store = Store::open(&educoin::config::DatabaseConfig::Sqlite {
        path: db_path.clone(),
    })
    .await
    .unwrap();
    let teacher = Id::generate();
    let now = educoin::domain::Millis::now();
    for (i, token) in ["tablet", "phone"].iter().enumerate() {
        let device = educoin::store::Device {
            token: (*token).into(),
            account: teacher.clone(),
            platform: Platform::Android,
            registered_at: educoin::domain::Millis(now.0 + i as i64),
        };
        store.push.register(&device, 10).await.unwrap();
    }
    let mut ids = Vec::new();
    for i in 0..12 {
        let n = educoin::domain::notification::Notification::new(
            &teacher,
            NotificationKind::TaskAchieved,
            format!("n{i}"),
            educoin::domain::Millis(now.0 + i),
        );
        store.push.insert_with_outbox(&n).await.unwrap();
        ids.push(n.id.to_hex());
    }
    fcm.until("the replica meets the outage", |s| count(s, "refused") >= 5)
        .await;
    // kill -9 while the outbox holds every row (some leased by the dying replica).
    server.kill().unwrap();
    server.wait().unwrap();
    let (depth, _) = store.push.depth().await.unwrap();
    assert_eq!(depth, 12, "every row still queued");

    // Still down when the next replica starts: 429 with Retry-After, then back.
    fcm.mode(json!({"mode": "429", "retry_after": 1})).await;
    let mut server = launch.spawn();
    wait_serving(&addr, "/api/v1/health/ready", Duration::from_secs(30)).await;
    fcm.until("the new replica meets the 429s", |s| {
        s["refused"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x[0] == 429))
    })
    .await;
    fcm.mode(json!({"mode": "ok"})).await;
    fcm.until("every push", |s| count(s, "deliveries") >= 24)
        .await;
    drained(&store).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let delivered = fcm.deliveries().await;
    assert_eq!(
        delivered.len(),
        24,
        "12 notifications to 2 devices, once each"
    );
    for device in ["tablet", "phone"] {
        let order: Vec<String> = delivered
            .iter()
            .filter(|m| m["token"] == device)
            .map(|m| m["data"]["notificationId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(order, ids, "{device}: every notification once, in order");
    }
    for id in &ids {
        let row = store
            .push
            .outbox_row(&Id::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.state, OutboxState::Sent);
    }
    fcm.assert_clean().await;
    crate::faults::signal(server.id(), libc::SIGTERM);
    crate::faults::wait_exit(&mut server, Duration::from_secs(30)).await;
}

on_both_stores!(
    the_teachers_device_gets_one_push_when_a_student_achieves_a_task,
    device_tokens_live_and_die_with_their_accounts,
    bad_device_registrations_are_refused_and_change_nothing,
    two_replicas_push_each_notification_exactly_once,
);
