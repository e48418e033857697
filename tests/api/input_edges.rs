//! Issue 9 (security audit), items 16, 18, 19, 20 and 22a: the edges of what clients send, over
//! real HTTP, on both stores where the store matters.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{Value, json};

use crate::on_both_stores;
use crate::support::shapes::id;
use crate::support::{Db, Kv, Res, TestApp, User, spawn_app, spawn_app_with};

async fn app(db: Db) -> TestApp {
    spawn_app(db, Kv::Memory).await
}

fn message_path(body: &Value) -> &str {
    body["errorMessages"][0]["path"]
        .as_str()
        .unwrap_or_default()
}

/// Item 16: a student's `profile` gets the `image` check at create-student and PATCH /student.
async fn a_student_profile_must_be_an_image_reference(db: Db) {
    let app = app(db).await;
    let t = app.stored_teacher("Ms Frizzle").await;
    app.class(&t.token, "Bus 1").await;
    let too_long = format!("/images/{}.png", "a".repeat(500));
    for bad in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>x</script>",
        "/images/a\u{7}.png",
        " vbscript:msgbox ",
        too_long.as_str(),
    ] {
        let Res { status, body, .. } = app
            .post(
                "/student/create-student",
                Some(&t.token),
                json!({"name": "Kid", "password": "135790", "class": "Bus 1", "profile": bad}),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(message_path(&body), "profile");
    }
    let Res { body: list, .. } = app.get("/student", Some(&t.token)).await;
    assert_eq!(list["pagination"]["total"], 0, "nothing was created");

    let kid = app.student_of(&t.token, "Bus 1", "246801").await;
    let Res { status, body, .. } = app
        .patch(
            "/student",
            Some(&kid.token),
            json!({"profile": "/images/a.png"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for bad in [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        too_long.as_str(),
    ] {
        let Res { status, body, .. } = app
            .patch(
                "/student",
                Some(&kid.token),
                json!({"profile": bad, "name": "Evil"}),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(message_path(&body), "profile");
    }
    let Res { body: me, .. } = app.get("/student/profile", Some(&kid.token)).await;
    assert_eq!(me["data"]["profile"], "/images/a.png", "unchanged");
    assert_eq!(
        me["data"]["name"], "Kid",
        "nothing of a refused PATCH applies"
    );
}

/// Item 18: pages past the end are `[]`, whatever the number (SQLite used to wrap a huge page
/// to page 1, MongoDB to fail past its skip limit); NUL in `search` is not a server error.
async fn pages_past_the_end_and_nul_searches_are_answered(db: Db) {
    let app = app(db).await;
    let root = app.stored_admin().await;
    let t = app.stored_teacher("Ms Frizzle").await;
    app.class(&t.token, "Bus 1").await;
    let category = id(&app.category(&t.token, "Kindness").await);
    app.task(&t.token, "Help", &category).await;
    app.reward(&t.token, "Sticker").await;
    let kid = app.student_of(&t.token, "Bus 1", "246802").await;
    let huge = [
        "2",
        "9223372036854775807",
        "18446744073709551615",
        "99999999999999999999999999",
    ];
    let lists: [(&User, &str); 8] = [
        (&t, "/student"),
        (&t, "/class"),
        (&t, "/task"),
        (&t, "/reward"),
        (&kid, "/notifications"),
        (&root, "/teacher"),
        (&root, "/student/all"),
        (&root, "/preset"),
    ];
    for (who, list) in lists {
        let Res {
            status,
            body: first,
            ..
        } = app.get(&format!("{list}?page=1"), Some(&who.token)).await;
        assert_eq!(status, 200, "{list}: {first}");
        let total = first["pagination"]["total"].as_u64().unwrap();
        assert!(total <= 1, "{list}: {first}");
        for page in huge {
            let Res { status, body, .. } = app
                .get(&format!("{list}?page={page}"), Some(&who.token))
                .await;
            assert_eq!(status, 200, "{list}?page={page}: {body}");
            assert_eq!(body["data"], json!([]), "{list}?page={page}: {body}");
            assert_eq!(body["pagination"]["total"], total, "{list}?page={page}");
            assert!(
                body["pagination"]["page"].as_u64().unwrap() >= 2,
                "{list}?page={page}: {body}"
            );
        }
    }
    for (who, list) in [
        (&t, "/student"),
        (&t, "/task"),
        (&t, "/reward"),
        (&root, "/teacher"),
        (&root, "/student/all"),
    ] {
        for search in ["%00", "a%00b", "%00%00"] {
            let Res { status, body, .. } = app
                .get(&format!("{list}?search={search}"), Some(&who.token))
                .await;
            assert_eq!(status, 200, "{list}?search={search}: {body}");
        }
    }
    // The NUL is dropped, the rest still searches.
    let Res { body: found, .. } = app.get("/task?search=He%00lp", Some(&t.token)).await;
    assert_eq!(found["pagination"]["total"], 1, "{found}");
}

/// Sends `body` as one chunk of a chunked request and returns the status line and the body.
fn send_chunked(app: &TestApp, path: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(app.addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    // In several chunks, as a streaming client sends them, written at once: a server may answer 413
    // and close as soon as the limit is passed (RFC 9112 §9.6), and a client still writing would
    // then meet a broken pipe instead of reading that answer.
    let mut request = head.into_bytes();
    for chunk in body.chunks(700) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let _ = s.write_all(&request);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap();
    // The answer itself may be chunked.
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = payload;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        payload.to_owned()
    };
    (
        status,
        serde_json::from_str(&payload).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

/// Item 19: a chunked body over `MAX_BODY_BYTES` is the envelope's 413 (it used to be poem-openapi's
/// 400 "io: request body too large"); under the limit it is read as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_413_with_the_envelope() {
    let app = spawn_app_with(Db::Sqlite, Kv::Memory, |env| {
        env.insert("MAX_BODY_BYTES".into(), "2048".into());
    })
    .await;
    let t = app.stored_teacher("Ms Frizzle").await;
    let path = "/api/v1/category/create-category";
    let big = json!({"name": "x".repeat(3000), "image": "/images/a.png"}).to_string();
    let small = json!({"name": "Kindness", "image": "/images/a.png"}).to_string();
    let token = t.token.clone();
    let (a, b) = tokio::task::block_in_place(|| {
        (
            send_chunked(&app, path, &token, big.as_bytes()),
            send_chunked(&app, path, &token, small.as_bytes()),
        )
    });
    assert_eq!(a.0, 413, "{}", a.1);
    assert_eq!(a.1["success"], false);
    assert!(
        a.1["message"].as_str().unwrap().contains("too large"),
        "{}",
        a.1
    );
    assert_eq!(b.0, 200, "{}", b.1);
    let Res { body: all, .. } = app.get("/category", Some(&t.token)).await;
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        1,
        "only the small one"
    );
}

/// Item 20: a 405 names the route's methods in `Allow` (RFC 9110).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_not_allowed_names_the_allowed_methods() {
    let app = app(Db::Sqlite).await;
    let cases = [
        (
            "TRACE",
            "/api/v1/class/0123456789abcdef01234567",
            "GET, PATCH, DELETE, HEAD",
        ),
        ("PUT", "/api/v1/auth/login", "POST"),
        ("DELETE", "/api/v1/student/profile", "GET, HEAD"),
        ("POST", "/api/v1/teacher/profile/", "GET, HEAD"),
        ("POST", "/images/x.png", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let res = app.request(method.parse().unwrap(), path).await;
        assert_eq!(res.status, 405, "{method} {path}");
        let header = res.headers.get("allow").map(|v| v.to_str().unwrap());
        assert_eq!(header, Some(allow), "{method} {path}");
        assert_eq!(res.body["success"], false);
    }
}

/// Item 20: text fields take JSON strings only (poem-openapi turned `12` into `"12"` and `true`
/// into `"true"` and stored them); the clients' numbers-as-strings stay accepted where
/// CLIENT-CONTRACT allows them, and a missing required field keeps its own message.
async fn text_fields_refuse_numbers_and_booleans(db: Db) {
    let app = app(db).await;
    let t = app.stored_teacher("Ms Frizzle").await;
    for body in [
        json!({"name": 12, "image": "/images/a.png"}),
        json!({"name": true, "image": "/images/a.png"}),
        json!({"name": "Kind", "image": 7}),
        json!({"name": "Kind", "image": false}),
    ] {
        let Res {
            status,
            body: answer,
            ..
        } = app
            .post("/category/create-category", Some(&t.token), body.clone())
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["success"], false);
    }
    for body in [
        json!({"name": 5, "image": "/images/a.png", "requiredPoints": 10}),
        json!({"name": "Gift", "image": true, "requiredPoints": 10}),
    ] {
        let Res {
            status,
            body: answer,
            ..
        } = app
            .post("/reward/create-reward", Some(&t.token), body.clone())
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    let Res { body: all, .. } = app.get("/category", Some(&t.token)).await;
    assert_eq!(all["data"], json!([]), "nothing stored");
    let Res { body: all, .. } = app.get("/reward", Some(&t.token)).await;
    assert_eq!(all["data"], json!([]), "nothing stored");

    let Res {
        status,
        body: answer,
        ..
    } = app
        .post(
            "/category/create-category",
            Some(&t.token),
            json!({"image": "/images/a.png"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["message"], "name is required");
    // Numbers as strings, as the contract allows.
    let Res {
        status,
        body: answer,
        ..
    } = app
        .post(
            "/reward/create-reward",
            Some(&t.token),
            json!({"name": "Gift", "image": "/images/a.png", "requiredPoints": "25"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["requiredPoints"], 25);
}

/// Item 22a: unset optional fields are absent, as in a Mongoose document (the dashboard renders a
/// `null` `dateOfBirth` as "Invalid date").
async fn unset_optional_fields_are_absent(db: Db) {
    let app = app(db).await;
    let root = app.stored_admin().await;
    let t = app.stored_teacher("Ms Frizzle").await;
    let class = app.class(&t.token, "Bus 1").await;
    assert!(class.get("endDate").is_none(), "{class}");
    let kid = app.student_of(&t.token, "Bus 1", "246803").await;
    let reward = id(&app.reward(&t.token, "Sticker").await);
    let Res { status, body, .. } = app
        .post(
            "/assign-reward",
            Some(&t.token),
            json!({"reward": reward, "student": kid.id.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].get("claimedAt").is_none(), "{body}");

    let absent = |doc: &Value, keys: &[&str]| {
        for key in keys {
            assert!(doc.get(*key).is_none(), "{key} in {doc}");
        }
    };
    let Res { body: me, .. } = app.get("/student/profile", Some(&kid.token)).await;
    absent(&me["data"], &["dateOfBirth", "profile"]);
    let Res { body: list, .. } = app.get("/student", Some(&t.token)).await;
    absent(&list["data"][0], &["dateOfBirth", "profile"]);
    let Res { body: one, .. } = app
        .get(&format!("/student/{}", kid.id), Some(&t.token))
        .await;
    absent(&one["data"], &["dateOfBirth", "profile"]);
    let Res { body: all, .. } = app.get("/student/all", Some(&root.token)).await;
    absent(&all["data"][0], &["dateOfBirth", "profile"]);
    let Res { body: classes, .. } = app.get("/class", Some(&t.token)).await;
    absent(&classes["data"][0], &["endDate"]);
    let Res { body: offers, .. } = app.get("/assign-reward", Some(&t.token)).await;
    absent(&offers["data"][0], &["claimedAt"]);
    absent(&offers["data"][0]["student"], &["dateOfBirth", "profile"]);
    let Res { body: mine, .. } = app.get("/assign-reward/student", Some(&kid.token)).await;
    absent(&mine["data"][0], &["claimedAt"]);

    // Set values are there.
    let Res { status, body, .. } = app
        .patch(
            "/student",
            Some(&kid.token),
            json!({"dateOfBirth": "2015-04-01"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["dateOfBirth"], "2015-04-01T00:00:00.000Z");
}

/// Item 20: the document says what the server answers (schemathesis checks the same by fuzzing:
/// tests/api/schemathesis.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_errors_ids_required_and_nullable_fields() {
    let app = app(Db::Sqlite).await;
    let (status, doc) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let mut with_body = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if op.get("requestBody").is_some() {
                with_body += 1;
                for status in ["413", "415"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path}: no {status}"
                    );
                }
            }
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" && p["name"] == "id" {
                    assert_eq!(
                        p["schema"]["pattern"], "^[0-9a-fA-F]{24}$",
                        "{method} {path}"
                    );
                }
            }
        }
    }
    assert_eq!(with_body, 34);
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| -> Vec<String> {
        serde_json::from_value(schemas[name]["required"].clone()).unwrap_or_default()
    };
    assert_eq!(required("CreateCategoryBody"), ["name", "image"]);
    assert!(required("Class").iter().all(|f| f != "endDate"));
    assert!(required("Student").iter().all(|f| f != "dateOfBirth"));
    let task = schemas
        .as_object()
        .unwrap()
        .iter()
        .find(|(name, _)| name.starts_with("AssignedTask"))
        .unwrap()
        .1;
    assert_eq!(task["properties"]["task"]["nullable"], true, "{task}");
}

on_both_stores!(
    a_student_profile_must_be_an_image_reference,
    pages_past_the_end_and_nul_searches_are_answered,
    text_fields_refuse_numbers_and_booleans,
    unset_optional_fields_are_absent,
);
