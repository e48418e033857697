//! Typed helpers over [`TestApp::send`]: servers with a seeded super admin, accounts of each role
//! (signed up through the routes, or written through the store when a test must neither hash
//! passwords nor meet the login limits), logins, and the classroom records most tests need.

use std::collections::BTreeMap;

use educoin::domain::account::normalize_email;
use educoin::domain::{Admin, AdminRole, Id, Millis, Role};
use reqwest::Method;
use serde_json::{Value, json};

use super::http::Res;
use super::store::teacher_record;
use super::{Db, Kv, TestApp, spawn_app_with};

/// The access-token key of every server started by [`TestApp::start`], so that tests can forge
/// tokens.
pub const JWT_SECRET: &str = "accounts-test-jwt-secret-0123456789abcdef";
pub const SUPER_EMAIL: &str = "root@quokki.test";
pub const SUPER_PASSWORD: &str = "Super-Admin-Pass-7391";
pub const PNG: &[u8] = include_bytes!("../fixtures/quokki.png");
pub const DEFAULT_AVATAR: &str = "/images/default-avatar.png";

/// A logged-in account: the access token and the refresh token of its session.
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub refresh: String,
}

/// A teacher signed up and logged in through the routes.
#[derive(Clone, Debug)]
pub struct SignedUp {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh: String,
}

/// An account with an access token issued directly (no password, no login).
#[derive(Clone, Debug)]
pub struct User {
    pub id: Id,
    pub token: String,
}

/// One signed-in caller of each role.
pub struct Callers {
    pub super_admin: String,
    pub admin: String,
    pub teacher: String,
    pub teacher_id: String,
    pub student: String,
    pub student_id: String,
}

/// The settings of [`TestApp::start`]: a known JWT key and a seeded super admin.
pub fn accounts_env(env: &mut BTreeMap<String, String>) {
    env.insert("JWT_SECRET".into(), JWT_SECRET.into());
    env.insert("SUPER_ADMIN_EMAIL".into(), SUPER_EMAIL.into());
    env.insert("SUPER_ADMIN_PASSWORD".into(), SUPER_PASSWORD.into());
}

pub fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
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

impl TestApp {
    /// A server on the in-process cache with a known JWT key and a seeded super admin.
    pub async fn start(db: Db) -> TestApp {
        TestApp::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: Db, adjust: impl FnOnce(&mut BTreeMap<String, String>)) -> TestApp {
        spawn_app_with(db, Kv::Memory, |env| {
            accounts_env(env);
            adjust(env);
        })
        .await
    }

    /// The dashboard's login: `Authorization: Bearer null` and `remember: true`.
    pub async fn admin_login(&self, email: &str, password: &str) -> Res {
        self.send(Method::POST, "/auth/login")
            .authorization("Bearer null")
            .json(&json!({"email": email, "password": password, "remember": true}))
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

    /// The app's passcode login: `Authorization: Bearer undefined`.
    pub async fn student_login(&self, passcode: Value) -> Res {
        self.send(Method::POST, "/student/login")
            .authorization("Bearer undefined")
            .json(&json!({ "password": passcode }))
            .await
    }

    /// Signs a teacher up with the app's body, logs it in and reads its id.
    pub async fn teacher(&self, name: &str) -> SignedUp {
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
        SignedUp {
            id: profile.ok()["_id"].as_str().unwrap().to_owned(),
            email,
            password,
            token: s.token,
            refresh: s.refresh,
        }
    }

    /// A teacher written through the store, with a token issued directly.
    pub async fn stored_teacher(&self, name: &str) -> User {
        let id = Id::generate();
        let email = normalize_email(&format!("{}@school.org", name.replace(' ', ".")));
        let teacher = teacher_record(&id, name, email.clone(), Millis::now());
        self.state.store.teachers.insert(&teacher).await.unwrap();
        let token = self
            .state
            .auth
            .access
            .issue(&id, Role::Teacher, Some(&email));
        User { id, token }
    }

    /// An admin (not super) written through the store, with a token issued directly.
    pub async fn stored_admin(&self) -> User {
        let id = Id::generate();
        let email = format!("admin.{}@educoin.app", short_id());
        let now = Millis::now();
        self.state
            .store
            .admins
            .insert(&Admin {
                id: id.clone(),
                name: "Admin".into(),
                email: email.clone(),
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
        let token = self.state.auth.access.issue(&id, Role::Admin, Some(&email));
        User { id, token }
    }

    /// A student of `teacher` in `class` (created through the app's route), with a token issued
    /// directly.
    pub async fn student_of(&self, teacher: &str, class: &str, passcode: &str) -> User {
        let data = self
            .create(
                teacher,
                "/student/create-student",
                json!({"name": "Kid", "password": passcode, "class": class, "profile": ""}),
            )
            .await;
        self.issued_student(data["_id"].as_str().unwrap())
    }

    /// A token issued directly for the student `id`.
    pub fn issued_student(&self, id: &str) -> User {
        let id = Id::parse(id).unwrap();
        let token = self.state.auth.access.issue(&id, Role::Student, None);
        User { id, token }
    }

    /// A super admin (logged in), an admin (written through the store), a teacher (signed up and
    /// logged in) and one of its students (created through the app's route).
    pub async fn callers(&self) -> Callers {
        let super_admin = self.super_admin().await.token;
        let admin = self.stored_admin().await.token;
        let t = self.teacher("Pia Teacher").await;
        let kid = self
            .create_student(&t.token, "Kid", json!("482913"), "Class 1")
            .await;
        let student_id = kid["_id"].as_str().unwrap().to_owned();
        let student = self.issued_student(&student_id).token;
        Callers {
            super_admin,
            admin,
            teacher: t.token,
            teacher_id: t.id,
            student,
            student_id,
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

    /// The student's `achieve` of its assignment `id`.
    pub async fn achieve(&self, student_token: &str, id: &str) -> Res {
        let path = format!("/assign-task/achieve/{id}");
        self.patch(&path, Some(student_token), json!({})).await
    }

    /// The teacher's `approve` of its assignment `id`.
    pub async fn approve(&self, teacher_token: &str, id: &str) -> Res {
        let path = format!("/assign-task/approve/{id}");
        self.patch(&path, Some(teacher_token), json!({})).await
    }

    /// POSTs `body` to a create route as `token`, expects 200, and returns `data`.
    pub async fn create(&self, token: &str, path: &str, body: Value) -> Value {
        self.post(path, Some(token), body).await.ok().clone()
    }

    pub async fn class(&self, token: &str, name: &str) -> Value {
        self.create(
            token,
            "/class/create-class",
            json!({"className": name, "startDate": "2025-01-06"}),
        )
        .await
    }

    pub async fn category(&self, token: &str, name: &str) -> Value {
        self.create(
            token,
            "/category/create-category",
            json!({"name": name, "image": "/images/icon-star.png"}),
        )
        .await
    }

    pub async fn task(&self, token: &str, name: &str, category: &str) -> Value {
        self.create(
            token,
            "/task/create-task",
            json!({"name": name, "points": 10, "category": category, "type": "good", "repeat": "everyday"}),
        )
        .await
    }

    pub async fn reward(&self, token: &str, name: &str) -> Value {
        self.create(
            token,
            "/reward/create-reward",
            json!({"name": name, "image": "/images/gift.png", "requiredPoints": 50}),
        )
        .await
    }
}
