//! What the quick-xml advisory ignores in deny.toml rest on: no route parses XML. Every operation with
//! a body refuses an XML body with the contract's envelope and a 4xx, without parsing it, also when
//! many such bodies arrive at once.

use std::time::Instant;

use crate::support::{Db, Kv, spawn_app};

/// One start tag with `n` distinct attributes: quadratic work for quick-xml < 0.41's duplicate check.
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
    let app = spawn_app(Db::Sqlite, Kv::Memory).await;
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/public/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    let body = hostile_xml(40_000); // ~400 KB, under MAX_BODY_BYTES
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
                operations.push((method.to_uppercase(), format!("/api/v1{concrete}")));
            }
        }
    }
    assert!(operations.len() >= 10, "{operations:?}");

    let started = Instant::now();
    let tasks: Vec<_> = operations
        .iter()
        .cloned()
        .map(|(method, path)| {
            let client = app.client.clone();
            let url = app.url(&path);
            let body = body.clone();
            tokio::spawn(async move {
                let resp = client
                    .request(method.parse().unwrap(), url)
                    .header("content-type", "application/xml")
                    .body(body)
                    .send()
                    .await
                    .expect("request sent");
                let status = resp.status().as_u16();
                let json: serde_json::Value = resp.json().await.unwrap_or_default();
                (method, path, status, json)
            })
        })
        .collect();
    for task in tasks {
        let (method, path, status, json) = task.await.unwrap();
        assert!(
            (400..500).contains(&status) && status != 404,
            "{method} {path} answered {status} to an XML body: {json}"
        );
        assert_eq!(json["success"], false, "{method} {path}: {json}");
    }
    println!(
        "{} operations with a body refused an XML body ({} bytes, 40,000 attributes) in {:?} all together",
        operations.len(),
        body.len(),
        started.elapsed()
    );
    app.stop().await;
}
