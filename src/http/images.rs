//! `GET /images/<file>`: uploaded images (and the default avatar) from the server root, where the
//! clients expect them (CLIENT-CONTRACT §1, §6).
//!
//! - Only names [`store_image`](super::upload::store_image) produces are looked up; any other
//!   name (traversal, `..`, encoded slashes, other extensions) is a 404 without touching storage.
//! - Stored names are random and never reused for other bytes, so responses are cacheable for a
//!   year as `immutable`. The default avatar keeps one URL across releases, so it gets a day.
//! - The route is not in the OpenAPI document: it lives outside `/api/v1`, returns raw bytes
//!   rather than the envelope, and its URLs come from `profile` fields rather than from a client
//!   building them.

use poem::http::{HeaderValue, header};
use poem::web::{Data, Path};
use poem::{Response, handler};

use super::upload::{DEFAULT_AVATAR, IMAGES_PREFIX, stored_name_kind};
use super::{ApiError, ApiResult};
use crate::state::AppState;

/// The default avatar is part of the build, so it is served whatever the working directory.
const DEFAULT_AVATAR_PNG: &[u8] = include_bytes!("../../public/default-avatar.png");

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const ONE_DAY: &str = "public, max-age=86400";

fn not_found() -> ApiError {
    ApiError::NotFound("Image not found".to_owned())
}

fn image(content_type: &str, cache: &'static str, bytes: Vec<u8>) -> Response {
    Response::builder()
        .content_type(content_type)
        .header(header::CACHE_CONTROL, HeaderValue::from_static(cache))
        .body(bytes)
}

#[handler]
pub async fn serve(Path(file): Path<String>, state: Data<&AppState>) -> ApiResult<Response> {
    if DEFAULT_AVATAR.strip_prefix(IMAGES_PREFIX) == Some(file.as_str()) {
        return Ok(image("image/png", ONE_DAY, DEFAULT_AVATAR_PNG.to_vec()));
    }
    if stored_name_kind(&file).is_none() {
        return Err(not_found());
    }
    // Streamed: a client that reads slowly holds a chunk, not the whole image (100 clients that
    // never read a 4.9 MB image used to pin 847 MiB).
    let stored = state.store.files.open(&file).await?.ok_or_else(not_found)?;
    Ok(Response::builder()
        .content_type(&stored.content_type)
        .header(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE))
        .header(header::CONTENT_LENGTH, stored.length)
        .body(poem::Body::from_bytes_stream(stored.chunks)))
}
