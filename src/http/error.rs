//! Every error a client can see, and the single mapping from errors to the contract's envelope.
//! Handlers return `ApiError`; anything else that fails (an unknown route, a body poem-openapi
//! could not parse, a panic) is turned into the same envelope by [`into_envelope`].

use std::time::Duration;

use poem::Response;
use poem::http::{HeaderValue, StatusCode, header};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;

use super::envelope::{ErrorBody, ErrorMessage};
use crate::auth::limits::LimitError;
use crate::auth::principal::AuthError;
use crate::cache::CacheError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; `errors` say which fields and why.
    #[error("{message}")]
    Validation {
        message: String,
        errors: Vec<ErrorMessage>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("Too many requests. Please wait and try again.")]
    RateLimited { retry_after: Duration },
    /// Too many requests are waiting for password hashing; the client may retry after the pause.
    #[error("The server is busy. Please try again in a moment.")]
    Busy { retry_after: Duration },
    /// A dependency (database, cache, mail) is down; the client may retry.
    #[error("The service is temporarily unavailable. Please try again shortly.")]
    Unavailable(String),
    /// An optional integration this route needs is not configured; the message names the settings.
    #[error("{0}")]
    NotConfigured(String),
    /// A bug or an unexpected state. The detail is logged, never sent.
    #[error("Something went wrong on our side. Please try again.")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn field(path: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::Validation {
            message: message.clone(),
            errors: vec![ErrorMessage {
                path: path.to_owned(),
                message,
            }],
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::NotConfigured(_) | ApiError::Busy { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorBody {
        let message = self.to_string();
        let error_messages = match self {
            ApiError::Validation { errors, .. } => errors.clone(),
            _ => vec![ErrorMessage {
                path: String::new(),
                message: message.clone(),
            }],
        };
        ErrorBody {
            success: false,
            message,
            error_messages,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => ApiError::Conflict(capitalize(&e.to_string())),
            StoreError::Unavailable(_) => ApiError::Unavailable(e.detail()),
            StoreError::Backend(_) => ApiError::Internal(e.detail()),
        }
    }
}

impl From<CacheError> for ApiError {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::Unavailable(detail) => ApiError::Unavailable(detail),
        }
    }
}

impl From<LimitError> for ApiError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            LimitError::Cache(e) => e.into(),
        }
    }
}

/// The contract's status for each authentication failure (CLIENT-CONTRACT §1).
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(e) => e.into(),
            e => match e.status() {
                400 => ApiError::BadRequest(e.to_string()),
                403 => ApiError::Forbidden(e.to_string()),
                _ => ApiError::Unauthorized(e.to_string()),
            },
        }
    }
}

impl From<crate::auth::passwords::Busy> for ApiError {
    fn from(e: crate::auth::passwords::Busy) -> Self {
        ApiError::Busy {
            retry_after: e.retry_after,
        }
    }
}

/// How the OpenAPI document describes an error answer: the error envelope with this status.
pub fn error_response(status: u16, description: &'static str) -> MetaResponse {
    MetaResponse {
        description,
        status: Some(status),
        status_range: None,
        content: vec![MetaMediaType {
            content_type: "application/json; charset=utf-8",
            schema: ErrorBody::schema_ref(),
        }],
        headers: vec![],
    }
}

pub use crate::error_chain::chain;

pub(crate) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn json_response(status: StatusCode, body: &ErrorBody) -> Response {
    let json = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(json)
}

impl From<crate::mail::MailError> for ApiError {
    fn from(e: crate::mail::MailError) -> Self {
        match e {
            crate::mail::MailError::Disabled => ApiError::NotConfigured(e.to_string()),
            other => ApiError::Unavailable(chain(&other)),
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        match self {
            ApiError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            ApiError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "dependency unavailable")
            }
            _ => {}
        }
        let mut resp = json_response(self.status(), &self.body());
        if let ApiError::RateLimited { retry_after } | ApiError::Busy { retry_after } = self {
            let secs = retry_after.as_secs().max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// Documents the error envelope for every status a handler can return.
impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let statuses: [(u16, &'static str); 8] = [
            (
                400,
                "The request is malformed; `errorMessages` says which fields and why.",
            ),
            (401, "Missing, expired or revoked credentials."),
            (403, "Authenticated, but this role may not do this."),
            (404, "No such record (or it belongs to someone else)."),
            (409, "The request conflicts with the current state."),
            (429, "Rate limited; see the Retry-After header."),
            (500, "An unexpected error on the server."),
            (
                503,
                "A dependency is unavailable or too many requests wait for password hashing (retry \
                 later, after `Retry-After` when given), or an optional integration this route \
                 needs is not configured (the message names the settings).",
            ),
        ];
        MetaResponses {
            responses: statuses
                .into_iter()
                .map(|(status, description)| error_response(status, description))
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

/// Turns any error that reached the edge into the envelope. `ApiError`s keep their own answer;
/// poem's and poem-openapi's errors (unknown route, unparsable body, wrong content type, ...) get a
/// sentence a person understands, and server errors never carry their details.
pub fn into_envelope(err: poem::Error, path: &str) -> Response {
    if err.is::<ApiError>() {
        return err.into_response();
    }
    let status = err.status();
    let (message, detail_path) = match status {
        StatusCode::NOT_FOUND => ("API Not Found".to_owned(), path.to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "This method is not allowed on this route".to_owned(),
            path.to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("The request body is too large".to_owned(), String::new())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (format!("Unsupported content type: {err}"), String::new())
        }
        s if s.is_client_error() => (format!("Invalid request: {err}"), String::new()),
        _ => {
            tracing::error!(error = %err, status = status.as_u16(), "unhandled server error");
            return ApiError::Internal(err.to_string()).as_response_for_status(status);
        }
    };
    let body = ErrorBody {
        success: false,
        message: message.clone(),
        error_messages: vec![ErrorMessage {
            path: detail_path,
            message,
        }],
    };
    json_response(status, &body)
}

impl ApiError {
    fn as_response_for_status(&self, status: StatusCode) -> Response {
        json_response(status, &self.body())
    }
}
