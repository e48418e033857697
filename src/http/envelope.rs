//! The JSON shapes every client reads (CLIENT-CONTRACT §1).

use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use serde::Serialize;

use super::json::Json;

/// `{"success": true, "message": "...", "data": ..., "pagination": {...}}`.
#[derive(Object, Debug, Serialize)]
pub struct Envelope<T: ParseFromJSON + ToJSON> {
    pub success: bool,
    /// A sentence for a person.
    pub message: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    /// Only on list routes.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    /// Only on login and refresh: the refresh token (old clients ignore it).
    #[oai(rename = "refreshToken", skip_serializing_if_is_none)]
    #[serde(rename = "refreshToken", skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Only on `GET /notifications`: how many are unread.
    #[oai(rename = "totalNotification", skip_serializing_if_is_none)]
    #[serde(rename = "totalNotification", skip_serializing_if = "Option::is_none")]
    pub total_notification: Option<u64>,
}

#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pagination {
    pub page: u64,
    pub limit: u64,
    pub total: u64,
    #[oai(rename = "totalPage")]
    #[serde(rename = "totalPage")]
    pub total_page: u64,
}

impl Pagination {
    pub fn new(page: u64, limit: u64, total: u64) -> Self {
        Pagination {
            page,
            limit,
            total,
            total_page: total.div_ceil(limit.max(1)),
        }
    }
}

impl<T: ParseFromJSON + ToJSON> Envelope<T> {
    pub fn ok(message: impl Into<String>, data: T) -> Json<Self> {
        Json(Envelope {
            success: true,
            message: message.into(),
            data: Some(data),
            pagination: None,
            refresh_token: None,
            total_notification: None,
        })
    }

    pub fn page(message: impl Into<String>, data: T, pagination: Pagination) -> Json<Self> {
        let mut envelope = Self::ok(message, data);
        envelope.0.pagination = Some(pagination);
        envelope
    }
}

/// A success with nothing to return.
pub type Done = Json<Envelope<Empty>>;

/// No data: the envelope's `data` is omitted.
#[derive(Object, Debug, Serialize)]
pub struct Empty {}

pub fn done(message: impl Into<String>) -> Done {
    Json(Envelope {
        success: true,
        message: message.into(),
        data: None,
        pagination: None,
        refresh_token: None,
        total_notification: None,
    })
}

/// `{"success": false, "message": "...", "errorMessages": [{"path": "...", "message": "..."}]}`.
#[derive(Object, Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub success: bool,
    pub message: String,
    #[oai(rename = "errorMessages")]
    #[serde(rename = "errorMessages")]
    pub error_messages: Vec<ErrorMessage>,
}

#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorMessage {
    /// The field (or URL path) the message is about; empty when it is about the whole request.
    pub path: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_pages_round_up() {
        assert_eq!(Pagination::new(1, 10, 0).total_page, 0);
        assert_eq!(Pagination::new(1, 10, 10).total_page, 1);
        assert_eq!(Pagination::new(1, 10, 11).total_page, 2);
    }
}
