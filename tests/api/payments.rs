//! Payments end to end over real HTTP, against localstripe (a stateful fake Stripe server that
//! signs its webhooks) and with payloads signed by Stripe's official Python library
//! (`tests/services/stripe_sign.py`). Without python3, localstripe or stripe the tests fail and
//! say so (`scripts/test.sh` installs `tests/services/requirements.txt`).

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use educoin::clock::Clock;
use educoin::domain::Id;
use educoin::store::PaymentHold;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::accounts::{Session, User};
use crate::support::http::Res;
use crate::support::services::{die_with_parent, start_ready_peer};
use crate::support::{Db, TestApp};

const OLD_SECRET: &str = "whsec_old_rotated_out_soon";
const NEW_SECRET: &str = "whsec_new_current_secret";

/// A localstripe server on a free loopback port, killed when dropped.
struct LocalStripe {
    child: Child,
    base: String,
}

impl LocalStripe {
    fn start() -> LocalStripe {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new("python3");
        cmd.args([
            "-c",
            "import sys; from localstripe.server import start; sys.argv[0] = 'localstripe'; start()",
            "--port",
            &port.to_string(),
            "--from-scratch",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        let child = cmd.spawn().expect(
            "python3 is needed for localstripe (pip install -r tests/services/requirements.txt)",
        );
        let server = LocalStripe {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "localstripe did not start: install it with `pip install -r tests/services/requirements.txt`"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let res = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth("sk_test_localstripe")
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "localstripe {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Sends signed webhooks for every event to `url` (the server under test).
    async fn webhooks_to(&self, url: &str) {
        self.post(
            "/_config/webhooks/educoin",
            &[("url", url), ("secret", NEW_SECRET)],
        )
        .await;
    }

    /// What Stripe.js does with the supporter's card: a PaymentMethod, then confirmation.
    async fn pay(&self, intent: &str, card: &str) {
        let pm = self
            .post(
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", card),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        let pm = pm["id"].as_str().unwrap().to_owned();
        self.post(
            &format!("/v1/payment_intents/{intent}"),
            &[("payment_method", &pm)],
        )
        .await;
        self.post(&format!("/v1/payment_intents/{intent}/confirm"), &[])
            .await;
    }
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stripe-Signature headers made by Stripe's own library.
fn sdk_sign(items: &[(&str, &str, i64)]) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/services/stripe_sign.py");
    let input: Vec<Value> = items
        .iter()
        .map(|(p, s, t)| json!({"payload": p, "secret": s, "timestamp": t}))
        .collect();
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs tests/services/stripe_sign.py");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(input).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "stripe_sign.py failed (pip install -r tests/services/requirements.txt): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stripe_env(env: &mut BTreeMap<String, String>, api_base: &str) {
    env.insert("STRIPE_SECRET_KEY".into(), "sk_test_localstripe".into());
    env.insert(
        "STRIPE_PUBLISHABLE_KEY".into(),
        "pk_test_localstripe".into(),
    );
    env.insert(
        "STRIPE_WEBHOOK_SECRET".into(),
        format!("{OLD_SECRET}, {NEW_SECRET}"),
    );
    env.insert("STRIPE_API_BASE".into(), api_base.into());
    env.insert("PLATFORM_FEE_PERCENTAGE".into(), "0.20".into());
    env.insert("MINIMUM_PAYMENT_AMOUNT".into(), "100".into());
    env.insert("MAXIMUM_PAYMENT_AMOUNT".into(), "100000".into());
}

async fn app_with_stripe(
    db: Db,
    stripe: &LocalStripe,
    adjust: impl FnOnce(&mut BTreeMap<String, String>),
) -> TestApp {
    let base = stripe.base.clone();
    TestApp::start_with(db, |env| {
        stripe_env(env, &base);
        adjust(env);
    })
    .await
}

/// An app with Stripe configured whose webhooks localstripe delivers to the server under test.
async fn app_with_webhooks(db: Db, stripe: &LocalStripe) -> TestApp {
    let app = app_with_stripe(db, stripe, |_| {}).await;
    stripe
        .webhooks_to(&app.url("/api/v1/payments/webhook"))
        .await;
    app
}

async fn project(app: &TestApp, teacher: &User, goal: i64) -> String {
    let res = app
        .post(
            "/project",
            Some(&teacher.token),
            json!({"title": "Books for our reading corner", "description": "Twenty picture books.",
                   "class": "2B", "goal": goal}),
        )
        .await;
    res.ok()["_id"].as_str().unwrap().to_owned()
}

async fn intent(app: &TestApp, project: &str, key: &str, body: Value) -> Res {
    app.send(Method::POST, &format!("/fund/{project}/payment-intent"))
        .header("Idempotency-Key", key)
        .json(&body)
        .await
}

fn intent_id(res: &Res) -> String {
    let secret = res.ok()["clientSecret"].as_str().unwrap();
    secret.split("_secret_").next().unwrap().to_owned()
}

async fn public(app: &TestApp, project: &str) -> Value {
    app.get(&format!("/fund/{project}"), None)
        .await
        .ok()
        .clone()
}

async fn stored_payment(app: &TestApp, intent: &str) -> Option<educoin::domain::payments::Payment> {
    app.state
        .store
        .payments
        .payment_by_intent(intent)
        .await
        .unwrap()
}

async fn payment_status(app: &TestApp, intent: &str) -> Option<String> {
    stored_payment(app, intent)
        .await
        .map(|p| p.status.as_str().to_owned())
}

/// Polls until the payment has `status` (localstripe sends its webhook about a second after the
/// confirmation); the deadline only bounds a broken run.
async fn until_status(app: &TestApp, intent: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while payment_status(app, intent).await.as_deref() != Some(status) {
        assert!(
            Instant::now() < deadline,
            "payment {intent} never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deliver(app: &TestApp, payload: &str, signature: Option<&str>) -> Res {
    let mut call = app
        .send(Method::POST, "/payments/webhook")
        .header("content-type", "application/json; charset=utf-8")
        .body(payload.to_owned());
    if let Some(s) = signature {
        call = call.header("Stripe-Signature", s);
    }
    call.await
}

fn event(id: &str, kind: &str, object: Value) -> String {
    json!({"id": id, "object": "event", "type": kind, "data": {"object": object}}).to_string()
}

/// The admin's totals for this month: payments, gross, fees, net.
async fn this_month(app: &TestApp, admin: &Session) -> [i64; 4] {
    let totals = app
        .get("/admin/payments/totals?months=1", Some(&admin.token))
        .await;
    let month = &totals.ok()[0];
    ["payments", "gross", "fees", "net"].map(|k| month[k].as_i64().unwrap_or(-1))
}

/// How many payments the store holds, whatever their status (the "nothing written" checks).
async fn recorded_payments(app: &TestApp) -> u64 {
    app.state
        .store
        .payments
        .list_payments(
            &Default::default(),
            &educoin::store::ListQuery {
                page: 1,
                limit: 1,
                search: None,
            },
        )
        .await
        .unwrap()
        .total
}

fn now_secs(app: &TestApp) -> i64 {
    app.clock().now().0 / 1000
}

async fn stripe_is_optional_and_without_it_payment_routes_answer_503(db: Db) {
    let app = TestApp::start(db).await;
    let teacher = app.stored_teacher("Ms Frizzle").await;
    let p = project(&app, &teacher, 10_000).await;
    for res in [
        intent(&app, &p, "k1", json!({"amount": 1000})).await,
        deliver(&app, "{}", Some("t=1,v1=00")).await,
    ] {
        res.status(503);
        assert!(res.message().contains("STRIPE_SECRET_KEY"), "{}", res.text);
    }
    assert_eq!(recorded_payments(&app).await, 0, "nothing written");
    assert!(
        app.state
            .config
            .disabled_integrations()
            .iter()
            .any(|d| d.name == "payments"),
        "listed as a disabled integration"
    );
}

async fn a_supporter_pays_and_the_signed_webhook_credits_the_project_once(db: Db) {
    let stripe = LocalStripe::start();
    let app = app_with_webhooks(db, &stripe).await;
    let teacher = app.stored_teacher("Ms Frizzle").await;
    let admin = app.super_admin().await;
    let p = project(&app, &teacher, 10_000).await;

    let res = intent(
        &app,
        &p,
        "attempt-1",
        json!({"amount": 1003, "supporterName": "Ada", "message": "For the books!"}),
    )
    .await;
    let data = res.ok();
    assert_eq!(data["publishableKey"], "pk_test_localstripe");
    assert_eq!(
        (
            data["amount"].as_i64(),
            data["fee"].as_i64(),
            data["net"].as_i64()
        ),
        (Some(1003), Some(201), Some(802))
    );
    let pi = intent_id(&res);
    stripe.pay(&pi, "4242424242424242").await;
    until_status(&app, &pi, "succeeded").await;

    let view = public(&app, &p).await;
    assert_eq!(
        (view["raised"].as_i64(), view["supporters"].as_i64()),
        (Some(802), Some(1))
    );
    let own = app
        .get(&format!("/project/{p}/payments"), Some(&teacher.token))
        .await;
    let list = own.ok().as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            list[0]["supporterName"].as_str(),
            list[0]["amount"].as_i64()
        ),
        (Some("Ada"), Some(1003))
    );
    let notes = app.get("/notifications", Some(&teacher.token)).await;
    let notes = notes.ok().as_array().unwrap().clone();
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["type"] == "paymentReceived")
            .count(),
        1,
        "{notes:?}"
    );
    assert!(
        notes[0]["message"]
            .as_str()
            .unwrap()
            .contains("Ada paid 10.03 USD")
    );

    assert_eq!(this_month(&app, &admin).await, [1, 1003, 201, 802]);
    let ledger = app
        .get("/admin/payments?status=succeeded", Some(&admin.token))
        .await;
    assert_eq!(ledger.ok().as_array().unwrap().len(), 1);
}

/// localstripe behind `tests/services/stripe_js.py`, which adds the browser-side confirmation that
/// Stripe.js makes and localstripe's stand-in lacks; its `/js.stripe.com/v3/` is the page's Stripe.js.
struct StripeJs {
    child: Child,
    base: String,
}

impl StripeJs {
    fn start(stripe: &LocalStripe) -> StripeJs {
        let (child, port) = start_ready_peer("python3", "stripe_js.py", &[&stripe.base]);
        StripeJs {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for StripeJs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tests/services/fund_page.js` (playwright-core driving Debian's Chromium) and returns its report.
fn in_chromium(options: Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/services/fund_page.js");
    // Debian's /usr/bin/chromium, or the first `chromium` on PATH (the Nix dev shell's).
    let chromium = std::env::var_os("EDUCOIN_TEST_CHROMIUM")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join("chromium"))
                .find(|p| p.exists())
        })
        .expect(
            "chromium is missing: the payment page's browser test needs it \
             (Debian: apt-get install chromium; scripts/test.sh and .ci/run install it)",
        );
    let mut options = options;
    options["chromium"] = json!(chromium);
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .arg(options.to_string())
        .stderr(Stdio::inherit());
    die_with_parent(&mut cmd);
    let out = cmd
        .output()
        .expect("node is needed for the browser test (tests/services/fund_page.js)");
    assert!(
        out.status.success(),
        "fund_page.js failed (is playwright-core installed? npm ci --prefix tests/services)"
    );
    serde_json::from_slice(&out.stdout).expect("fund_page.js prints one JSON report")
}

/// Must show 1 in a real browser: a supporter on a phone pays through `/fund/<id>` (the production
/// page, Stripe.js from `STRIPE_JS_URL`), once with a card and once with a card that asks for 3-D
/// Secure; each localstripe webhook credits the project once, the page's progress bar moves, the
/// teacher is notified, and the admin totals agree.
async fn a_supporter_pays_through_the_page_in_chromium(db: Db) {
    let stripe = LocalStripe::start();
    let stripe_js = StripeJs::start(&stripe);
    let js_url = format!("{}/js.stripe.com/v3/", stripe_js.base);
    let app = app_with_stripe(db, &stripe, |env| {
        env.insert("STRIPE_JS_URL".into(), js_url);
    })
    .await;
    stripe
        .webhooks_to(&app.url("/api/v1/payments/webhook"))
        .await;
    let teacher = app.stored_teacher("Ms Frizzle").await;
    let admin = app.super_admin().await;
    let p = project(&app, &teacher, 10_000).await;

    let report = tokio::task::spawn_blocking({
        let url = app.url(&format!("/fund/{p}"));
        move || {
            in_chromium(json!({"url": url, "payments": [
                {"amount": "12.34", "name": "Ada", "message": "For the books!", "card": "4242424242424242"},
                {"amount": "5", "name": "Grace", "message": "", "card": "4000002760003184", "threeDSecure": true},
            ]}))
        }
    })
    .await
    .unwrap();
    assert_eq!(report["cspViolations"], json!([]), "{report}");
    assert!(
        report["cspProbe"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("img-src"),
        "the page's CSP listener saw the deliberate violation: {report}"
    );
    assert_eq!(report["pageErrors"], json!([]), "{report}");
    assert_eq!(report["overflowsPhoneWidth"], json!(false), "{report}");
    let paid = report["payments"].as_array().unwrap();
    assert_eq!(paid.len(), 2, "{report}");
    assert_eq!(paid[1]["threeDSecureShown"], json!(true), "{report}");
    // 20 % fee: 1234 → 987 net, 500 → 400 net; the bar shows 10 % and then 14 % of 100.00.
    assert_eq!(
        (
            paid[0]["before"].as_str(),
            paid[0]["after"].as_str(),
            paid[1]["after"].as_str()
        ),
        (Some("0"), Some("10"), Some("14")),
        "{report}"
    );
    for pay in paid {
        assert!(
            pay["status"].as_str().unwrap().starts_with("Thank you"),
            "{report}"
        );
    }
    assert!(
        paid[1]["raised"]
            .as_str()
            .unwrap()
            .starts_with("13.87 USD raised"),
        "{report}"
    );

    let view = public(&app, &p).await;
    assert_eq!(
        (view["raised"].as_i64(), view["supporters"].as_i64()),
        (Some(1387), Some(2))
    );
    let own = app
        .get(&format!("/project/{p}/payments"), Some(&teacher.token))
        .await;
    let rows = |res: &Res, fields: [&str; 3]| {
        let mut rows: Vec<Vec<Value>> = res
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| fields.iter().map(|f| p[*f].clone()).collect())
            .collect();
        rows.sort_by_key(|r| r[1].as_i64());
        rows
    };
    assert_eq!(
        rows(&own, ["supporterName", "amount", "net"]),
        [json!(["Grace", 500, 400]), json!(["Ada", 1234, 987])]
            .map(|r| r.as_array().unwrap().clone())
    );
    let ledger = app
        .get("/admin/payments?status=succeeded", Some(&admin.token))
        .await;
    assert_eq!(
        rows(&ledger, ["status", "amount", "fee"]),
        [
            json!(["succeeded", 500, 100]),
            json!(["succeeded", 1234, 247])
        ]
        .map(|r| r.as_array().unwrap().clone())
    );
    let notes = app.get("/notifications", Some(&teacher.token)).await;
    let notes = notes.ok().as_array().unwrap().clone();
    let paid_notes: Vec<&str> = notes
        .iter()
        .filter(|n| n["type"] == "paymentReceived")
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert_eq!(paid_notes.len(), 2, "{notes:?}");
    assert!(
        paid_notes.iter().any(|m| m.contains("Ada paid 12.34 USD")),
        "{notes:?}"
    );
    assert_eq!(this_month(&app, &admin).await, [2, 1734, 347, 1387]);
}

async fn signatures_are_checked_as_stripes_library_makes_them(db: Db) {
    let stripe = LocalStripe::start();
    let app = app_with_stripe(db, &stripe, |_| {}).await;
    let now = now_secs(&app);
    let seen = |id: &'static str| {
        let store = app.state.store.clone();
        async move { store.payments.event_seen(id).await.unwrap() }
    };
    let body = event(
        "evt_sig_ok",
        "payment_intent.created",
        json!({"id": "pi_x", "object": "payment_intent"}),
    );
    let tampered = body.replace("pi_x", "pi_y");
    let h = sdk_sign(&[
        (&body, NEW_SECRET, now),
        (&body, "whsec_someone_else", now),
        (&body, NEW_SECRET, now - 301),
        (&body, OLD_SECRET, now),
    ]);
    // Refusals first: each 400, and nothing is recorded.
    for (header, why) in [
        (Some(h[0].as_str()), "tampered"),
        (Some(h[1].as_str()), "wrong secret"),
        (Some(h[2].as_str()), "outside the tolerance"),
        (None, "missing header"),
    ] {
        let payload = if why == "tampered" { &tampered } else { &body };
        let res = deliver(&app, payload, header).await;
        assert_eq!(res.status, 400, "{why}: {}", res.text);
        assert!(!seen("evt_sig_ok").await, "{why}: nothing written");
    }
    // Several v1 values (one stale scheme, one right): accepted; a rotated (old) secret too.
    let v1 = h[0].split_once("v1=").unwrap().1;
    let several = format!("t={now},v1={},v1={v1},v0=ignored", "ab".repeat(32));
    deliver(&app, &body, Some(&several)).await.ok();
    assert!(seen("evt_sig_ok").await);
    let rotated = event(
        "evt_sig_rotated",
        "payment_intent.created",
        json!({"id": "pi_x"}),
    );
    let hr = sdk_sign(&[(&rotated, OLD_SECRET, now)]);
    deliver(&app, &rotated, Some(&hr[0])).await.ok();
    assert!(seen("evt_sig_rotated").await);
    // Within the tolerance by the server's clock, then outside it once the clock moves.
    let late = event(
        "evt_sig_late",
        "payment_intent.created",
        json!({"id": "pi_x"}),
    );
    let hl = sdk_sign(&[(&late, NEW_SECRET, now)]);
    app.clock().advance(Duration::from_secs(301));
    deliver(&app, &late, Some(&hl[0])).await.status(400);
    assert!(!seen("evt_sig_late").await);
}

async fn twenty_concurrent_deliveries_apply_once_and_order_does_not_matter(db: Db) {
    let stripe = LocalStripe::start();
    let app = app_with_stripe(db, &stripe, |_| {}).await;
    let teacher = app.stored_teacher("Mr Keating").await;
    let p = project(&app, &teacher, 100_000).await;
    let pi = intent_id(&intent(&app, &p, "k-20", json!({"amount": 1000})).await);
    let now = now_secs(&app);
    let body = event(
        "evt_twenty",
        "payment_intent.succeeded",
        json!({"id": pi, "object": "payment_intent", "status": "succeeded"}),
    );
    let header = sdk_sign(&[(&body, NEW_SECRET, now)]).remove(0);
    let all =
        futures_util::future::join_all((0..20).map(|_| deliver(&app, &body, Some(&header)))).await;
    assert!(
        all.iter().all(|r| r.status == 200),
        "{:?}",
        all.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let view = public(&app, &p).await;
    assert_eq!(
        (view["raised"].as_i64(), view["supporters"].as_i64()),
        (Some(800), Some(1))
    );
    let notes = app.get("/notifications", Some(&teacher.token)).await;
    assert_eq!(notes.ok().as_array().unwrap().len(), 1, "one notification");

    // Reverse order: a payment_failed sent before the success arrives after it.
    let pi2 = intent_id(&intent(&app, &p, "k-rev", json!({"amount": 500})).await);
    let ok = event("evt_rev_ok", "payment_intent.succeeded", json!({"id": pi2}));
    let failed = event(
        "evt_rev_failed",
        "payment_intent.payment_failed",
        json!({"id": pi2}),
    );
    let h = sdk_sign(&[(&ok, NEW_SECRET, now), (&failed, NEW_SECRET, now)]);
    deliver(&app, &ok, Some(&h[0])).await.ok();
    deliver(&app, &failed, Some(&h[1])).await.ok();
    assert_eq!(
        payment_status(&app, &pi2).await.as_deref(),
        Some("succeeded")
    );
    assert_eq!(public(&app, &p).await["raised"].as_i64(), Some(1200));
}

async fn reconciliation_settles_a_payment_whose_webhook_never_came(db: Db) {
    let stripe = LocalStripe::start();
    let app = app_with_stripe(db, &stripe, |_| {}).await; // no webhook registered
    let teacher = app.stored_teacher("Mr Keating").await;
    let p = project(&app, &teacher, 100_000).await;
    let pi = intent_id(&intent(&app, &p, "k-rec", json!({"amount": 2000})).await);
    stripe.pay(&pi, "4242424242424242").await;
    educoin::jobs::reconcile::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(
        payment_status(&app, &pi).await.as_deref(),
        Some("requires_payment_method"),
        "too early to look"
    );
    app.clock().advance(Duration::from_secs(11 * 60));
    assert_eq!(
        educoin::jobs::reconcile::run_once(&app.state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        payment_status(&app, &pi).await.as_deref(),
        Some("succeeded")
    );
    assert_eq!(public(&app, &p).await["raised"].as_i64(), Some(1600));
    assert_eq!(
        educoin::jobs::reconcile::run_once(&app.state)
            .await
            .unwrap(),
        0,
        "settled once"
    );
}

async fn admin_refunds_update_the_ledger_and_their_webhook_changes_nothing(db: Db) {
    let stripe = LocalStripe::start();
    let app = app_with_webhooks(db, &stripe).await;
    let teacher = app.stored_teacher("Ms Honey").await;
    let admin = app.super_admin().await;
    let p = project(&app, &teacher, 100_000).await;
    let pi = intent_id(&intent(&app, &p, "k-ref", json!({"amount": 1000})).await);
    stripe.pay(&pi, "4242424242424242").await;
    until_status(&app, &pi, "succeeded").await;
    let payment = stored_payment(&app, &pi).await.unwrap();
    let refund_path = format!("/admin/payments/{}/refund", payment.id);
    let refund = |body: Value| app.post(&refund_path, Some(&admin.token), body);

    refund(json!({"amount": 0})).await.status(400);
    refund(json!({"amount": 1001})).await.status(400);
    let partial = refund(json!({"amount": 250})).await;
    assert_eq!(partial.ok()["refunded"].as_i64(), Some(250));
    assert_eq!(public(&app, &p).await["raised"].as_i64(), Some(600));
    let rest = refund(json!({})).await;
    assert_eq!(rest.ok()["refunded"].as_i64(), Some(1000));
    assert_eq!(public(&app, &p).await["raised"].as_i64(), Some(0));
    refund(json!({})).await.status(409);

    // Stripe's refund webhooks for the same refunds arrive afterwards: nothing changes.
    let refunds = app
        .state
        .store
        .payments
        .refunds_between(
            educoin::domain::Millis(0),
            educoin::domain::Millis(i64::MAX / 2),
        )
        .await
        .unwrap();
    assert_eq!(refunds.len(), 2);
    let data: Vec<Value> = refunds
        .iter()
        .map(|r| json!({"id": r.id, "amount": r.amount, "status": "succeeded"}))
        .collect();
    let body = event(
        "evt_refunded",
        "charge.refunded",
        json!({"object": "charge", "id": "ch_1", "payment_intent": pi, "refunds": {"data": data}}),
    );
    let h = sdk_sign(&[(&body, NEW_SECRET, now_secs(&app))]);
    deliver(&app, &body, Some(&h[0])).await.ok();
    let after = stored_payment(&app, &pi).await.unwrap();
    assert_eq!(after.refunded, 1000);
    assert_eq!(public(&app, &p).await["raised"].as_i64(), Some(0));
    let month = app
        .get("/admin/payments/totals?months=1", Some(&admin.token))
        .await
        .ok()[0]
        .clone();
    assert_eq!(
        (month["gross"].as_i64(), month["refunded"].as_i64()),
        (Some(1000), Some(1000))
    );
}

async fn bad_input_is_refused_and_changes_nothing(db: Db) {
    let stripe = LocalStripe::start();
    let app = app_with_stripe(db, &stripe, |_| {}).await;
    let teacher = app.stored_teacher("Ms Honey").await;
    let p = project(&app, &teacher, 1000).await; // 1250 with a 20 % fee reaches it
    for (body, why) in [
        (json!({"amount": 99}), "below MIN"),
        (json!({"amount": 100_001}), "above MAX"),
        (json!({"amount": 10.5}), "not a whole number"),
        (json!({"amount": "ten"}), "not a number"),
        (json!({"amount": -500}), "negative"),
        (json!({"amount": 1251}), "over-funding"),
        (
            json!({"amount": 500, "message": "x".repeat(501)}),
            "oversized message",
        ),
        (
            json!({"amount": 500, "supporterName": "<script>"}),
            "markup in the name",
        ),
        (json!({}), "no amount"),
    ] {
        let res = intent(&app, &p, "k-bad", body).await;
        assert_eq!(res.status, 400, "{why}: {}", res.text);
        assert_eq!(res.body["success"], false);
    }
    let res = app
        .send(Method::POST, &format!("/fund/{p}/payment-intent"))
        .json(&json!({"amount": 500}))
        .await;
    assert_eq!(res.status, 400, "no Idempotency-Key: {}", res.text);
    intent(
        &app,
        &Id::generate().to_string(),
        "k",
        json!({"amount": 500}),
    )
    .await
    .status(404);
    intent(&app, &p, "k-max", json!({"amount": 1250}))
        .await
        .ok();
    // Closed: 409.
    app.post(
        &format!("/project/{p}/close"),
        Some(&teacher.token),
        json!({}),
    )
    .await
    .ok();
    let res = intent(&app, &p, "k-closed", json!({"amount": 500})).await;
    assert_eq!(res.status, 409, "{}", res.text);
    // Edit after a payment exists: 409.
    app.patch(
        &format!("/project/{p}"),
        Some(&teacher.token),
        json!({"goal": 5}),
    )
    .await
    .status(409);
    assert_eq!(
        recorded_payments(&app).await,
        1,
        "only the valid intent was recorded"
    );
}

async fn the_intent_route_is_limited_per_address_and_per_project(db: Db) {
    let stripe = LocalStripe::start();
    let app = app_with_stripe(db, &stripe, |env| {
        env.insert("PAYMENT_RATE_LIMIT_PER_ADDRESS".into(), "3".into());
        env.insert("PAYMENT_RATE_LIMIT_PER_PROJECT".into(), "4".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    let teacher = app.stored_teacher("Ms Honey").await;
    let p = project(&app, &teacher, 100_000).await;
    let from = |ip: &'static str, key: String| {
        app.send(Method::POST, &format!("/fund/{p}/payment-intent"))
            .header("Idempotency-Key", &key)
            .header("X-Forwarded-For", ip)
            .json(&json!({"amount": 500}))
    };
    for i in 0..3 {
        from("203.0.113.1", format!("a{i}")).await.ok();
    }
    from("203.0.113.1", "a3".into()).await.status(429);
    from("203.0.113.2", "b0".into()).await.ok();
    // The project's budget (4) is spent now, whatever the address.
    from("203.0.113.3", "c0".into()).await.status(429);
    let other = project(&app, &teacher, 100_000).await;
    let res = app
        .send(Method::POST, &format!("/fund/{other}/payment-intent"))
        .header("Idempotency-Key", "d0")
        .header("X-Forwarded-For", "203.0.113.4")
        .json(&json!({"amount": 500}))
        .await;
    res.ok();
}

async fn the_payment_page_is_served_with_a_strict_content_security_policy(db: Db) {
    let app = TestApp::start_with(db, |env| {
        stripe_env(env, "http://127.0.0.1:9");
        env.insert(
            "STRIPE_JS_URL".into(),
            "http://127.0.0.1:9/js.stripe.com/v3/".into(),
        );
    })
    .await;
    let teacher = app.stored_teacher("Ms Honey").await;
    let p = project(&app, &teacher, 10_000).await;
    let res = app.request(Method::GET, &format!("/fund/{p}")).await;
    assert_eq!(res.status, 200);
    assert!(
        res.content_type().starts_with("text/html"),
        "{}",
        res.content_type()
    );
    let csp = res.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("a nonce")
        .to_owned();
    for must in [
        "default-src 'none'",
        "script-src 'nonce-",
        "http://127.0.0.1:9",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(must), "{must} in {csp}");
    }
    for never in ["unsafe-inline", "unsafe-eval", "*;", " * ", "https:;"] {
        assert!(!csp.contains(never), "{never} in {csp}");
    }
    // Every script and style of the page carries this response's nonce; Stripe.js comes from STRIPE_JS_URL.
    let page = &res.text;
    assert_eq!(
        page.matches("<script").count(),
        page.matches(&format!("<script nonce=\"{nonce}\"")).count()
    );
    assert_eq!(
        page.matches("<style").count(),
        page.matches(&format!("<style nonce=\"{nonce}\"")).count()
    );
    assert!(
        page.contains("src=\"http://127.0.0.1:9/js.stripe.com/v3/\""),
        "{page}"
    );
    assert!(page.contains("name=\"viewport\""), "phone-friendly");
    let again = app.request(Method::GET, &format!("/fund/{p}")).await;
    assert_ne!(
        again.headers["content-security-policy"], res.headers["content-security-policy"],
        "a fresh nonce per response"
    );
}

mod sqlite_only {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stripe_is_optional_and_without_it_payment_routes_answer_503() {
        super::stripe_is_optional_and_without_it_payment_routes_answer_503(Db::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signatures_are_checked_as_stripes_library_makes_them() {
        super::signatures_are_checked_as_stripes_library_makes_them(Db::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_payment_page_is_served_with_a_strict_content_security_policy() {
        super::the_payment_page_is_served_with_a_strict_content_security_policy(Db::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_input_is_refused_and_changes_nothing() {
        super::bad_input_is_refused_and_changes_nothing(Db::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_intent_route_is_limited_per_address_and_per_project() {
        super::the_intent_route_is_limited_per_address_and_per_project(Db::Sqlite).await;
    }
}

/// An intent holds the project it checked its amount against before it asks Stripe; an edit while
/// that intent is in flight (held, its payment not recorded yet) is refused and changes nothing,
/// and further intents still pass (the hold keeps the version). The stale side, an edit between
/// the intent's read and its hold, is the port test `an_intent_holds_the_project_it_checked`.
async fn an_edit_racing_an_intent_in_flight_is_refused(db: Db) {
    let stripe = LocalStripe::start();
    let app = app_with_stripe(db, &stripe, |_| {}).await;
    let teacher = app.stored_teacher("Ms Honey").await;
    let p = project(&app, &teacher, 1000).await;
    let id = Id::parse(&p).unwrap();
    let payments = &app.state.store.payments;
    let read = payments.project(&id).await.unwrap().unwrap();
    assert_eq!(
        payments.hold_for_payment(&id, read.version).await.unwrap(),
        PaymentHold::Held
    );
    let res = app
        .patch(
            &format!("/project/{p}"),
            Some(&teacher.token),
            json!({"goal": 5}),
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.text);
    assert_eq!(payments.project(&id).await.unwrap(), Some(read));
    intent(&app, &p, "k-after-hold", json!({"amount": 1250}))
        .await
        .ok();
}

crate::on_both_stores!(
    an_edit_racing_an_intent_in_flight_is_refused,
    a_supporter_pays_and_the_signed_webhook_credits_the_project_once,
    a_supporter_pays_through_the_page_in_chromium,
    twenty_concurrent_deliveries_apply_once_and_order_does_not_matter,
    reconciliation_settles_a_payment_whose_webhook_never_came,
    admin_refunds_update_the_ledger_and_their_webhook_changes_nothing,
);

/// `payments_webhooks_total{outcome}` counts each delivery once by what happened to it (the
/// metrics are per process; nextest runs each test in a process of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_payments_outcomes_are_counted() {
    let counted = |outcome: &str| {
        educoin::ops::metrics::get()
            .payments_webhooks
            .with_label_values(&[outcome])
            .get()
    };
    let outcomes = [
        "processed",
        "duplicate",
        "bad_signature",
        "invalid",
        "unconfigured",
        "failed",
    ];
    let before: Vec<u64> = outcomes.iter().map(|o| counted(o)).collect();
    // Every outcome exists from start, so a scrape shows it at 0 before the first delivery.
    let scrape = educoin::ops::metrics::render();
    for o in outcomes {
        let series = format!("educoin_payments_webhooks_total{{outcome=\"{o}\"}}");
        assert!(scrape.contains(&series), "{series} missing from a scrape");
    }

    let off = TestApp::start(Db::Sqlite).await;
    deliver(&off, "{}", Some("t=1,v1=00")).await.status(503);
    drop(off);

    let stripe = LocalStripe::start();
    let app = app_with_stripe(Db::Sqlite, &stripe, |_| {}).await;
    let now = now_secs(&app);
    let body = event(
        "evt_counted",
        "payment_intent.created",
        json!({"id": "pi_x", "object": "payment_intent"}),
    );
    let not_an_event = json!({"hello": "world"}).to_string();
    let h = sdk_sign(&[
        (&body, NEW_SECRET, now),
        (&body, "whsec_someone_else", now),
        (&not_an_event, NEW_SECRET, now),
    ]);
    deliver(&app, &body, Some(&h[1])).await.status(400);
    deliver(&app, &not_an_event, Some(&h[2])).await.status(400);
    deliver(&app, &body, Some(&h[0])).await.ok();
    deliver(&app, &body, Some(&h[0])).await.ok();

    let delta: Vec<u64> = outcomes
        .iter()
        .zip(&before)
        .map(|(o, b)| counted(o) - b)
        .collect();
    assert_eq!(delta, [1, 1, 1, 1, 1, 0], "by outcome: {outcomes:?}");
}
