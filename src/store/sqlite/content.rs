//! Preset images, rules and feedback on SQLite.

use rusqlite::{OptionalExtension, params};

use super::accounts::corrupt;
use super::{Cached, Db, Table};
use crate::domain::content::{PresetType, RuleType};
use crate::domain::{Feedback, Id, Millis, Preset, Role, Rule};
use crate::store::{Feedbacks, ListQuery, Page, Presets, Rules, StoreResult};

// ---------------------------------------------------------------------------------------------
// Presets

static PRESETS: Table<Preset> = Table {
    name: "presets",
    columns: "id, type, image, created_at, updated_at, version",
    from_row: |row| {
        let kind: String = row.get(1)?;
        Ok(Preset {
            id: row.get(0)?,
            kind: PresetType::parse(&kind).ok_or_else(|| corrupt(1, "preset type"))?,
            image: row.get(2)?,
            created_at: row.get(3)?,
            updated_at: row.get(4)?,
            version: row.get(5)?,
        })
    },
    bind: |p| {
        vec![
            &p.id,
            &p.kind,
            &p.image,
            &p.created_at,
            &p.updated_at,
            &p.version,
        ]
    },
};

pub(super) struct SqlitePresets {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Presets for SqlitePresets {
    async fn insert(&self, p: &Preset) -> StoreResult<()> {
        PRESETS.insert(&self.db, "presets.insert", p).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Preset>> {
        PRESETS.by_id(&self.db, "presets.by_id", id).await
    }

    async fn list_by_type(&self, kind: PresetType) -> StoreResult<Vec<Preset>> {
        self.db
            .scan("presets.list_by_type", move |c| {
                PRESETS.list(c, "type = ?1", &[&kind], "ORDER BY created_at, id")
            })
            .await
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Preset>> {
        let q = q.clone();
        self.db
            .scan("presets.list", move |c| PRESETS.page(c, "1 = 1", &[], &q))
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

static RULES: Table<Rule> = Table {
    name: "rules",
    columns: "id, type, content, created_at, updated_at, version",
    from_row: |row| {
        let kind: String = row.get(1)?;
        Ok(Rule {
            id: row.get(0)?,
            kind: RuleType::parse(&kind).ok_or_else(|| corrupt(1, "rule type"))?,
            content: row.get(2)?,
            created_at: row.get(3)?,
            updated_at: row.get(4)?,
            version: row.get(5)?,
        })
    },
    bind: |r| {
        vec![
            &r.id,
            &r.kind,
            &r.content,
            &r.created_at,
            &r.updated_at,
            &r.version,
        ]
    },
};

pub(super) struct SqliteRules {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Rules for SqliteRules {
    async fn get(&self, kind: RuleType) -> StoreResult<Option<Rule>> {
        self.db
            .read("rules.get", |c| RULES.find(c, "type", &kind))
            .await
    }

    async fn upsert(&self, kind: RuleType, content: &str) -> StoreResult<Rule> {
        let content = content.to_owned();
        self.db
            .write("rules.upsert", move |c| {
                // One statement on the unique `type`: the first call inserts, every later one
                // (concurrent or not) updates that row.
                let now = Millis::now();
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

static FEEDBACKS: Table<Feedback> = Table {
    name: "feedbacks",
    columns: "id, user_id, role, feedback, created_at, updated_at, version",
    from_row: |row| {
        let role: String = row.get(2)?;
        Ok(Feedback {
            id: row.get(0)?,
            user: row.get(1)?,
            role: Role::parse(&role).ok_or_else(|| corrupt(2, "feedback role"))?,
            feedback: row.get(3)?,
            created_at: row.get(4)?,
            updated_at: row.get(5)?,
            version: row.get(6)?,
        })
    },
    bind: |f| {
        vec![
            &f.id,
            &f.user,
            &f.role,
            &f.feedback,
            &f.created_at,
            &f.updated_at,
            &f.version,
        ]
    },
};

pub(super) struct SqliteFeedbacks {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Feedbacks for SqliteFeedbacks {
    async fn insert(&self, f: &Feedback) -> StoreResult<()> {
        FEEDBACKS.insert(&self.db, "feedbacks.insert", f).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Feedback>> {
        FEEDBACKS.by_id(&self.db, "feedbacks.by_id", id).await
    }
}
