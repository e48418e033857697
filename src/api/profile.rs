//! What the profile-editing routes share.

use crate::app::AppState;
use crate::http::upload::{IMAGES_PREFIX, stored_name_kind};

/// Deletes a replaced profile picture that we stored (never the default avatar or a preset, which
/// are not random names). A failure leaves an orphan file, which is harmless: it is logged only.
pub async fn forget_old_image(state: &AppState, old: Option<&str>) {
    let Some(name) = old.and_then(|p| p.strip_prefix(IMAGES_PREFIX)) else {
        return;
    };
    if stored_name_kind(name).is_none() {
        return;
    }
    if let Err(e) = state.store.files.delete(name).await {
        tracing::warn!(error = %e, file = name, "could not delete a replaced profile picture");
    }
}
