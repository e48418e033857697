//! Preset images, rules and feedback on MongoDB, in the collections Mongoose would name for the
//! models `Preset`, `Rule` and `Feedback`.
//!
//! A rule is written without `upsert`: update the document of that type if there is one, else
//! insert it, and if the insert loses a race (the unique index on `type` says so) update the
//! winner's document. That keeps one document per type under concurrent writes on every server
//! (real MongoDB retries a conflicting upsert only in some cases), and lets the first version be
//! `__v` 0 like a Mongoose `create`.

use mongodb::Database;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc};

use super::collections::{FEEDBACKS, PRESETS, RULES};
use super::{
    Documents, date, document, ensure_indexes, index, newest_first_index, observe, unique_index,
};
use crate::domain::content::{PresetType, RuleType};
use crate::domain::{Feedback, Id, Millis, Preset, Rule};
use crate::store::rows::shared_rows;
use crate::store::{Feedbacks, ListQuery, Page, Presets, Rules, StoreError, StoreResult};

/// How many times a rule write goes back to "update" after losing the insert race. One is enough
/// (the winner's document exists by then); more only guards against a rule deleted in between.
const RULE_ATTEMPTS: usize = 3;

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    ensure_indexes(
        db,
        PRESETS,
        [
            index(doc! { "type": 1, "createdAt": 1, "_id": 1 }, "by_type"),
            newest_first_index(doc! {}, "created_at"),
            index(doc! { "image": 1 }, "by_image"),
        ],
    )
    .await?;
    ensure_indexes(db, RULES, [unique_index(doc! { "type": 1 }, "type_unique")]).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Presets

document! {
    struct PresetDoc for Preset {
        id as "_id": ObjectId,
        image: String,
        kind as "type": String,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

pub(super) struct MongoPresets {
    docs: Documents<PresetDoc, Preset>,
}

impl MongoPresets {
    pub(super) fn new(db: &Database) -> Self {
        MongoPresets {
            docs: Documents::new(db, PRESETS),
        }
    }
}

#[async_trait::async_trait]
impl Presets for MongoPresets {
    shared_rows!(docs docs, Preset, "presets": insert, by_id);

    async fn list_by_type(&self, kind: PresetType) -> StoreResult<Vec<Preset>> {
        let (filter, oldest_first) = (
            doc! { "type": kind.as_str() },
            doc! { "createdAt": 1, "_id": 1 },
        );
        self.docs
            .sorted("presets.list_by_type", filter, oldest_first, None)
            .await
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Preset>> {
        self.docs.page("presets.list", doc! {}, q).await
    }

    async fn delete(&self, id: &Id) -> StoreResult<Option<Preset>> {
        let filter = doc! { "_id": id.to_object_id() };
        self.docs.delete("presets.delete", filter).await
    }

    async fn uses_image(&self, image: &str) -> StoreResult<bool> {
        let found = observe(
            "presets.uses_image",
            self.docs
                .raw()
                .count_documents(doc! { "image": image })
                .limit(1),
        )
        .await?;
        Ok(found > 0)
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

document! {
    struct RuleDoc for Rule {
        id as "_id": ObjectId,
        kind as "type": String,
        content: String,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

pub(super) struct MongoRules {
    docs: Documents<RuleDoc, Rule>,
}

impl MongoRules {
    pub(super) fn new(db: &Database) -> Self {
        MongoRules {
            docs: Documents::new(db, RULES),
        }
    }
}

#[async_trait::async_trait]
impl Rules for MongoRules {
    async fn get(&self, kind: RuleType) -> StoreResult<Option<Rule>> {
        self.docs
            .one("rules.get", doc! { "type": kind.as_str() })
            .await
    }

    async fn upsert(&self, kind: RuleType, content: &str, now: Millis) -> StoreResult<Rule> {
        const OP: &str = "rules.upsert";
        for _ in 0..RULE_ATTEMPTS {
            let set = doc! {
                "$set": { "content": content, "updatedAt": date(now) },
                "$inc": { "__v": 1 },
            };
            let updated = self.docs.update(OP, doc! { "type": kind.as_str() }, set);
            if let Some(rule) = updated.await? {
                return Ok(rule);
            }
            let created = Rule {
                id: Id::generate(),
                kind,
                content: content.to_owned(),
                created_at: now,
                updated_at: now,
                version: 0,
            };
            match self.docs.insert(OP, &created).await {
                Ok(()) => return Ok(created),
                // Another writer created it between our update and our insert: update theirs.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::unavailable(
            "the rule kept changing while it was being written",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Feedback

document! {
    struct FeedbackDoc for Feedback {
        id as "_id": ObjectId,
        user: ObjectId,
        role: String,
        feedback: String,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

pub(super) struct MongoFeedbacks {
    docs: Documents<FeedbackDoc, Feedback>,
}

impl MongoFeedbacks {
    pub(super) fn new(db: &Database) -> Self {
        MongoFeedbacks {
            docs: Documents::new(db, FEEDBACKS),
        }
    }
}

#[async_trait::async_trait]
impl Feedbacks for MongoFeedbacks {
    shared_rows!(docs docs, Feedback, "feedbacks": insert);

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Feedback>> {
        self.docs.by_id("feedbacks.by_id", id).await
    }
}
