//! Preset images, rules and feedback on SQLite.

use rusqlite::{OptionalExtension, Row, params};

use super::accounts::{corrupt, id_column};
use super::{Db, find_by};
use crate::domain::content::{PresetType, RuleType};
use crate::domain::{Feedback, Id, Millis, Preset, Role, Rule};
use crate::store::{Feedbacks, ListQuery, Page, Presets, Rules, StoreResult};

// ---------------------------------------------------------------------------------------------
// Presets

const PRESET_COLUMNS: &str = "id, type, image, created_at, updated_at, version";

fn preset_from_row(row: &Row<'_>) -> rusqlite::Result<Preset> {
    let kind: String = row.get(1)?;
    Ok(Preset {
        id: id_column(row, 0)?,
        kind: PresetType::parse(&kind).ok_or_else(|| corrupt(1, "preset type"))?,
        image: row.get(2)?,
        created_at: Millis(row.get(3)?),
        updated_at: Millis(row.get(4)?),
        version: row.get(5)?,
    })
}

pub(super) struct SqlitePresets {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Presets for SqlitePresets {
    async fn insert(&self, p: &Preset) -> StoreResult<()> {
        let p = p.clone();
        self.db
            .call("presets.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO presets ({PRESET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                    ),
                    params![
                        p.id.as_str(),
                        p.kind.as_str(),
                        p.image,
                        p.created_at.0,
                        p.updated_at.0,
                        p.version
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Preset>> {
        let id = id.clone();
        self.db
            .call("presets.by_id", move |c| {
                find_by(
                    c,
                    "presets",
                    PRESET_COLUMNS,
                    "id",
                    id.as_str(),
                    preset_from_row,
                )
            })
            .await
    }

    async fn list_by_type(&self, kind: PresetType) -> StoreResult<Vec<Preset>> {
        self.db
            .call("presets.list_by_type", move |c| {
                c.prepare(&format!(
                    "SELECT {PRESET_COLUMNS} FROM presets WHERE type = ?1 ORDER BY created_at, id"
                ))?
                .query_map([kind.as_str()], preset_from_row)?
                .collect()
            })
            .await
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Preset>> {
        let q = q.clone();
        self.db
            .call("presets.list", move |c| {
                super::page(
                    c,
                    "presets",
                    PRESET_COLUMNS,
                    "1 = 1",
                    &[],
                    &q,
                    preset_from_row,
                )
            })
            .await
    }

    async fn delete(&self, id: &Id) -> StoreResult<Option<Preset>> {
        let id = id.clone();
        self.db
            .call("presets.delete", move |c| {
                c.query_row(
                    &format!("DELETE FROM presets WHERE id = ?1 RETURNING {PRESET_COLUMNS}"),
                    [id.as_str()],
                    preset_from_row,
                )
                .optional()
            })
            .await
    }

    async fn uses_image(&self, image: &str) -> StoreResult<bool> {
        let image = image.to_owned();
        self.db
            .call("presets.uses_image", move |c| {
                c.query_row(
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

const RULE_COLUMNS: &str = "id, type, content, created_at, updated_at, version";

fn rule_from_row(row: &Row<'_>) -> rusqlite::Result<Rule> {
    let kind: String = row.get(1)?;
    Ok(Rule {
        id: id_column(row, 0)?,
        kind: RuleType::parse(&kind).ok_or_else(|| corrupt(1, "rule type"))?,
        content: row.get(2)?,
        created_at: Millis(row.get(3)?),
        updated_at: Millis(row.get(4)?),
        version: row.get(5)?,
    })
}

pub(super) struct SqliteRules {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Rules for SqliteRules {
    async fn get(&self, kind: RuleType) -> StoreResult<Option<Rule>> {
        self.db
            .call("rules.get", move |c| {
                find_by(
                    c,
                    "rules",
                    RULE_COLUMNS,
                    "type",
                    kind.as_str(),
                    rule_from_row,
                )
            })
            .await
    }

    async fn upsert(&self, kind: RuleType, content: &str) -> StoreResult<Rule> {
        let content = content.to_owned();
        self.db
            .call("rules.upsert", move |c| {
                // One statement on the unique `type`: the first call inserts, every later one
                // (concurrent or not) updates that row.
                let now = Millis::now().0;
                c.query_row(
                    &format!(
                        "INSERT INTO rules ({RULE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?4, 0) \
                         ON CONFLICT (type) DO UPDATE SET content = excluded.content, \
                         updated_at = excluded.updated_at, version = version + 1 \
                         RETURNING {RULE_COLUMNS}"
                    ),
                    params![Id::generate().as_str(), kind.as_str(), content, now],
                    rule_from_row,
                )
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Feedback

const FEEDBACK_COLUMNS: &str = "id, user_id, role, feedback, created_at, updated_at, version";

fn feedback_from_row(row: &Row<'_>) -> rusqlite::Result<Feedback> {
    let role: String = row.get(2)?;
    Ok(Feedback {
        id: id_column(row, 0)?,
        user: id_column(row, 1)?,
        role: Role::parse(&role).ok_or_else(|| corrupt(2, "feedback role"))?,
        feedback: row.get(3)?,
        created_at: Millis(row.get(4)?),
        updated_at: Millis(row.get(5)?),
        version: row.get(6)?,
    })
}

pub(super) struct SqliteFeedbacks {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Feedbacks for SqliteFeedbacks {
    async fn insert(&self, f: &Feedback) -> StoreResult<()> {
        let f = f.clone();
        self.db
            .call("feedbacks.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO feedbacks ({FEEDBACK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ),
                    params![
                        f.id.as_str(),
                        f.user.as_str(),
                        f.role.as_str(),
                        f.feedback,
                        f.created_at.0,
                        f.updated_at.0,
                        f.version
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Feedback>> {
        let id = id.clone();
        self.db
            .call("feedbacks.by_id", move |c| {
                find_by(
                    c,
                    "feedbacks",
                    FEEDBACK_COLUMNS,
                    "id",
                    id.as_str(),
                    feedback_from_row,
                )
            })
            .await
    }
}
