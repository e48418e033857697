//! Preset images, rules and feedback: the storage contract and the HTTP routes, on both storage
//! adapters. The HTTP tests go through the accounts tests' [`Api`](crate::accounts::Api), which
//! checks every response for password hashes and builds the dashboard's multipart forms.

mod http;
mod store_contract;

use educoin::config::DatabaseConfig;
use educoin::domain::{Admin, AdminRole, Id, Millis, Role};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::accounts::Api;

/// One signed-in caller of each role.
pub struct Callers {
    pub super_admin: String,
    pub admin: String,
    pub teacher: String,
    pub teacher_id: String,
    pub student: String,
    pub student_id: String,
}

/// A super admin (logged in), an admin (written through the store), a teacher (signed up and
/// logged in) and one of its students (created through the app's route).
pub async fn callers(api: &Api) -> Callers {
    let super_admin = api.super_admin().await.token;

    let admin_id = Id::generate();
    let now = Millis::now();
    api.app
        .state
        .store
        .admins
        .insert(&Admin {
            id: admin_id.clone(),
            name: "Dash Admin".into(),
            email: "dash@quokki.test".into(),
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
    let admin = api
        .app
        .state
        .auth
        .access
        .issue(&admin_id, Role::Admin, Some("dash@quokki.test"));

    let t = api.teacher("Pia Teacher").await;
    let kid = api
        .create_student(&t.token, "Kid", json!("482913"), "Class 1")
        .await;
    let student_id = kid["_id"].as_str().unwrap().to_owned();
    let student =
        api.app
            .state
            .auth
            .access
            .issue(&Id::parse(&student_id).unwrap(), Role::Student, None);
    Callers {
        super_admin,
        admin,
        teacher: t.token,
        teacher_id: t.id,
        student,
        student_id,
    }
}

/// How many files the server's store holds (uploads directory or GridFS), to prove that a
/// refused upload left none behind.
pub async fn stored_files(api: &Api) -> usize {
    match &api.app.state.config.database {
        DatabaseConfig::Sqlite { path } => {
            match std::fs::read_dir(path.with_file_name("uploads")) {
                Ok(entries) => entries.count(),
                Err(_) => 0,
            }
        }
        DatabaseConfig::Mongo { url } => {
            let client = mongodb::Client::with_uri_str(url.expose_secret())
                .await
                .unwrap();
            let n = client
                .default_database()
                .expect("the test URL names a database")
                .collection::<mongodb::bson::Document>("images.files")
                .count_documents(mongodb::bson::doc! {})
                .await
                .unwrap();
            n as usize
        }
    }
}
