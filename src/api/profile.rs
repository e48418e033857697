//! What the profile-editing routes share.

use poem_openapi::types::multipart::Upload;

use crate::domain::Id;
use crate::http::ApiResult;
use crate::http::upload::{IMAGES_PREFIX, store_image, stored_name_kind};
use crate::state::AppState;

/// Stores a new profile picture of `owner` and records it as theirs, so that replacing it later
/// deletes it (and replacing anything else deletes nothing). Returns its public path.
pub async fn store_own_image(state: &AppState, owner: &Id, image: Upload) -> ApiResult<String> {
    let path = store_image(state.store.files.as_ref(), image, state.clock.now()).await?;
    let name = path.strip_prefix(IMAGES_PREFIX).unwrap_or(&path);
    if let Err(e) = state
        .store
        .uploads
        .record(name, owner, state.clock.now())
        .await
    {
        // Unrecorded, it could never be cleaned up by its owner: give it up now.
        if let Err(e) = state.store.files.delete(name).await {
            tracing::warn!(error = %e, file = name, "could not delete an unrecorded upload");
        }
        return Err(e.into());
    }
    Ok(path)
}

/// Deletes a replaced profile picture if `owner` uploaded it (never the default avatar, a preset's
/// image, or anyone else's upload: a profile can point at any path, e.g. a Google sign-up's
/// `profile`). A failure leaves an orphan file, which is harmless: it is logged only.
pub async fn forget_old_image(state: &AppState, owner: &Id, old: Option<&str>) {
    let Some((path, name)) = old.and_then(|p| Some((p, p.strip_prefix(IMAGES_PREFIX)?))) else {
        return;
    };
    if stored_name_kind(name).is_none() {
        return;
    }
    match state.store.uploads.owner(name).await {
        Ok(Some(uploader)) if uploader == *owner => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, file = name, "could not check who uploaded a replaced profile picture");
            return;
        }
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
    match state.store.files.delete(name).await {
        Ok(_) => {
            if let Err(e) = state.store.uploads.forget(name).await {
                tracing::warn!(error = %e, file = name, "could not forget a deleted upload");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, file = name, "could not delete a replaced profile picture")
        }
    }
}
