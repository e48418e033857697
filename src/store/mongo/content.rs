//! Preset images, rules and feedback on MongoDB, in the collections Mongoose would name for the
//! models `Preset`, `Rule` and `Feedback`.
//!
//! A rule is written without `upsert`: update the document of that type if there is one, else
//! insert it, and if the insert loses a race (the unique index on `type` says so) update the
//! winner's document. That keeps one document per type under concurrent writes on every server
//! (real MongoDB retries a conflicting upsert only in some cases), and lets the first version be
//! `__v` 0 like a Mongoose `create`.

use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{date, find_by_id, index, millis, observe};
use crate::domain::content::{PresetType, RuleType};
use crate::domain::{Feedback, Id, Millis, Preset, Role, Rule};
use crate::store::{Feedbacks, ListQuery, Page, Presets, Rules, StoreError, StoreResult};

const PRESETS: &str = "presets";
const RULES: &str = "rules";
const FEEDBACKS: &str = "feedbacks";

/// How many times a rule write goes back to "update" after losing the insert race. One is enough
/// (the winner's document exists by then); more only guards against a rule deleted in between.
const RULE_ATTEMPTS: usize = 3;

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    observe(
        "migrate",
        db.collection::<Document>(PRESETS).create_indexes([
            index(
                doc! { "type": 1, "createdAt": 1, "_id": 1 },
                "by_type",
                false,
            ),
            index(doc! { "createdAt": -1, "_id": -1 }, "created_at", false),
            index(doc! { "image": 1 }, "by_image", false),
        ]),
    )
    .await?;
    observe(
        "migrate",
        db.collection::<Document>(RULES).create_index(index(
            doc! { "type": 1 },
            "type_unique",
            true,
        )),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Presets

#[derive(Serialize, Deserialize)]
struct PresetDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    image: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&Preset> for PresetDoc {
    fn from(p: &Preset) -> Self {
        PresetDoc {
            id: p.id.to_object_id(),
            image: p.image.clone(),
            kind: p.kind.as_str().to_owned(),
            created_at: date(p.created_at),
            updated_at: date(p.updated_at),
            version: p.version,
        }
    }
}

impl TryFrom<PresetDoc> for Preset {
    type Error = StoreError;
    fn try_from(d: PresetDoc) -> StoreResult<Preset> {
        Ok(Preset {
            kind: PresetType::parse(&d.kind).ok_or_else(|| {
                StoreError::backend(format!("preset {} has an unknown type {:?}", d.id, d.kind))
            })?,
            id: Id::from_object_id(d.id),
            image: d.image,
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoPresets {
    coll: Collection<PresetDoc>,
}

impl MongoPresets {
    pub(super) fn new(db: &Database) -> Self {
        MongoPresets {
            coll: db.collection(PRESETS),
        }
    }
}

#[async_trait::async_trait]
impl Presets for MongoPresets {
    async fn insert(&self, p: &Preset) -> StoreResult<()> {
        observe("presets.insert", self.coll.insert_one(PresetDoc::from(p)))
            .await
            .map(drop)
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Preset>> {
        find_by_id(&self.coll, "presets.by_id", id).await
    }

    async fn list_by_type(&self, kind: PresetType) -> StoreResult<Vec<Preset>> {
        let docs: Vec<PresetDoc> = observe("presets.list_by_type", async {
            self.coll
                .find(doc! { "type": kind.as_str() })
                .sort(doc! { "createdAt": 1, "_id": 1 })
                .await?
                .try_collect()
                .await
        })
        .await?;
        docs.into_iter().map(Preset::try_from).collect()
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Preset>> {
        super::page(&self.coll, "presets.list", doc! {}, q).await
    }

    async fn delete(&self, id: &Id) -> StoreResult<Option<Preset>> {
        observe(
            "presets.delete",
            self.coll
                .find_one_and_delete(doc! { "_id": id.to_object_id() }),
        )
        .await?
        .map(Preset::try_from)
        .transpose()
    }

    async fn uses_image(&self, image: &str) -> StoreResult<bool> {
        let found = observe(
            "presets.uses_image",
            self.coll.count_documents(doc! { "image": image }).limit(1),
        )
        .await?;
        Ok(found > 0)
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

#[derive(Serialize, Deserialize)]
struct RuleDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(rename = "type")]
    kind: String,
    content: String,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl TryFrom<RuleDoc> for Rule {
    type Error = StoreError;
    fn try_from(d: RuleDoc) -> StoreResult<Rule> {
        Ok(Rule {
            kind: RuleType::parse(&d.kind).ok_or_else(|| {
                StoreError::backend(format!("rule {} has an unknown type {:?}", d.id, d.kind))
            })?,
            id: Id::from_object_id(d.id),
            content: d.content,
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoRules {
    coll: Collection<RuleDoc>,
}

impl MongoRules {
    pub(super) fn new(db: &Database) -> Self {
        MongoRules {
            coll: db.collection(RULES),
        }
    }
}

#[async_trait::async_trait]
impl Rules for MongoRules {
    async fn get(&self, kind: RuleType) -> StoreResult<Option<Rule>> {
        observe(
            "rules.get",
            self.coll.find_one(doc! { "type": kind.as_str() }),
        )
        .await?
        .map(Rule::try_from)
        .transpose()
    }

    async fn upsert(&self, kind: RuleType, content: &str, now: Millis) -> StoreResult<Rule> {
        const OP: &str = "rules.upsert";
        for _ in 0..RULE_ATTEMPTS {
            let now = date(now);
            let updated = observe(
                OP,
                self.coll
                    .find_one_and_update(
                        doc! { "type": kind.as_str() },
                        doc! {
                            "$set": { "content": content, "updatedAt": now },
                            "$inc": { "__v": 1 },
                        },
                    )
                    .return_document(ReturnDocument::After),
            )
            .await?;
            if let Some(d) = updated {
                return Rule::try_from(d);
            }
            let created = RuleDoc {
                id: ObjectId::new(),
                kind: kind.as_str().to_owned(),
                content: content.to_owned(),
                created_at: now,
                updated_at: now,
                version: 0,
            };
            match observe(OP, self.coll.insert_one(&created)).await {
                Ok(_) => return Rule::try_from(created),
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

#[derive(Serialize, Deserialize)]
struct FeedbackDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    user: ObjectId,
    role: String,
    feedback: String,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&Feedback> for FeedbackDoc {
    fn from(f: &Feedback) -> Self {
        FeedbackDoc {
            id: f.id.to_object_id(),
            user: f.user.to_object_id(),
            role: f.role.as_str().to_owned(),
            feedback: f.feedback.clone(),
            created_at: date(f.created_at),
            updated_at: date(f.updated_at),
            version: f.version,
        }
    }
}

impl TryFrom<FeedbackDoc> for Feedback {
    type Error = StoreError;
    fn try_from(d: FeedbackDoc) -> StoreResult<Feedback> {
        Ok(Feedback {
            role: Role::parse(&d.role).ok_or_else(|| {
                StoreError::backend(format!(
                    "feedback {} has an unknown role {:?}",
                    d.id, d.role
                ))
            })?,
            id: Id::from_object_id(d.id),
            user: Id::from_object_id(d.user),
            feedback: d.feedback,
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoFeedbacks {
    coll: Collection<FeedbackDoc>,
}

impl MongoFeedbacks {
    pub(super) fn new(db: &Database) -> Self {
        MongoFeedbacks {
            coll: db.collection(FEEDBACKS),
        }
    }
}

#[async_trait::async_trait]
impl Feedbacks for MongoFeedbacks {
    async fn insert(&self, f: &Feedback) -> StoreResult<()> {
        observe(
            "feedbacks.insert",
            self.coll.insert_one(FeedbackDoc::from(f)),
        )
        .await
        .map(drop)
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Feedback>> {
        find_by_id(&self.coll, "feedbacks.by_id", id).await
    }
}
