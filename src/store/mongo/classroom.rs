//! Classes, categories, tasks and rewards on MongoDB, in the old server's collections and field
//! names.
//!
//! A class rename touches two collections. Without a transaction (a standalone MongoDB has none),
//! the class is written first together with `renamedFrom` (its old name), then the students are
//! moved, then the marker is removed. If the server stops or the database fails in between, the
//! marker stays, and the next update or delete of that class finishes the move before doing
//! anything else; the move is idempotent. Until then, the students still show under the old name
//! (`GET /student/class/<old name>`), and no new student can join the old name (no class has it).

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::collections::{CATEGORIES, CLASSES, REWARDS, STUDENTS, TASKS};
use super::students::rename_class;
use super::{
    Documents, conflict_on, date, document, ensure_indexes, literal_regex, newest_first_index,
    observe, owned, set_some, unique_index,
};
use crate::domain::classroom::{
    CategoryPatch, ClassChange, Repeat, RewardPatch, TaskPatch, TaskType,
};
use crate::domain::{Category, Class, Id, Millis, Reward, Task};
use crate::store::rows::shared_rows;
use crate::store::{
    Categories, ClassDelete, ClassUpdate, Classes, ListQuery, Page, Rewards, StoreError,
    StoreResult, Tasks,
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
async fn page<D, T>(
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

/// Applies `set` to the teacher's document `id`, bumping `updatedAt` and `__v`.
async fn update_own<D, T>(
    docs: &Documents<D, T>,
    op: &'static str,
    teacher: &Id,
    id: &Id,
    mut set: Document,
    now: Millis,
) -> StoreResult<Option<T>>
where
    D: Serialize + DeserializeOwned + Send + Sync + for<'a> From<&'a T>,
    T: TryFrom<D, Error = StoreError> + Send + Sync,
{
    set.insert("updatedAt", date(now));
    docs.update(
        op,
        owned("teacher", teacher, id),
        doc! { "$set": set, "$inc": { "__v": 1 } },
    )
    .await
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

    async fn own(&self, op: &'static str, teacher: &Id, id: &Id) -> StoreResult<Option<ClassDoc>> {
        observe(op, self.docs.raw().find_one(owned("teacher", teacher, id))).await
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
        teacher: &Id,
        id: &Id,
        expected_version: i64,
        change: &ClassChange,
        now: Millis,
    ) -> StoreResult<ClassUpdate> {
        const OP: &str = "classes.update";
        let Some(current) = self.own(OP, teacher, id).await? else {
            return Ok(ClassUpdate::NotFound);
        };
        self.finish_rename(OP, &current, now).await?;
        if current.version != expected_version {
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
        let written = observe(
            OP,
            self.docs
                .raw()
                .find_one_and_update(
                    doc! {
                        "_id": id.to_object_id(),
                        "teacher": teacher.to_object_id(),
                        "__v": expected_version,
                    },
                    doc! { "$set": set, "$inc": { "__v": 1 } },
                )
                .return_document(ReturnDocument::After),
        )
        .await
        .map_err(|e| conflict_on(e, "a class", "name"))?;
        let Some(written) = written else {
            // It changed (or vanished) between the read and the write.
            return Ok(ClassUpdate::Stale);
        };
        self.finish_rename(OP, &written, now).await?;
        Ok(ClassUpdate::Updated(Class::try_from(written)?))
    }

    async fn delete_if_empty(
        &self,
        teacher: &Id,
        id: &Id,
        now: Millis,
    ) -> StoreResult<ClassDelete> {
        const OP: &str = "classes.delete_if_empty";
        for _ in 0..DELETE_ATTEMPTS {
            let Some(current) = self.own(OP, teacher, id).await? else {
                return Ok(ClassDelete::NotFound);
            };
            self.finish_rename(OP, &current, now).await?;
            let students = observe(
                OP,
                self.students.count_documents(
                    doc! { "teacher": teacher.to_object_id(), "class": &current.class_name },
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

// ---------------------------------------------------------------------------------------------
// Categories

document! {
    struct CategoryDoc for Category {
        id as "_id": ObjectId,
        name: String,
        #[serde(default)]
        image: String,
        teacher: ObjectId,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

pub(super) struct MongoCategories {
    docs: Documents<CategoryDoc, Category>,
}

impl MongoCategories {
    pub(super) fn new(db: &Database) -> Self {
        MongoCategories {
            docs: Documents::new(db, CATEGORIES),
        }
    }
}

#[async_trait::async_trait]
impl Categories for MongoCategories {
    shared_rows!(docs docs, Category, "categories": insert, by_id, by_ids);

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>> {
        let filter = doc! { "teacher": teacher.to_object_id() };
        self.docs.list("categories.list_for_teacher", filter).await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &CategoryPatch,
        now: Millis,
    ) -> StoreResult<Option<Category>> {
        let mut set = doc! {};
        set_some(&mut set, "name", p.name.as_deref());
        set_some(&mut set, "image", p.image.as_deref());
        update_own(&self.docs, "categories.update", teacher, id, set, now).await
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks

document! {
    struct TaskDoc for Task {
        id as "_id": ObjectId,
        name: String,
        points: i64,
        category: ObjectId,
        kind as "type": String,
        repeat: String,
        teacher: ObjectId,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

pub(super) struct MongoTasks {
    docs: Documents<TaskDoc, Task>,
}

impl MongoTasks {
    pub(super) fn new(db: &Database) -> Self {
        MongoTasks {
            docs: Documents::new(db, TASKS),
        }
    }
}

#[async_trait::async_trait]
impl Tasks for MongoTasks {
    shared_rows!(docs docs, Task, "tasks": insert, by_id, by_ids);

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Task>> {
        page(&self.docs, "tasks.list_for_teacher", teacher, q, true).await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &TaskPatch,
        now: Millis,
    ) -> StoreResult<Option<Task>> {
        let mut set = doc! {};
        set_some(&mut set, "name", p.name.as_deref());
        set_some(&mut set, "points", p.points);
        set_some(
            &mut set,
            "category",
            p.category.as_ref().map(Id::to_object_id),
        );
        set_some(&mut set, "type", p.kind.map(TaskType::as_str));
        set_some(&mut set, "repeat", p.repeat.map(Repeat::as_str));
        update_own(&self.docs, "tasks.update", teacher, id, set, now).await
    }
}

// ---------------------------------------------------------------------------------------------
// Rewards

document! {
    struct RewardDoc for Reward {
        id as "_id": ObjectId,
        name: String,
        #[serde(default)]
        image: String,
        required_points as "requiredPoints": i64,
        teacher: ObjectId,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

pub(super) struct MongoRewards {
    docs: Documents<RewardDoc, Reward>,
}

impl MongoRewards {
    pub(super) fn new(db: &Database) -> Self {
        MongoRewards {
            docs: Documents::new(db, REWARDS),
        }
    }
}

#[async_trait::async_trait]
impl Rewards for MongoRewards {
    shared_rows!(docs docs, Reward, "rewards": insert, by_id, by_ids);

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Reward>> {
        page(&self.docs, "rewards.list_for_teacher", teacher, q, true).await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &RewardPatch,
        now: Millis,
    ) -> StoreResult<Option<Reward>> {
        let mut set = doc! {};
        set_some(&mut set, "name", p.name.as_deref());
        set_some(&mut set, "image", p.image.as_deref());
        set_some(&mut set, "requiredPoints", p.required_points);
        update_own(&self.docs, "rewards.update", teacher, id, set, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::TaskDoc;
    use crate::domain::classroom::{Repeat, TaskType};
    use crate::domain::{Id, Millis, Task};
    use crate::store::StoreError;

    fn task() -> Task {
        Task {
            id: Id::generate(),
            name: "read".to_owned(),
            points: 5,
            category: Id::generate(),
            kind: TaskType::Good,
            repeat: Repeat::Weekly,
            teacher: Id::generate(),
            created_at: Millis(1_700_000_000_123),
            updated_at: Millis(1_700_000_000_456),
            version: 3,
        }
    }

    /// `document!` writes the old server's field names and reads them back into the same row.
    #[test]
    fn a_task_maps_to_its_stored_names_and_back() {
        let t = task();
        let stored = mongodb::bson::to_document(&TaskDoc::from(&t)).unwrap();
        assert_eq!(stored.get_object_id("_id").unwrap(), t.id.to_object_id());
        assert_eq!(stored.get_str("type").unwrap(), "good");
        assert_eq!(stored.get_str("repeat").unwrap(), "weekly");
        let created = stored.get_datetime("createdAt").unwrap();
        assert_eq!(created.timestamp_millis(), t.created_at.0);
        assert_eq!(stored.get_i64("__v").unwrap(), 3);
        let back: TaskDoc = mongodb::bson::from_document(stored).unwrap();
        assert_eq!(Task::try_from(back).unwrap(), t);
    }

    #[test]
    fn an_unknown_stored_name_is_a_backend_error_naming_the_field() {
        let mut stored = mongodb::bson::to_document(&TaskDoc::from(&task())).unwrap();
        stored.insert("type", "sometimes");
        stored.remove("__v");
        let d: TaskDoc = mongodb::bson::from_document(stored).unwrap();
        assert_eq!(d.version, 0, "a missing __v is version 0");
        match Task::try_from(d) {
            Err(e @ StoreError::Backend(_)) => {
                let detail = e.detail();
                assert!(
                    detail.contains("TaskDoc: unknown kind \"sometimes\""),
                    "{detail}"
                );
            }
            other => panic!("expected a backend error, got {other:?}"),
        }
    }
}
