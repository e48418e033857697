//! Push notifications through Firebase Cloud Messaging's HTTP v1 API (issue 15). Socket.IO stays
//! the in-app channel; this reaches devices whose app is closed.
//!
//! - `account.rs`: the service-account key (base64 JSON) and the RS256 assertion it signs;
//! - `token.rs`: the OAuth access token, cached until shortly before it expires, one refresh at
//!   a time;
//! - `message.rs`: the FCM v1 `Message` for one notification and one device;
//! - `client.rs`: sends one message and classifies FCM's answer.
//!
//! The durable outbox and its worker are `store::Push` and `jobs::push_worker`.

pub mod account;
pub mod client;
pub mod message;
pub mod token;

pub use account::ServiceAccount;
pub use client::{Fcm, Outcome};
