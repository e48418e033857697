use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::{Collection, Database};

use super::collections::{STUDENTS, TO_TIDY};
use super::{
    Documents, date, document, ensure_indexes, index, literal_regex, newest_first_index, observe,
    set_some, unique_index,
};
use crate::domain::student::StudentPatch;
use crate::domain::{Id, Millis, Student};
use crate::store::rows::shared_rows;
use crate::store::{ListQuery, Page, StoreResult, Students};

document! {
    struct StudentDoc for Student {
        id as "_id": ObjectId,
        name: String,
        passcode_sealed as "passcodeSealed": String,
        passcode_lookup as "passcodeLookup": String,
        #[serde(default)]
        date_of_birth as "dateOfBirth": Option<DateTime>,
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
        #[serde(default)]
        pending_points as "pendingPoints": i64,
        /// Filled in for older documents at start (`points::backfill_earned_points`).
        #[serde(default)]
        earned_points as "earnedPoints": i64,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

fn first_level() -> i64 {
    1
}

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    ensure_indexes(
        db,
        STUDENTS,
        [
            unique_index(doc! { "passcodeLookup": 1 }, "passcode_unique"),
            index(
                doc! { "teacher": 1, "class": 1, "createdAt": -1 },
                "by_teacher",
            ),
            newest_first_index(doc! {}, "created_at"),
            // Settled points moves the job still has to tidy (`points::Ledger::tidy`).
            index(doc! { TO_TIDY: 1 }, "points_to_tidy"),
        ],
    )
    .await
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
    docs: Documents<StudentDoc, Student>,
}

impl MongoStudents {
    pub(super) fn new(db: &Database) -> Self {
        MongoStudents {
            docs: Documents::new(db, STUDENTS).unique("a student", "passcode"),
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
        self.docs.page(op, filter, q).await
    }
}

#[async_trait::async_trait]
impl Students for MongoStudents {
    shared_rows!(docs docs, Student, "students":
        insert, by_id, by_ids, count_created_between);

    async fn by_passcode_lookup(&self, lookup: &str) -> StoreResult<Option<Student>> {
        let filter = doc! { "passcodeLookup": lookup };
        self.docs.one("students.by_passcode_lookup", filter).await
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
        set_some(&mut set, "name", p.name.as_deref());
        set_some(&mut set, "profile", p.profile.as_deref());
        set_some(&mut set, "dateOfBirth", p.date_of_birth.map(date));
        let update = doc! { "$set": set, "$inc": { "__v": 1 } };
        self.docs.update_by_id("students.update", id, update).await
    }

    async fn count(&self) -> StoreResult<u64> {
        self.docs.count("students.count", doc! {}).await
    }

    async fn count_for_teacher(&self, teacher: &Id) -> StoreResult<u64> {
        let filter = doc! { "teacher": teacher.to_object_id() };
        self.docs.count("students.count_for_teacher", filter).await
    }
}
