//! The HTTP edge: the response envelope, the one place errors become responses, and middleware.

pub mod auth;
pub mod client_ip;
pub mod envelope;
pub mod error;
pub mod fields;
pub mod images;
pub mod input;
pub mod json;
pub mod middleware;
pub mod operations;
pub mod paged;
pub mod reply;
pub mod server;
pub mod upload;

pub use envelope::{Done, Envelope, Pagination, done};
pub use error::{ApiError, ApiResult};
pub use json::Json;
pub use reply::{Reply, ok};
