//! Accounts and requests for the classroom tests. Accounts are written through the store and
//! tokens issued directly, so that these tests neither hash passwords nor meet the login limits.

use educoin::domain::account::normalize_email;
use educoin::domain::{AccountStatus, Admin, AdminRole, Id, Millis, Role, Teacher};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

/// A signed-in caller.
pub struct Caller {
    pub id: Id,
    pub token: String,
}

pub async fn teacher(app: &TestApp, name: &str) -> Caller {
    let id = Id::generate();
    let email = normalize_email(&format!("{}@school.org", name.replace(' ', ".")));
    let now = Millis::now();
    app.state
        .store
        .teachers
        .insert(&Teacher {
            id: id.clone(),
            name: name.into(),
            email: email.clone(),
            contact: String::new(),
            location: String::new(),
            profile: None,
            status: AccountStatus::Active,
            password_hash: None,
            passcode_sealed: None,
            created_at: now,
            updated_at: now,
            version: 0,
            token_epoch: 0,
        })
        .await
        .unwrap();
    let token = app
        .state
        .auth
        .access
        .issue(&id, Role::Teacher, Some(&email));
    Caller { id, token }
}

pub async fn admin(app: &TestApp) -> Caller {
    let id = Id::generate();
    let now = Millis::now();
    app.state
        .store
        .admins
        .insert(&Admin {
            id: id.clone(),
            name: "Admin".into(),
            email: "admin@educoin.app".into(),
            contact: String::new(),
            location: String::new(),
            profile: None,
            role: AdminRole::Admin,
            password_hash: "$argon2id$unused".into(),
            created_at: now,
            updated_at: now,
            version: 0,
            token_epoch: 0,
        })
        .await
        .unwrap();
    let token = app
        .state
        .auth
        .access
        .issue(&id, Role::Admin, Some("admin@educoin.app"));
    Caller { id, token }
}

/// A student of `teacher` in `class` (created through the API), signed in.
pub async fn student(app: &TestApp, teacher: &Caller, class: &str, passcode: &str) -> Caller {
    let (status, body) = call(
        app,
        Method::POST,
        "/api/v1/student/create-student",
        Some(&teacher.token),
        Some(json!({"name": "Kid", "password": passcode, "class": class, "profile": ""})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = Id::parse(body["data"]["_id"].as_str().unwrap()).unwrap();
    let token = app.state.auth.access.issue(&id, Role::Student, None);
    Caller { id, token }
}

/// Sends a request to `/api/v1/...` with an optional bearer token and JSON body.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

impl Caller {
    pub async fn get(&self, app: &TestApp, path: &str) -> (u16, Value) {
        call(app, Method::GET, path, Some(&self.token), None).await
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> (u16, Value) {
        call(app, Method::POST, path, Some(&self.token), Some(body)).await
    }

    pub async fn patch(&self, app: &TestApp, path: &str, body: Value) -> (u16, Value) {
        call(app, Method::PATCH, path, Some(&self.token), Some(body)).await
    }

    pub async fn delete(&self, app: &TestApp, path: &str) -> (u16, Value) {
        call(app, Method::DELETE, path, Some(&self.token), None).await
    }

    /// POSTs `body` to a create route, expects 200, and returns `data`.
    pub async fn create(&self, app: &TestApp, path: &str, body: Value) -> Value {
        let (status, resp) = self.post(app, path, body).await;
        assert_eq!(status, 200, "{path}: {resp}");
        assert_eq!(resp["success"], true);
        resp["data"].clone()
    }

    pub async fn class(&self, app: &TestApp, name: &str) -> Value {
        self.create(
            app,
            "/api/v1/class/create-class",
            json!({"className": name, "startDate": "2025-01-06"}),
        )
        .await
    }

    pub async fn category(&self, app: &TestApp, name: &str) -> Value {
        self.create(
            app,
            "/api/v1/category/create-category",
            json!({"name": name, "image": "/images/icon-star.png"}),
        )
        .await
    }

    pub async fn task(&self, app: &TestApp, name: &str, category: &str) -> Value {
        self.create(
            app,
            "/api/v1/task/create-task",
            json!({"name": name, "points": 10, "category": category, "type": "good", "repeat": "everyday"}),
        )
        .await
    }

    pub async fn reward(&self, app: &TestApp, name: &str) -> Value {
        self.create(
            app,
            "/api/v1/reward/create-reward",
            json!({"name": name, "image": "/images/gift.png", "requiredPoints": 50}),
        )
        .await
    }
}

/// `data[..]._id` of a list answer.
pub fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {body}"))
        .iter()
        .map(|d| d["_id"].as_str().unwrap().to_owned())
        .collect()
}

pub fn id(data: &Value) -> String {
    data["_id"].as_str().unwrap().to_owned()
}
