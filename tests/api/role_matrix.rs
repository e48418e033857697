//! The role matrix, generated from the OpenAPI document the server serves (`educoin::api::spec_json`):
//! every operation with a security requirement answers 401 without a token, 400 for
//! `Bearer undefined` (a header that is not a JWT) and 403 for a real account of a role it does not
//! admit (CLIENT-CONTRACT §1). The document does not say which roles an operation admits (its tags
//! are areas, not roles), so [`WHO`] says it, from CLIENT-CONTRACT §3's Auth column. An operation
//! the table does not list, or lists with another protection than the document's, fails the test:
//! a new route is covered the day it is added.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_stores;
use crate::support::{Db, Res, TestApp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    SuperAdmin,
    Admin,
    Teacher,
    Student,
}

use Role::*;

/// CLIENT-CONTRACT §3's Auth column: `A` is an admin or the super admin; "any" is every role.
const PUBLIC: &[Role] = &[];
const A: &[Role] = &[SuperAdmin, Admin];
const T: &[Role] = &[Teacher];
const S: &[Role] = &[Student];
const TS: &[Role] = &[Teacher, Student];
const ANY: &[Role] = &[SuperAdmin, Admin, Teacher, Student];

/// Who may call each operation, as `"METHOD /path"` in the document's own spelling.
const WHO: &[(&str, &[Role])] = &[
    ("GET /health", PUBLIC),
    ("GET /health/ready", PUBLIC),
    ("POST /auth/login", PUBLIC),
    ("POST /auth/forget-password", PUBLIC),
    ("POST /auth/verify-email", PUBLIC),
    // The reset token travels in `Authorization` without `Bearer`: not the bearer scheme.
    ("POST /auth/reset-password", PUBLIC),
    ("POST /auth/change-password", ANY),
    ("POST /auth/refresh-token", PUBLIC),
    ("POST /auth/logout", PUBLIC),
    ("GET /admin/profile", A),
    ("PATCH /admin", A),
    ("GET /admin/dashboard-overview", A),
    ("POST /teacher/sign-up", PUBLIC),
    ("POST /teacher/login", PUBLIC),
    ("GET /teacher/profile", T),
    ("PATCH /teacher", T),
    ("GET /teacher", A),
    ("GET /teacher/pass-code", T),
    ("POST /teacher/create-teacher", A),
    ("POST /student/login", PUBLIC),
    ("GET /student/profile", S),
    ("PATCH /student", S),
    ("GET /student", T),
    ("GET /student/class/{class_name}", T),
    ("GET /student/all", A),
    ("GET /student/statistics/{id}", T),
    ("GET /student/{id}", T),
    ("POST /student/create-student", T),
    ("GET /class", T),
    ("POST /class/create-class", T),
    ("GET /class/{id}", T),
    ("PATCH /class/{id}", T),
    ("DELETE /class/{id}", T),
    ("GET /category", T),
    ("POST /category/create-category", T),
    ("PATCH /category/{id}", T),
    ("GET /task", T),
    ("POST /task/create-task", T),
    ("PATCH /task/{id}", T),
    ("GET /reward", T),
    ("POST /reward/create-reward", T),
    ("PATCH /reward/{id}", T),
    ("GET /assign-task", T),
    ("POST /assign-task", T),
    ("GET /assign-task/pending", T),
    ("PATCH /assign-task/approve/{id}", T),
    ("GET /assign-task/student", S),
    ("PATCH /assign-task/achieve/{id}", S),
    ("GET /assign-reward", T),
    ("POST /assign-reward", T),
    ("GET /assign-reward/student", S),
    ("GET /assign-reward/earn", S),
    ("POST /assign-reward/claim/{id}", S),
    ("GET /notifications", TS),
    ("PATCH /notifications/{id}", TS),
    ("GET /preset/avatar", TS),
    ("GET /preset/icon", TS),
    ("GET /preset", A),
    ("POST /preset/upload", A),
    ("DELETE /preset/delete/{id}", A),
    ("GET /rule/privacy-policy", ANY),
    ("PATCH /rule/privacy-policy", A),
    ("GET /rule/terms-and-conditions", ANY),
    ("PATCH /rule/terms-and-conditions", A),
    ("POST /feedback", TS),
    // Payments (issue 14; not in the clients yet): teachers' projects, the public page's two
    // calls, the admins' ledger, and Stripe's webhook (authenticated by its signature).
    ("POST /project", T),
    ("GET /project", T),
    ("PATCH /project/{id}", T),
    ("POST /project/{id}/close", T),
    ("GET /project/{id}/payments", T),
    ("GET /fund/{id}", PUBLIC),
    ("POST /fund/{id}/payment-intent", PUBLIC),
    ("GET /admin/payments", A),
    ("GET /admin/payments/totals", A),
    ("POST /admin/payments/{id}/refund", A),
    ("POST /admin/projects/{id}/fulfil", A),
    ("POST /payments/webhook", PUBLIC),
    // Push devices (issue 15).
    ("POST /devices", TS),
    ("DELETE /devices/{token}", TS),
];

/// One operation of the document.
struct Operation {
    method: Method,
    /// As the document writes it, under `/api/v1`.
    path: String,
    secured: bool,
    multipart: bool,
}

impl Operation {
    fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path with its parameters filled in: any well-formed value, since the role is
    /// decided before any record is looked up.
    fn concrete_path(&self) -> String {
        self.path
            .replace("{id}", "0123456789abcdef01234567")
            .replace("{class_name}", "Blue%20Group")
    }
}

fn operations() -> Vec<Operation> {
    let doc: Value = serde_json::from_str(&educoin::api::spec_json()).unwrap();
    let global = doc.get("security").is_some_and(|s| !is_empty(s));
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let secured = match op.get("security") {
                Some(s) => !is_empty(s),
                None => global,
            };
            let multipart = op["requestBody"]["content"]
                .as_object()
                .is_some_and(|c| c.keys().all(|k| k.starts_with("multipart/")));
            ops.push(Operation {
                method,
                path: path.clone(),
                secured,
                multipart,
            });
        }
    }
    ops
}

fn is_empty(security: &Value) -> bool {
    security.as_array().is_none_or(|a| a.is_empty())
}

fn who(op: &Operation) -> &'static [Role] {
    WHO.iter()
        .find(|(key, _)| *key == op.key())
        .map(|(_, roles)| *roles)
        .unwrap_or_else(|| {
            panic!(
                "{} is not in the role matrix: add it to WHO (tests/api/role_matrix.rs) with the \
                 roles CLIENT-CONTRACT gives it",
                op.key()
            )
        })
}

/// The table and the document name the same operations and agree on which are protected.
#[test]
fn the_table_covers_every_operation_of_the_document() {
    let ops = operations();
    assert!(ops.len() >= WHO.len() / 2, "a document with operations");
    for op in &ops {
        let roles = who(op);
        assert_eq!(
            op.secured,
            !roles.is_empty(),
            "{}: the document's security requirement and the table disagree",
            op.key()
        );
    }
    let documented: BTreeSet<String> = ops.iter().map(Operation::key).collect();
    for (key, _) in WHO {
        assert!(
            documented.contains(*key),
            "{key} is in the role matrix but not in the document"
        );
    }
}

async fn send(app: &TestApp, op: &Operation, authorization: Option<&str>) -> Res {
    let mut call = app.send(op.method.clone(), &op.concrete_path());
    if let Some(value) = authorization {
        call = call.authorization(value);
    }
    if op.multipart {
        call = call.multipart(&[], None);
    } else if op.method != Method::GET && op.method != Method::DELETE {
        call = call.json(&json!({}));
    }
    call.await
}

async fn every_secured_operation_checks_token_and_role(db: Db) {
    let app = TestApp::start(db).await;
    let teacher = app.stored_teacher("Matrix Teacher").await;
    app.class(&teacher.token, "Blue Group").await;
    let student = app.student_of(&teacher.token, "Blue Group", "531975").await;
    let tokens = [
        (SuperAdmin, app.super_admin().await.token),
        (Admin, app.stored_admin().await.token),
        (Teacher, teacher.token.clone()),
        (Student, student.token.clone()),
    ];
    let mut checked = 0;
    for op in operations().iter().filter(|op| op.secured) {
        let admitted = who(op);
        let res = send(&app, op, None).await;
        assert_eq!(
            res.status,
            401,
            "{} without a token: {}",
            op.key(),
            res.text
        );
        res.status(401);
        let res = send(&app, op, Some("Bearer undefined")).await;
        assert_eq!(
            res.status,
            400,
            "{} with `Bearer undefined`: {}",
            op.key(),
            res.text
        );
        res.status(400);
        for (role, token) in &tokens {
            if admitted.contains(role) {
                continue;
            }
            let res = send(&app, op, Some(&format!("Bearer {token}"))).await;
            assert_eq!(res.status, 403, "{} as {role:?}: {}", op.key(), res.text);
            res.status(403);
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} wrong-role calls");
}

on_both_stores!(every_secured_operation_checks_token_and_role);
