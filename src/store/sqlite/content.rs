//! Preset images, rules and feedback on SQLite.

use rusqlite::{OptionalExtension, params};

use super::{Cached, Rows, table};
use crate::domain::content::{PresetType, RuleType};
use crate::domain::{Feedback, Id, Millis, Preset, Rule};
use crate::store::rows::shared_rows;
use crate::store::{Feedbacks, ListQuery, Page, Presets, Rules, StoreResult};

// ---------------------------------------------------------------------------------------------
// Presets

table!(PRESETS: Preset = "presets" (
    "id, type, image, created_at, updated_at, version",
    id, kind, image, created_at, updated_at, version
));

#[async_trait::async_trait]
impl Presets for Rows<Preset> {
    shared_rows!(table PRESETS, Preset, "presets": insert, by_id);

    async fn list_by_type(&self, kind: PresetType) -> StoreResult<Vec<Preset>> {
        self.db
            .scan("presets.list_by_type", move |c| {
                PRESETS.list(c, "type = ?1", &[&kind], "ORDER BY created_at, id")
            })
            .await
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Preset>> {
        PRESETS
            .scan_page(&self.db, "presets.list", "1 = 1", vec![], q)
            .await
    }

    async fn delete(&self, id: &Id) -> StoreResult<Option<Preset>> {
        let id = id.clone();
        self.db
            .write("presets.delete", move |c| {
                c.one(
                    &format!(
                        "DELETE FROM presets WHERE id = ?1 RETURNING {}",
                        PRESETS.columns
                    ),
                    [&id],
                    PRESETS.from_row,
                )
                .optional()
            })
            .await
    }

    async fn uses_image(&self, image: &str) -> StoreResult<bool> {
        self.db
            .read("presets.uses_image", |c| {
                c.one(
                    "SELECT EXISTS (SELECT 1 FROM presets WHERE image = ?1)",
                    [image],
                    |r| r.get(0),
                )
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

table!(RULES: Rule = "rules" (
    "id, type, content, created_at, updated_at, version",
    id, kind, content, created_at, updated_at, version
));

#[async_trait::async_trait]
impl Rules for Rows<Rule> {
    async fn get(&self, kind: RuleType) -> StoreResult<Option<Rule>> {
        RULES.by(&self.db, "rules.get", "type", &kind).await
    }

    async fn upsert(&self, kind: RuleType, content: &str, now: Millis) -> StoreResult<Rule> {
        let content = content.to_owned();
        self.db
            .write("rules.upsert", move |c| {
                // One statement on the unique `type`: the first call inserts, every later one
                // (concurrent or not) updates that row.
                c.one(
                    &format!(
                        "INSERT INTO rules ({0}) VALUES (?1, ?2, ?3, ?4, ?4, 0) \
                         ON CONFLICT (type) DO UPDATE SET content = excluded.content, \
                         updated_at = excluded.updated_at, version = version + 1 \
                         RETURNING {0}",
                        RULES.columns
                    ),
                    params![Id::generate(), kind, content, now],
                    RULES.from_row,
                )
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Feedback

table!(FEEDBACKS: Feedback = "feedbacks" (
    "id, user_id, role, feedback, created_at, updated_at, version",
    id, user, role, feedback, created_at, updated_at, version
));

#[async_trait::async_trait]
impl Feedbacks for Rows<Feedback> {
    shared_rows!(table FEEDBACKS, Feedback, "feedbacks": insert);

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Feedback>> {
        FEEDBACKS.by_id(&self.db, "feedbacks.by_id", id).await
    }
}
