use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::accounts::convert;
use super::collections::{STUDENTS, TO_TIDY};
use super::{
    conflict_on, created_between, date, find_by_id, find_by_ids, index, literal_regex, observe,
};
use crate::domain::student::StudentPatch;
use crate::domain::{Id, Millis, Student};
use crate::store::{ListQuery, Page, StoreError, StoreResult, Students};

#[derive(Serialize, Deserialize)]
struct StudentDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    #[serde(rename = "passcodeSealed")]
    passcode_sealed: String,
    #[serde(rename = "passcodeLookup")]
    passcode_lookup: String,
    #[serde(rename = "dateOfBirth", default)]
    date_of_birth: Option<DateTime>,
    #[serde(default)]
    profile: Option<String>,
    class: String,
    teacher: ObjectId,
    #[serde(default)]
    points: i64,
    #[serde(default = "first_level")]
    level: i64,
    #[serde(default)]
    rewards: i64,
    #[serde(rename = "pendingPoints", default)]
    pending_points: i64,
    /// Filled in for older documents at start (`points::backfill_earned_points`).
    #[serde(rename = "earnedPoints", default)]
    earned_points: i64,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

fn first_level() -> i64 {
    1
}

impl From<&Student> for StudentDoc {
    fn from(s: &Student) -> Self {
        StudentDoc {
            id: s.id.to_object_id(),
            name: s.name.clone(),
            passcode_sealed: s.passcode_sealed.clone(),
            passcode_lookup: s.passcode_lookup.clone(),
            date_of_birth: s.date_of_birth.map(|d| DateTime::from_millis(d.0)),
            profile: s.profile.clone(),
            class: s.class.clone(),
            teacher: s.teacher.to_object_id(),
            points: s.points,
            level: s.level,
            rewards: s.rewards,
            pending_points: s.pending_points,
            earned_points: s.earned_points,
            created_at: DateTime::from_millis(s.created_at.0),
            updated_at: DateTime::from_millis(s.updated_at.0),
            version: s.version,
        }
    }
}

impl TryFrom<StudentDoc> for Student {
    type Error = StoreError;
    fn try_from(d: StudentDoc) -> StoreResult<Student> {
        Ok(Student {
            id: Id::from_object_id(d.id),
            name: d.name,
            passcode_sealed: d.passcode_sealed,
            passcode_lookup: d.passcode_lookup,
            date_of_birth: d.date_of_birth.map(|t| Millis(t.timestamp_millis())),
            profile: d.profile,
            class: d.class,
            teacher: Id::from_object_id(d.teacher),
            points: d.points,
            level: d.level,
            rewards: d.rewards,
            pending_points: d.pending_points,
            earned_points: d.earned_points,
            created_at: Millis(d.created_at.timestamp_millis()),
            updated_at: Millis(d.updated_at.timestamp_millis()),
            version: d.version,
        })
    }
}

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    observe(
        "migrate",
        db.collection::<Document>(STUDENTS).create_indexes([
            index(doc! { "passcodeLookup": 1 }, "passcode_unique", true),
            index(
                doc! { "teacher": 1, "class": 1, "createdAt": -1 },
                "by_teacher",
                false,
            ),
            index(doc! { "createdAt": -1, "_id": -1 }, "created_at", false),
            // Settled points moves the job still has to tidy (`points::Ledger::tidy`).
            index(doc! { TO_TIDY: 1 }, "points_to_tidy", false),
        ]),
    )
    .await
    .map(drop)
}

/// Moves a teacher's students from class `from` to class `to`; idempotent.
pub(super) async fn rename_class(
    coll: &Collection<Document>,
    op: &'static str,
    teacher: &Id,
    from: &str,
    to: &str,
    now: Millis,
) -> StoreResult<u64> {
    let r = observe(
        op,
        coll.update_many(
            doc! { "teacher": teacher.to_object_id(), "class": from },
            doc! { "$set": { "class": to, "updatedAt": date(now) } },
        ),
    )
    .await?;
    Ok(r.modified_count)
}

pub(super) struct MongoStudents {
    coll: Collection<StudentDoc>,
}

impl MongoStudents {
    pub(super) fn new(db: &Database) -> Self {
        MongoStudents {
            coll: db.collection(STUDENTS),
        }
    }

    async fn page(
        &self,
        op: &'static str,
        mut filter: Document,
        q: &ListQuery,
    ) -> StoreResult<Page<Student>> {
        if let Some(s) = &q.search {
            filter.insert("name", literal_regex(s));
        }
        super::page(&self.coll, op, filter, q).await
    }
}

#[async_trait::async_trait]
impl Students for MongoStudents {
    async fn insert(&self, s: &Student) -> StoreResult<()> {
        observe("students.insert", self.coll.insert_one(StudentDoc::from(s)))
            .await
            .map(drop)
            .map_err(|e| conflict_on(e, "a student", "passcode"))
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Student>> {
        find_by_id(&self.coll, "students.by_id", id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Student>> {
        find_by_ids(&self.coll, "students.by_ids", ids).await
    }

    async fn by_passcode_lookup(&self, lookup: &str) -> StoreResult<Option<Student>> {
        convert(
            observe(
                "students.by_passcode_lookup",
                self.coll.find_one(doc! { "passcodeLookup": lookup }),
            )
            .await?,
        )
    }

    async fn list_for_teacher(
        &self,
        teacher: &Id,
        class: Option<&str>,
        q: &ListQuery,
    ) -> StoreResult<Page<Student>> {
        let mut filter = doc! { "teacher": teacher.to_object_id() };
        if let Some(class) = class {
            filter.insert("class", class);
        }
        self.page("students.list_for_teacher", filter, q).await
    }

    async fn list_all(&self, q: &ListQuery) -> StoreResult<Page<Student>> {
        self.page("students.list_all", doc! {}, q).await
    }

    async fn update(&self, id: &Id, p: &StudentPatch, now: Millis) -> StoreResult<Option<Student>> {
        let mut set = doc! { "updatedAt": date(now) };
        if let Some(name) = &p.name {
            set.insert("name", name);
        }
        if let Some(profile) = &p.profile {
            set.insert("profile", profile);
        }
        if let Some(dob) = p.date_of_birth {
            set.insert("dateOfBirth", DateTime::from_millis(dob.0));
        }
        convert(
            observe(
                "students.update",
                self.coll
                    .find_one_and_update(
                        doc! { "_id": id.to_object_id() },
                        doc! { "$set": set, "$inc": { "__v": 1 } },
                    )
                    .return_document(ReturnDocument::After),
            )
            .await?,
        )
    }

    async fn set_passcode(
        &self,
        id: &Id,
        sealed: &str,
        lookup: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let r = observe(
            "students.set_passcode",
            self.coll.update_one(
                doc! { "_id": id.to_object_id() },
                doc! { "$set": {
                    "passcodeSealed": sealed, "passcodeLookup": lookup, "updatedAt": date(now)
                } },
            ),
        )
        .await
        .map_err(|e| conflict_on(e, "a student", "passcode"))?;
        Ok(r.matched_count == 1)
    }

    async fn count(&self) -> StoreResult<u64> {
        observe("students.count", self.coll.count_documents(doc! {})).await
    }

    async fn count_for_teacher(&self, teacher: &Id) -> StoreResult<u64> {
        observe(
            "students.count_for_teacher",
            self.coll
                .count_documents(doc! { "teacher": teacher.to_object_id() }),
        )
        .await
    }

    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64> {
        observe(
            "students.count_created_between",
            self.coll.count_documents(created_between(from, to)),
        )
        .await
    }

    async fn rename_class(
        &self,
        teacher: &Id,
        from: &str,
        to: &str,
        now: Millis,
    ) -> StoreResult<u64> {
        rename_class(
            &self.coll.clone_with_type(),
            "students.rename_class",
            teacher,
            from,
            to,
            now,
        )
        .await
    }
}
