//! `/preset/*`: the image library admins curate (avatars students pick, icons teachers give
//! categories and rewards). The app reads one type whole; the dashboard pages through all of them,
//! uploads and deletes.

use poem_openapi::types::multipart::Upload;
use poem_openapi::{Multipart, OpenApi};

use super::ApiTags;
use super::listing::listed;
use super::views::PresetView;
use crate::domain::content::PresetType;
use crate::domain::{Admin, Id, Preset};
use crate::http::auth::{Auth, ById, Member};
use crate::http::input::required;
use crate::http::paged::Paged;
use crate::http::upload::{IMAGES_PREFIX, store_image, stored_name_kind};
use crate::http::{ApiError, ApiResult, Reply, ok};
use crate::state::AppState;

pub struct PresetApi;

/// `POST /preset/upload`: the dashboard's form.
#[derive(Multipart)]
struct UploadPresetForm {
    /// `avatar` or `icon` (any case; stored lower-case).
    #[oai(rename = "type")]
    kind: Option<String>,
    /// A PNG or JPEG of at most 5 MB.
    image: Option<Upload>,
}

fn preset_not_found() -> ApiError {
    ApiError::NotFound("Preset not found.".into())
}

/// `type` as the dashboard sends it: `avatar` or `icon` in any case.
fn preset_type(raw: Option<&str>) -> ApiResult<PresetType> {
    let raw = required("type", raw)?;
    PresetType::parse(&raw.to_ascii_lowercase())
        .ok_or_else(|| ApiError::field("type", "type must be either \"avatar\" or \"icon\""))
}

/// Deletes the stored file behind a preset's `image`, if it is one of our uploads (a random name;
/// never the default avatar or an outside URL). A failure leaves a harmless orphan file and a log
/// line: the preset itself is already gone, which is what the admin asked for.
async fn forget_file(state: &AppState, image: &str) {
    let Some(name) = image.strip_prefix(IMAGES_PREFIX) else {
        return;
    };
    if stored_name_kind(name).is_none() {
        return;
    }
    if let Err(e) = state.store.files.delete(name).await {
        tracing::warn!(error = %e, file = name, "could not delete a preset's image");
    }
}

async fn of_type(state: &AppState, kind: PresetType) -> Reply<Vec<PresetView>> {
    let all = state.store.presets.list_by_type(kind).await?;
    let view = all.iter().map(PresetView::from).collect::<Vec<_>>();
    ok("Presets retrieved successfully", view)
}

#[OpenApi(tag = "ApiTags::Preset")]
impl PresetApi {
    /// Every avatar preset, oldest first (not paginated), for teachers and students.
    #[oai(path = "/preset/avatar", method = "get")]
    async fn avatars(&self, auth: Auth<'_, Member>) -> Reply<Vec<PresetView>> {
        of_type(auth.state, PresetType::Avatar).await
    }

    /// Every icon preset, oldest first (not paginated), for teachers and students.
    #[oai(path = "/preset/icon", method = "get")]
    async fn icons(&self, auth: Auth<'_, Member>) -> Reply<Vec<PresetView>> {
        of_type(auth.state, PresetType::Icon).await
    }

    /// Every preset of both types, newest first, 10 a page (admins).
    #[oai(path = "/preset", method = "get")]
    async fn list(&self, page: Paged<'_, Admin>) -> Reply<Vec<PresetView>> {
        let q = page.query(None);
        let found = page.auth.state.store.presets.list(&q).await?;
        listed("Presets retrieved successfully", &q, &found)
    }

    /// Uploads a preset image (admins); `data` is the new preset.
    #[oai(path = "/preset/upload", method = "post")]
    async fn upload(&self, auth: Auth<'_, Admin>, form: UploadPresetForm) -> Reply<PresetView> {
        let state = auth.state;
        // Every field is checked before the file is stored, so a refused form leaves no file.
        let kind = preset_type(form.kind.as_deref())?;
        let image = form.image.ok_or_else(|| {
            ApiError::field("image", "image is required: choose a PNG or JPEG file")
        })?;
        let path = store_image(state.store.files.as_ref(), image, state.clock.now()).await?;
        let now = state.clock.now();
        let preset = Preset {
            id: Id::generate(),
            image: path,
            kind,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        if let Err(e) = state.store.presets.insert(&preset).await {
            // No preset points at the file: do not keep it.
            forget_file(state, &preset.image).await;
            return Err(e.into());
        }
        ok("Preset uploaded successfully", &preset)
    }

    /// Deletes a preset and its image file (admins); `data` is the deleted preset.
    #[oai(path = "/preset/delete/:id", method = "delete")]
    async fn delete(&self, id: ById<'_, Admin, Preset>) -> Reply<PresetView> {
        let ById { auth, id, .. } = id;
        let state = auth.state;
        // The record first: if the file cannot be deleted after it, an orphan file is harmless,
        // whereas a preset whose file is gone would show a broken image in every picker.
        let preset = state
            .store
            .presets
            .delete(&id)
            .await?
            .ok_or_else(preset_not_found)?;
        forget_file(state, &preset.image).await;
        ok("Preset deleted successfully", &preset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_in_any_case() {
        assert_eq!(preset_type(Some(" Avatar ")).unwrap(), PresetType::Avatar);
        assert_eq!(preset_type(Some("ICON")).unwrap(), PresetType::Icon);
        for bad in [None, Some(""), Some("badge"), Some("avatars")] {
            assert!(preset_type(bad).is_err(), "{bad:?}");
        }
    }
}
