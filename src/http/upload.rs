//! Uploaded images (CLIENT-CONTRACT §6): the multipart field `image` of `PATCH /teacher`,
//! `PATCH /admin` and `POST /preset/upload`. An image is accepted by what its bytes are (PNG or
//! JPEG signature), never by its file name or the content type the client claims, and is stored
//! under a fresh random name. Serving is in [`super::images`].

use poem_openapi::types::multipart::Upload;
use tokio::io::AsyncReadExt;

use super::{ApiError, ApiResult};
use crate::domain::Millis;
use crate::store::{Files, StoredFile};

/// Largest accepted image: 5 MiB, enough for a phone photo the app has already resized. It must
/// stay below the global `MAX_BODY_BYTES` (default 6 MiB) with room for the multipart framing and
/// the other fields, so that an oversized image gets this sentence rather than the generic one.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// What a teacher's or admin's `profile` is until they upload a picture (it is never null).
pub const DEFAULT_AVATAR: &str = "/images/default-avatar.png";

/// Where stored images are served; every stored path starts with it.
pub const IMAGES_PREFIX: &str = "/images/";

/// Hex characters in a random name: 128 bits from the CSPRNG, so names cannot be guessed.
const RANDOM_HEX_LEN: usize = 32;

const FIELD: &str = "image";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
}

impl ImageKind {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
        }
    }

    fn from_extension(ext: &str) -> Option<Self> {
        [ImageKind::Png, ImageKind::Jpeg]
            .into_iter()
            .find(|k| k.extension() == ext)
    }
}

/// The kind of image `bytes` are, by their signature: PNG `89 50 4E 47 0D 0A 1A 0A`, JPEG `FF D8 FF`.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    const JPEG: &[u8] = b"\xFF\xD8\xFF";
    if bytes.starts_with(PNG) {
        Some(ImageKind::Png)
    } else if bytes.starts_with(JPEG) {
        Some(ImageKind::Jpeg)
    } else {
        None
    }
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "The image is too large. Please choose one of at most {} MB.",
        MAX_IMAGE_BYTES / (1024 * 1024)
    ))
}

/// Validates and stores an uploaded image; returns its public path "/images/<random>.<ext>".
pub async fn store_image(files: &dyn Files, upload: Upload, now: Millis) -> ApiResult<String> {
    // poem-openapi has already spooled the part to a temporary file, so its size is known before
    // anything is read into memory.
    if upload.size() > MAX_IMAGE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(upload.size());
    // One byte over the limit is enough to tell, whatever the size said.
    upload
        .into_async_read()
        .take(MAX_IMAGE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ApiError::Internal(format!("cannot read the uploaded image: {e}")))?;
    store_image_bytes(files, bytes, now).await
}

/// [`store_image`] for bytes already in memory; `now` is the upload date.
pub async fn store_image_bytes(
    files: &dyn Files,
    bytes: Vec<u8>,
    now: Millis,
) -> ApiResult<String> {
    if bytes.is_empty() {
        return Err(ApiError::field(FIELD, "The image is empty."));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_large());
    }
    let kind = sniff(&bytes)
        .ok_or_else(|| ApiError::field(FIELD, "The image must be a PNG or JPEG file."))?;
    let name = random_name(kind);
    let content_type = kind.content_type().to_owned();
    files
        .put(
            &name,
            StoredFile {
                content_type,
                bytes,
            },
            now,
        )
        .await?;
    Ok(format!("{IMAGES_PREFIX}{name}"))
}

/// `<32 hex chars>.<ext>`, from the thread-local CSPRNG (ChaCha, seeded from the OS).
fn random_name(kind: ImageKind) -> String {
    use rand::RngCore;
    let mut raw = [0u8; RANDOM_HEX_LEN / 2];
    rand::rng().fill_bytes(&mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.{}", kind.extension())
}

/// The kind of a name [`store_image`] could have produced (`<32 lowercase hex>.png|jpg`), or
/// `None`: anything else (traversal, slashes, other extensions) is refused before storage.
pub fn stored_name_kind(name: &str) -> Option<ImageKind> {
    let (stem, ext) = name.split_once('.')?;
    let random = stem.len() == RANDOM_HEX_LEN
        && stem
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    random.then(|| ImageKind::from_extension(ext)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_signature_only() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n rest"), Some(ImageKind::Png));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0 JFIF"), Some(ImageKind::Jpeg));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"\x89PNG"), None, "a truncated signature");
        assert_eq!(sniff(b"<svg/>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn random_names_are_what_the_route_accepts() {
        let a = random_name(ImageKind::Png);
        let b = random_name(ImageKind::Jpeg);
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(stored_name_kind(&a), Some(ImageKind::Png));
        assert_eq!(stored_name_kind(&b), Some(ImageKind::Jpeg));
    }

    #[test]
    fn only_random_names_are_stored_names() {
        let hex = "0123456789abcdef0123456789abcdef";
        for bad in [
            format!("{hex}.gif"),
            format!("{hex}.jpeg"),
            format!("{hex}.png.png"),
            format!("{}.png", hex.to_uppercase()),
            format!("../{hex}.png"),
            format!("{}.png", &hex[1..]),
            "default-avatar.png".to_owned(),
            "..".to_owned(),
            String::new(),
        ] {
            assert_eq!(stored_name_kind(&bad), None, "{bad:?} accepted");
        }
    }
}
