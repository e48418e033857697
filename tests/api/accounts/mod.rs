//! Issue 3, Must show 1, 2 and 4: every route of the auth, admin, teacher and student groups over real
//! HTTP on both storage adapters, with the clients' exact bodies (CLIENT-CONTRACT §1–3); the access
//! rules; Google sign-in through the real route.
//!
//! Every request of these tests goes through [`Api::send`], which fails the test when any response
//! body holds a password hash (`$argon2`) or one of the plain passwords the test has used (teachers'
//! and admins').

mod access;
mod admin;
mod auth;
mod google_login;
mod revocation;
mod student;
mod teacher;

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Db, Kv, TestApp, spawn_app_with};

/// The access-token key of every server these tests start, so that tests can forge tokens.
pub const JWT_SECRET: &str = "accounts-test-jwt-secret-0123456789abcdef";
pub const SUPER_EMAIL: &str = "root@quokki.test";
pub const SUPER_PASSWORD: &str = "Super-Admin-Pass-7391";
pub const PNG: &[u8] = include_bytes!("../fixtures/quokki.png");
pub const DEFAULT_AVATAR: &str = "/images/default-avatar.png";

/// A server with a seeded super admin, and the request helpers every accounts test uses.
pub struct Api {
    pub app: TestApp,
    /// Plain passwords that must never appear in a response.
    secrets: Mutex<Vec<String>>,
}

/// A response: status, raw text, and the JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub text: String,
    pub body: Value,
}

impl Res {
    /// Asserts a 200 success envelope and returns its `data`.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        self.status(200);
        assert_eq!(self.body["success"], true, "{}", self.text);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.text
        );
        &self.body["data"]
    }

    /// Asserts the status; a failure must carry the error envelope with a readable message.
    #[track_caller]
    pub fn status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "{}", self.text);
        if status >= 400 {
            assert_eq!(self.body["success"], false, "{}", self.text);
            assert!(!self.message().is_empty(), "no message: {}", self.text);
            assert!(self.body["errorMessages"].is_array(), "{}", self.text);
        }
        self
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}

/// A logged-in account: the access token and the refresh token of its session.
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub refresh: String,
}

/// A signed-up, logged-in teacher.
#[derive(Clone, Debug)]
pub struct Teacher {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh: String,
}

/// The settings every accounts server gets: a known JWT key and a seeded super admin.
pub fn accounts_env(env: &mut BTreeMap<String, String>) {
    env.insert("JWT_SECRET".into(), JWT_SECRET.into());
    env.insert("SUPER_ADMIN_EMAIL".into(), SUPER_EMAIL.into());
    env.insert("SUPER_ADMIN_PASSWORD".into(), SUPER_PASSWORD.into());
}

pub fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

impl Api {
    pub async fn start(db: Db) -> Api {
        Api::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: Db, adjust: impl FnOnce(&mut BTreeMap<String, String>)) -> Api {
        let app = spawn_app_with(db, Kv::Memory, |env| {
            accounts_env(env);
            adjust(env);
        })
        .await;
        Api {
            app,
            secrets: Mutex::new(vec![SUPER_PASSWORD.to_owned()]),
        }
    }

    /// From now on, `secret` must not appear in any response.
    pub fn watch(&self, secret: &str) {
        self.secrets.lock().unwrap().push(secret.to_owned());
    }

    /// Sends the request and checks the body for hashes and watched passwords.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Res {
        let resp = request.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("a body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        assert!(
            !text.contains("$argon2"),
            "a password hash in a response: {text}"
        );
        for secret in self.secrets.lock().unwrap().iter() {
            assert!(
                !text.contains(secret.as_str()),
                "a plain password ({secret}) in a response: {text}"
            );
        }
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Res { status, text, body }
    }

    /// `path` under `/api/v1`, with `authorization` as the whole header value.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut rb = self
            .app
            .client
            .request(method, self.app.url(&format!("/api/v1{path}")));
        if let Some(value) = authorization {
            rb = rb.header("authorization", value);
        }
        rb
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<&Value>,
    ) -> Res {
        let mut rb = self.request(method, path, authorization);
        if let Some(body) = body {
            rb = rb.json(body);
        }
        self.send(rb).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Res {
        let auth = token.map(|t| format!("Bearer {t}"));
        self.call(Method::GET, path, auth.as_deref(), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        let auth = token.map(|t| format!("Bearer {t}"));
        self.call(Method::POST, path, auth.as_deref(), Some(&body))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        let auth = token.map(|t| format!("Bearer {t}"));
        self.call(Method::PATCH, path, auth.as_deref(), Some(&body))
            .await
    }

    /// A `multipart/form-data` request as the app and dashboard send it (built by hand: reqwest's
    /// multipart feature is not enabled): text `fields`, and an optional file part `image`.
    pub async fn multipart(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
        image: Option<(&[u8], &str, &str)>,
    ) -> Res {
        let boundary = format!("----quokki{}", short_id());
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((bytes, file_name, content_type)) = image {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; \
                     filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let auth = token.map(|t| format!("Bearer {t}"));
        let rb = self
            .request(method, path, auth.as_deref())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(rb).await
    }

    /// GETs a file under the server root (`/images/...`): status, content type, bytes.
    pub async fn file(&self, path: &str) -> (u16, String, Vec<u8>) {
        let resp = self.app.get(path).await;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, resp.bytes().await.unwrap().to_vec())
    }

    /// The dashboard's login: `Authorization: Bearer null` and `remember: true`.
    pub async fn admin_login(&self, email: &str, password: &str) -> Res {
        self.call(
            Method::POST,
            "/auth/login",
            Some("Bearer null"),
            Some(&json!({"email": email, "password": password, "remember": true})),
        )
        .await
    }

    pub async fn super_admin(&self) -> Session {
        session(&self.admin_login(SUPER_EMAIL, SUPER_PASSWORD).await)
    }

    pub async fn teacher_login(&self, email: &str, password: &str) -> Res {
        self.post(
            "/teacher/login",
            None,
            json!({"email": email, "password": password, "remember": true}),
        )
        .await
    }

    /// Signs a teacher up with the app's body, logs it in and reads its id.
    pub async fn teacher(&self, name: &str) -> Teacher {
        let id = short_id();
        let email = format!("{}.{id}@school.test", name.to_lowercase().replace(' ', "."));
        let password = format!("Tp-{id}-secret");
        self.watch(&password);
        self.post(
            "/teacher/sign-up",
            None,
            json!({
                "name": name,
                "email": email,
                "contact": "+1 555 0100",
                "location": "Springfield",
                "password": password,
                "confirm_password": password,
            }),
        )
        .await
        .ok();
        let s = session(&self.teacher_login(&email, &password).await);
        let profile = self.get("/teacher/profile/", Some(&s.token)).await;
        Teacher {
            id: profile.ok()["_id"].as_str().unwrap().to_owned(),
            email,
            password,
            token: s.token,
            refresh: s.refresh,
        }
    }

    /// `POST /student/create-student` with the app's body; returns the created student.
    pub async fn create_student(
        &self,
        teacher_token: &str,
        name: &str,
        passcode: Value,
        class: &str,
    ) -> Value {
        self.try_create_student(teacher_token, name, passcode, class)
            .await
            .ok()
            .clone()
    }

    /// Creates the teacher's class `name` unless it exists (students need an existing class).
    pub async fn ensure_class(&self, teacher_token: &str, name: &str) {
        let res = self
            .post(
                "/class/create-class",
                Some(teacher_token),
                json!({"className": name, "startDate": "2025-01-01"}),
            )
            .await;
        assert!(
            res.status == 200 || res.status == 409,
            "create class {name}: {}",
            res.text
        );
    }

    pub async fn try_create_student(
        &self,
        teacher_token: &str,
        name: &str,
        passcode: Value,
        class: &str,
    ) -> Res {
        self.ensure_class(teacher_token, class).await;
        self.post(
            "/student/create-student",
            Some(teacher_token),
            json!({
                "name": name,
                "password": passcode,
                "dateOfBirth": "2015-04-01",
                "class": class,
                "profile": "/images/avatar-fox.png",
            }),
        )
        .await
    }

    pub async fn student_login(&self, passcode: Value) -> Res {
        self.call(
            Method::POST,
            "/student/login",
            Some("Bearer undefined"),
            Some(&json!({ "password": passcode })),
        )
        .await
    }
}

/// The session of a successful login response: `data` is the bare access token, `refreshToken`
/// sits beside it.
#[track_caller]
pub fn session(res: &Res) -> Session {
    let token = res.ok().as_str().expect("data is the token string");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert!(res.body.get("pagination").is_none(), "{}", res.text);
    Session {
        token: token.to_owned(),
        refresh: res.body["refreshToken"]
            .as_str()
            .expect("a refreshToken")
            .to_owned(),
    }
}

/// A Mongoose-shaped document: `_id` (24 hex), `createdAt`/`updatedAt` ISO-8601 UTC with
/// milliseconds and `Z`, `__v` a number.
#[track_caller]
pub fn assert_document(doc: &Value) {
    let id = doc["_id"].as_str().unwrap_or_else(|| panic!("_id: {doc}"));
    assert!(
        id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "_id: {doc}"
    );
    for field in ["createdAt", "updatedAt"] {
        assert_iso(
            doc[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field}: {doc}")),
        );
    }
    assert!(doc["__v"].is_i64(), "__v: {doc}");
}

#[track_caller]
pub fn assert_iso(s: &str) {
    assert!(
        s.len() == 24
            && s.ends_with('Z')
            && s.as_bytes()[19] == b'.'
            && chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "not ISO-8601 UTC with milliseconds: {s}"
    );
}

/// The contract's `pagination` object, at the top level of a list answer.
#[track_caller]
pub fn assert_pagination(res: &Res, page: u64, total: u64) {
    assert_eq!(
        res.body["pagination"],
        json!({"page": page, "limit": 10, "total": total, "totalPage": total.div_ceil(10)}),
        "{}",
        res.text
    );
    assert!(res.data().is_array(), "{}", res.text);
    assert!(res.data().get("pagination").is_none());
}

/// The keys of a JSON object, for "exactly these fields" checks.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// `[name]` of each item of a list answer.
pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}
