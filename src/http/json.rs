//! The JSON payload of our routes. A request body is parsed exactly as poem-openapi's `Json`
//! parses it (its rules, its errors); a response is written by serde straight to bytes.
//! poem-openapi's `Json` answers through `ToJSON`, which builds a `serde_json::Value` tree (one
//! map and one `String` key per field of every row) only to serialise and drop it: ~70% of the
//! instructions of a 50-row list (issue 13, `benches/profile.py`).
//!
//! The OpenAPI document still comes from the types' `Object` derives, so it is unchanged; the
//! bytes must be those `ToJSON` would give. The response types derive `serde::Serialize` with the
//! same names and skip rules as their `#[oai]` attributes; `wire_equality` tests every one of them,
//! and debug builds (the test suite) compare both renderings of every response they send.

use std::ops::{Deref, DerefMut};

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Request, RequestBody, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use serde::Serialize;

/// A JSON request or response body; handlers use it as they used poem-openapi's `Json`.
#[derive(Debug, Clone, Eq, PartialEq, Default)]
pub struct Json<T>(pub T);

type Theirs<T> = poem_openapi::payload::Json<T>;

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Type> Payload for Json<T> {
    const CONTENT_TYPE: &'static str = Theirs::<T>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        Theirs::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        Theirs::<T>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Theirs<T> as Payload>::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for Json<T> {
    const IS_REQUIRED: bool = Theirs::<T>::IS_REQUIRED;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Json(Theirs::<T>::from_request(request, body).await?.0))
    }
}

poem_openapi::impl_apirequest_for_payload!(Json<T>, T: ParseFromJSON);

impl<T: ToJSON + Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let bytes = match to_bytes(&self.0) {
            Ok(bytes) => bytes,
            // Only a failing `Serialize` impl (none of ours fails): the same answer poem gives.
            Err(e) => {
                return Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .body(e.to_string());
            }
        };
        #[cfg(debug_assertions)]
        assert_same_as_to_json(&self.0, &bytes);
        // A constant (the same for every `T`): a `&str` value is checked and copied into a new
        // header value per response.
        const JSON: HeaderValue = HeaderValue::from_static(<Theirs<bool> as Payload>::CONTENT_TYPE);
        Response::builder()
            .header(header::CONTENT_TYPE, JSON)
            .body(bytes)
    }
}

impl<T: ToJSON + Serialize> ApiResponse for Json<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// The body as serde writes it.
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    // Most bodies are a few hundred bytes; a list grows it a few times, not once per field.
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, value)?;
    Ok(out)
}

/// The body as poem-openapi's `Json` would write it.
pub fn to_json_bytes<T: ToJSON + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(&value.to_json()).expect("a serde_json::Value always serialises")
}

/// A drift between a type's `#[serde]` and `#[oai]` attributes fails the request that shows it,
/// in every test that sends one.
#[cfg(debug_assertions)]
fn assert_same_as_to_json<T: ToJSON + ?Sized>(value: &T, bytes: &[u8]) {
    let expected = to_json_bytes(value);
    assert!(
        expected == bytes,
        "serde and ToJSON disagree on {}:\n serde:  {}\n ToJSON: {}",
        std::any::type_name::<T>(),
        String::from_utf8_lossy(bytes),
        String::from_utf8_lossy(&expected),
    );
}
