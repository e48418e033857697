//! Classes on MongoDB, in the old server's collection and field names (what a teacher sets up
//! for them is in `items.rs`; their indexes are made here).
//!
//! A class rename touches two collections. Without a transaction (a standalone MongoDB has none),
//! the class is written first together with `renamedFrom` (its old name), then the students are
//! moved, then the marker is removed. If the server stops or the database fails in between, the
//! marker stays, and the next update or delete of that class finishes the move before doing
//! anything else; the move is idempotent. Until then, the students still show under the old name
//! (`GET /student/class/<old name>`), and no new student can join the old name (no class has it).

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::{Collection, Database};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::collections::{CATEGORIES, CLASSES, REWARDS, STUDENTS, TASKS};
use super::students::rename_class;
use super::{
    Documents, conflict_on, date, document, ensure_indexes, literal_regex, newest_first_index,
    observe, owned, unique_index,
};
use crate::domain::classroom::ClassChange;
use crate::domain::{Class, Id, Millis};
use crate::store::rows::shared_rows;
use crate::store::{
    ClassDelete, ClassUpdate, Classes, ListQuery, OwnerWrite, Page, StoreError, StoreResult,
};

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    let by_teacher = || newest_first_index(doc! { "teacher": 1 }, "by_teacher");
    ensure_indexes(
        db,
        CLASSES,
        [
            unique_index(
                doc! { "teacher": 1, "className": 1 },
                "teacher_class_name_unique",
            ),
            by_teacher(),
        ],
    )
    .await?;
    for coll in [CATEGORIES, TASKS, REWARDS] {
        ensure_indexes(db, coll, [by_teacher()]).await?;
    }
    Ok(())
}

/// One page of a teacher's documents, newest first; `search` matches `name`.
pub(super) async fn page<D, T>(
    docs: &Documents<D, T>,
    op: &'static str,
    teacher: &Id,
    q: &ListQuery,
    search: bool,
) -> StoreResult<Page<T>>
where
    D: Serialize + DeserializeOwned + Send + Sync + for<'a> From<&'a T>,
    T: TryFrom<D, Error = StoreError> + Send + Sync,
{
    let mut filter = doc! { "teacher": teacher.to_object_id() };
    if let Some(s) = q.search.as_deref().filter(|_| search) {
        filter.insert("name", literal_regex(s));
    }
    docs.page(op, filter, q).await
}

// ---------------------------------------------------------------------------------------------
// Classes

document! {
    struct ClassDoc for Class {
        id as "_id": ObjectId,
        class_name as "className": String,
        start_date as "startDate": DateTime,
        #[serde(default)]
        end_date as "endDate": Option<DateTime>,
        teacher: ObjectId,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
    stored only {
        /// Set while a rename's move of the students is not finished (see the module docs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        renamed_from as "renamedFrom": Option<String> = |_| None,
    }
}

pub(super) struct MongoClasses {
    docs: Documents<ClassDoc, Class>,
    students: Collection<Document>,
}

/// How often a delete re-reads a class that changed under it before giving up.
const DELETE_ATTEMPTS: usize = 5;

impl MongoClasses {
    pub(super) fn new(db: &Database) -> Self {
        MongoClasses {
            docs: Documents::new(db, CLASSES).unique("a class", "name"),
            students: db.collection(STUDENTS),
        }
    }

    async fn own(&self, op: &'static str, write: OwnerWrite<'_>) -> StoreResult<Option<ClassDoc>> {
        observe(op, self.docs.raw().find_one(owned("teacher", write))).await
    }

    /// Finishes a rename whose move of the students was interrupted (idempotent).
    async fn finish_rename(&self, op: &'static str, d: &ClassDoc, now: Millis) -> StoreResult<()> {
        let Some(from) = &d.renamed_from else {
            return Ok(());
        };
        let teacher = Id::from_object_id(d.teacher);
        rename_class(&self.students, op, &teacher, from, &d.class_name, now).await?;
        observe(
            op,
            self.docs.raw().update_one(
                doc! { "_id": d.id, "renamedFrom": from, "className": &d.class_name },
                doc! { "$unset": { "renamedFrom": "" } },
            ),
        )
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Classes for MongoClasses {
    shared_rows!(docs docs, Class, "classes": insert, by_id);

    async fn by_name(&self, teacher: &Id, class_name: &str) -> StoreResult<Option<Class>> {
        let filter = doc! { "teacher": teacher.to_object_id(), "className": class_name };
        self.docs.one("classes.by_name", filter).await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Class>> {
        page(&self.docs, "classes.list_for_teacher", teacher, q, false).await
    }

    async fn update(
        &self,
        write: OwnerWrite<'_>,
        change: &ClassChange,
    ) -> StoreResult<ClassUpdate> {
        const OP: &str = "classes.update";
        let now = write.now;
        let Some(current) = self.own(OP, write).await? else {
            return Ok(ClassUpdate::NotFound);
        };
        self.finish_rename(OP, &current, now).await?;
        if current.version != change.expected_version {
            return Ok(ClassUpdate::Stale);
        }
        let renamed = current.class_name != change.class_name;
        let mut set = doc! {
            "className": &change.class_name,
            "startDate": date(change.start_date),
            "endDate": change.end_date.map(date).map_or(Bson::Null, Bson::DateTime),
            "updatedAt": date(now),
        };
        if renamed {
            set.insert("renamedFrom", &current.class_name);
        }
        // A conditional `updateOne`, then a read: jongodb's `findAndModify` does not match and write
        // atomically, so two renames of one version could both pass (docs/decisions.md, "A points
        // move applied twice on jongodb") and the students follow the first name while the class
        // keeps the second.
        let mut version = owned("teacher", write);
        version.insert("__v", change.expected_version);
        let update = doc! { "$set": set, "$inc": { "__v": 1 } };
        let passed = observe(OP, self.docs.raw().update_one(version, update))
            .await
            .map_err(|e| conflict_on(e, "a class", "name"))?;
        if passed.matched_count == 0 {
            // It changed (or vanished) between the read and the write.
            return Ok(ClassUpdate::Stale);
        }
        let Some(written) = self.own(OP, write).await? else {
            return Ok(ClassUpdate::Stale);
        };
        self.finish_rename(OP, &written, now).await?;
        Ok(ClassUpdate::Updated(Class::try_from(written)?))
    }

    async fn delete_if_empty(&self, write: OwnerWrite<'_>) -> StoreResult<ClassDelete> {
        const OP: &str = "classes.delete_if_empty";
        for _ in 0..DELETE_ATTEMPTS {
            let Some(current) = self.own(OP, write).await? else {
                return Ok(ClassDelete::NotFound);
            };
            self.finish_rename(OP, &current, write.now).await?;
            let students = observe(
                OP,
                self.students.count_documents(
                    doc! { "teacher": current.teacher, "class": &current.class_name },
                ),
            )
            .await?;
            if students > 0 {
                return Ok(ClassDelete::HasStudents(students));
            }
            // Only the version that was checked: a rename in between means count again.
            let r = observe(
                OP,
                self.docs.raw().delete_one(doc! {
                    "_id": current.id,
                    "teacher": current.teacher,
                    "__v": current.version,
                }),
            )
            .await?;
            if r.deleted_count == 1 {
                return Ok(ClassDelete::Deleted);
            }
        }
        Err(StoreError::unavailable(
            "the class kept changing while it was being deleted",
        ))
    }
}
