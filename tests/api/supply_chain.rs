//! What the quick-xml advisory ignores in deny.toml rest on: no route parses XML. Every operation with
//! a body refuses an XML body with the contract's envelope and a 4xx, for anonymous callers and for
//! signed-in teachers and admins (past authentication, where a body would be read), also when the
//! requests arrive all at once.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::support::{Db, TestApp};

/// One start tag with `n` distinct attributes (quadratic work for quick-xml < 0.41's duplicate check).
fn hostile_xml(n: usize) -> String {
    let mut s = String::from("<login");
    for i in 0..n {
        s.push_str(&format!(" a{i}=\"1\""));
    }
    s.push_str("/>");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_bodies_are_refused_unparsed_on_every_operation_with_a_body() {
    let api = TestApp::start(Db::Sqlite).await;
    let admin = api.super_admin().await.token;
    let teacher = api.teacher("Xml Teacher").await.token;
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/public/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    // Small: the server answers (and closes) without reading the body, so a large one would fail the
    // client's write (broken pipe) instead of showing the answer. What is tested is that an XML
    // content type is refused, whatever the body.
    let body = hostile_xml(200);
    let mut operations = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op.get("requestBody").is_some() {
                // Path parameters get a plausible value; the body is refused before they matter.
                let concrete = path
                    .split('/')
                    .map(|seg| {
                        if seg.starts_with('{') {
                            "000000000000000000000001"
                        } else {
                            seg
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                for token in [None, Some(admin.clone()), Some(teacher.clone())] {
                    operations.push((method.to_uppercase(), format!("/api/v1{concrete}"), token));
                }
            }
        }
    }
    assert!(operations.len() >= 30, "{operations:?}");

    let started = Instant::now();
    let app = &api;
    let calls = operations.iter().map(|(method, path, token)| {
        let body = body.clone();
        async move {
            let res = app
                .request(method.parse().unwrap(), path)
                .header("content-type", "application/xml")
                .body(body)
                .token(token.as_deref())
                .await;
            (method, path, token.is_some(), res.status, res.body)
        }
    });
    let mut statuses = BTreeMap::<(bool, u16), usize>::new();
    for (method, path, signed_in, status, json) in futures_util::future::join_all(calls).await {
        *statuses.entry((signed_in, status)).or_default() += 1;
        assert!(
            (400..500).contains(&status) && status != 404,
            "{method} {path} (signed in: {signed_in}) answered {status} to an XML body: {json}"
        );
        assert_eq!(json["success"], false, "{method} {path}: {json}");
    }
    assert!(
        statuses
            .iter()
            .any(|((signed_in, status), _)| *signed_in && *status == 415),
        "no signed-in request reached the content-type check: {statuses:?}"
    );
    println!(
        "{} requests (operations with a body x anonymous/admin/teacher) refused an XML body ({} bytes, \
         200 attributes on one tag) in {:?} all together; (signed in, status) counts {statuses:?}",
        operations.len(),
        body.len(),
        started.elapsed()
    );
    api.stop().await;
}
