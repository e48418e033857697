//! The HTTP edge: the response envelope, the one place errors become responses, and middleware.

pub mod envelope;
pub mod error;
pub mod images;
pub mod middleware;
pub mod upload;

pub use envelope::{Envelope, Pagination};
pub use error::{ApiError, ApiResult};
