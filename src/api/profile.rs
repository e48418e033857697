//! What the profile-editing routes share.

use crate::app::AppState;
use crate::http::upload::{IMAGES_PREFIX, stored_name_kind};

/// Deletes a replaced profile picture that we stored (never the default avatar, which is not a
/// random name, nor a preset's image: preset uploads have random names too, and a profile can
/// point at one, e.g. a Google sign-up's `profile`). A failure leaves an orphan file, which is
/// harmless: it is logged only.
pub async fn forget_old_image(state: &AppState, old: Option<&str>) {
    let Some((path, name)) = old.and_then(|p| Some((p, p.strip_prefix(IMAGES_PREFIX)?))) else {
        return;
    };
    if stored_name_kind(name).is_none() {
        return;
    }
    match state.store.presets.uses_image(path).await {
        Ok(false) => {}
        Ok(true) => return,
        Err(e) => {
            // When in doubt, keep the file: an orphan is harmless, a preset without its image is not.
            tracing::warn!(error = %e, file = name, "could not check whether a replaced profile picture is a preset");
            return;
        }
    }
    if let Err(e) = state.store.files.delete(name).await {
        tracing::warn!(error = %e, file = name, "could not delete a replaced profile picture");
    }
}
