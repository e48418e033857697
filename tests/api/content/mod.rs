//! Preset images, rules and feedback: the storage contract and the HTTP routes, on both storage
//! adapters, through `crate::support`'s `TestApp`.

mod http;
mod store_contract;

use educoin::config::DatabaseConfig;
use secrecy::ExposeSecret;

use crate::support::TestApp;
use crate::support::store::database;

/// How many files the server's store holds (uploads directory or GridFS), to prove that a
/// refused upload left none behind.
pub async fn stored_files(api: &TestApp) -> usize {
    match &api.state.config.database {
        DatabaseConfig::Sqlite { path } => {
            match std::fs::read_dir(path.with_file_name("uploads")) {
                Ok(entries) => entries.count(),
                Err(_) => 0,
            }
        }
        DatabaseConfig::Mongo { url } => {
            let n = database(url.expose_secret())
                .await
                .collection::<mongodb::bson::Document>("images.files")
                .count_documents(mongodb::bson::doc! {})
                .await
                .unwrap();
            n as usize
        }
    }
}
