//! What admins publish (presets, rules), feedback, and who uploaded which file.

use crate::domain::content::{PresetType, RuleType};
use crate::domain::{Feedback, Id, Millis, Preset, Rule};
use crate::store::StoreResult;

use super::{ListQuery, Page};

#[async_trait::async_trait]
pub trait Presets: Send + Sync {
    async fn insert(&self, preset: &Preset) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Preset>>;
    /// Every preset of one type, oldest first (upload order, so that a picker keeps its order
    /// as admins add images).
    async fn list_by_type(&self, kind: PresetType) -> StoreResult<Vec<Preset>>;
    /// Every preset, newest first (`search` is ignored).
    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Preset>>;
    /// Deletes the preset and returns it; `None` when there was none.
    async fn delete(&self, id: &Id) -> StoreResult<Option<Preset>>;
    /// Whether some preset shows `image` (a public path), so that code deleting an upload it no
    /// longer needs leaves a preset's file alone.
    async fn uses_image(&self, image: &str) -> StoreResult<bool>;
}

/// Who uploaded each stored file (profile pictures), so that code deleting an upload it no longer
/// needs deletes only the caller's own: a profile may point at anyone's file.
#[async_trait::async_trait]
pub trait Uploads: Send + Sync {
    /// Records `owner` as the uploader of file `name` (replacing any record of that name).
    async fn record(&self, name: &str, owner: &Id, at: Millis) -> StoreResult<()>;
    /// The uploader of `name`; `None` for files without a record (presets, older uploads).
    async fn owner(&self, name: &str) -> StoreResult<Option<Id>>;
    async fn forget(&self, name: &str) -> StoreResult<()>;
}

#[async_trait::async_trait]
pub trait Rules: Send + Sync {
    async fn get(&self, kind: RuleType) -> StoreResult<Option<Rule>>;
    /// Creates the rule of this type (`__v` 0) or replaces its content (bumping `updatedAt` and
    /// `__v`). There is never more than one document per type, even under concurrent calls.
    async fn upsert(&self, kind: RuleType, content: &str, now: Millis) -> StoreResult<Rule>;
}

#[async_trait::async_trait]
pub trait Feedbacks: Send + Sync {
    async fn insert(&self, feedback: &Feedback) -> StoreResult<()>;
    /// No route reads feedback back yet (the contract has none); this is for operators' tools and
    /// the storage contract tests.
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Feedback>>;
}
