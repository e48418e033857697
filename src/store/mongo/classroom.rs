//! Classes, categories, tasks and rewards on MongoDB, in the old server's collections and field
//! names.
//!
//! A class rename touches two collections. Without a transaction (a standalone MongoDB has none),
//! the class is written first together with `renamedFrom` (its old name), then the students are
//! moved, then the marker is removed. If the server stops or the database fails in between, the
//! marker stays, and the next update or delete of that class finishes the move before doing
//! anything else; the move is idempotent. Until then, the students still show under the old name
//! (`GET /student/class/<old name>`), and no new student can join the old name (no class has it).

use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::accounts::convert;
use super::collections::STUDENTS;
use super::students::rename_class;
use super::{conflict_on, date, find_by_id, find_by_ids, index, literal_regex, millis, observe};
use crate::domain::classroom::{
    CategoryPatch, ClassChange, Repeat, RewardPatch, TaskPatch, TaskType,
};
use crate::domain::{Category, Class, Id, Millis, Reward, Task};
use crate::store::{
    Categories, ClassDelete, ClassUpdate, Classes, ListQuery, Page, Rewards, StoreError,
    StoreResult, Tasks,
};

const CLASSES: &str = "classes";
const CATEGORIES: &str = "categories";
const TASKS: &str = "tasks";
const REWARDS: &str = "rewards";

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    let by_teacher = || {
        index(
            doc! { "teacher": 1, "createdAt": -1, "_id": -1 },
            "by_teacher",
            false,
        )
    };
    observe(
        "migrate",
        db.collection::<Document>(CLASSES).create_indexes([
            index(
                doc! { "teacher": 1, "className": 1 },
                "teacher_class_name_unique",
                true,
            ),
            by_teacher(),
        ]),
    )
    .await?;
    for coll in [CATEGORIES, TASKS, REWARDS] {
        observe(
            "migrate",
            db.collection::<Document>(coll).create_index(by_teacher()),
        )
        .await?;
    }
    Ok(())
}

/// One page of a teacher's documents, newest first; `search` matches `name`.
async fn page<D, T>(
    coll: &Collection<D>,
    op: &'static str,
    teacher: &Id,
    q: &ListQuery,
    search: bool,
) -> StoreResult<Page<T>>
where
    D: DeserializeOwned + Send + Sync,
    T: TryFrom<D, Error = StoreError>,
{
    let mut filter = doc! { "teacher": teacher.to_object_id() };
    if let Some(s) = q.search.as_deref().filter(|_| search) {
        filter.insert("name", literal_regex(s));
    }
    super::page(coll, op, filter, q).await
}

/// Applies `set` to the teacher's document `id`, bumping `updatedAt` and `__v`.
async fn update_own<D, T>(
    coll: &Collection<D>,
    op: &'static str,
    teacher: &Id,
    id: &Id,
    mut set: Document,
    now: Millis,
) -> StoreResult<Option<T>>
where
    D: DeserializeOwned + Send + Sync,
    T: TryFrom<D, Error = StoreError>,
{
    set.insert("updatedAt", date(now));
    convert(
        observe(
            op,
            coll.find_one_and_update(
                doc! { "_id": id.to_object_id(), "teacher": teacher.to_object_id() },
                doc! { "$set": set, "$inc": { "__v": 1 } },
            )
            .return_document(ReturnDocument::After),
        )
        .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// Classes

#[derive(Serialize, Deserialize)]
struct ClassDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(rename = "className")]
    class_name: String,
    #[serde(rename = "startDate")]
    start_date: DateTime,
    #[serde(rename = "endDate", default)]
    end_date: Option<DateTime>,
    teacher: ObjectId,
    /// Set while a rename's move of the students is not finished (see the module docs).
    #[serde(
        rename = "renamedFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    renamed_from: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&Class> for ClassDoc {
    fn from(k: &Class) -> Self {
        ClassDoc {
            id: k.id.to_object_id(),
            class_name: k.class_name.clone(),
            start_date: date(k.start_date),
            end_date: k.end_date.map(date),
            teacher: k.teacher.to_object_id(),
            renamed_from: None,
            created_at: date(k.created_at),
            updated_at: date(k.updated_at),
            version: k.version,
        }
    }
}

impl TryFrom<ClassDoc> for Class {
    type Error = StoreError;
    fn try_from(d: ClassDoc) -> StoreResult<Class> {
        Ok(Class {
            id: Id::from_object_id(d.id),
            class_name: d.class_name,
            start_date: millis(d.start_date),
            end_date: d.end_date.map(millis),
            teacher: Id::from_object_id(d.teacher),
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoClasses {
    coll: Collection<ClassDoc>,
    students: Collection<Document>,
}

/// How often a delete re-reads a class that changed under it before giving up.
const DELETE_ATTEMPTS: usize = 5;

impl MongoClasses {
    pub(super) fn new(db: &Database) -> Self {
        MongoClasses {
            coll: db.collection(CLASSES),
            students: db.collection(STUDENTS),
        }
    }

    async fn own(&self, op: &'static str, teacher: &Id, id: &Id) -> StoreResult<Option<ClassDoc>> {
        observe(
            op,
            self.coll
                .find_one(doc! { "_id": id.to_object_id(), "teacher": teacher.to_object_id() }),
        )
        .await
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
            self.coll.update_one(
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
    async fn insert(&self, k: &Class) -> StoreResult<()> {
        observe("classes.insert", self.coll.insert_one(ClassDoc::from(k)))
            .await
            .map(drop)
            .map_err(|e| conflict_on(e, "a class", "name"))
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Class>> {
        find_by_id(&self.coll, "classes.by_id", id).await
    }

    async fn by_name(&self, teacher: &Id, class_name: &str) -> StoreResult<Option<Class>> {
        convert(
            observe(
                "classes.by_name",
                self.coll
                    .find_one(doc! { "teacher": teacher.to_object_id(), "className": class_name }),
            )
            .await?,
        )
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Class>> {
        page(&self.coll, "classes.list_for_teacher", teacher, q, false).await
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
            self.coll
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
                self.coll.delete_one(doc! {
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

#[derive(Serialize, Deserialize)]
struct CategoryDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    #[serde(default)]
    image: String,
    teacher: ObjectId,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&Category> for CategoryDoc {
    fn from(k: &Category) -> Self {
        CategoryDoc {
            id: k.id.to_object_id(),
            name: k.name.clone(),
            image: k.image.clone(),
            teacher: k.teacher.to_object_id(),
            created_at: date(k.created_at),
            updated_at: date(k.updated_at),
            version: k.version,
        }
    }
}

impl TryFrom<CategoryDoc> for Category {
    type Error = StoreError;
    fn try_from(d: CategoryDoc) -> StoreResult<Category> {
        Ok(Category {
            id: Id::from_object_id(d.id),
            name: d.name,
            image: d.image,
            teacher: Id::from_object_id(d.teacher),
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoCategories {
    coll: Collection<CategoryDoc>,
}

impl MongoCategories {
    pub(super) fn new(db: &Database) -> Self {
        MongoCategories {
            coll: db.collection(CATEGORIES),
        }
    }
}

#[async_trait::async_trait]
impl Categories for MongoCategories {
    async fn insert(&self, k: &Category) -> StoreResult<()> {
        observe(
            "categories.insert",
            self.coll.insert_one(CategoryDoc::from(k)),
        )
        .await
        .map(drop)
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Category>> {
        find_by_id(&self.coll, "categories.by_id", id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Category>> {
        find_by_ids(&self.coll, "categories.by_ids", ids).await
    }

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>> {
        let docs: Vec<CategoryDoc> = observe("categories.list_for_teacher", async {
            self.coll
                .find(doc! { "teacher": teacher.to_object_id() })
                .sort(doc! { "createdAt": -1, "_id": -1 })
                .await?
                .try_collect()
                .await
        })
        .await?;
        docs.into_iter().map(Category::try_from).collect()
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &CategoryPatch,
        now: Millis,
    ) -> StoreResult<Option<Category>> {
        let mut set = doc! {};
        if let Some(name) = &p.name {
            set.insert("name", name);
        }
        if let Some(image) = &p.image {
            set.insert("image", image);
        }
        update_own(&self.coll, "categories.update", teacher, id, set, now).await
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks

#[derive(Serialize, Deserialize)]
struct TaskDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    points: i64,
    category: ObjectId,
    #[serde(rename = "type")]
    kind: String,
    repeat: String,
    teacher: ObjectId,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&Task> for TaskDoc {
    fn from(t: &Task) -> Self {
        TaskDoc {
            id: t.id.to_object_id(),
            name: t.name.clone(),
            points: t.points,
            category: t.category.to_object_id(),
            kind: t.kind.as_str().to_owned(),
            repeat: t.repeat.as_str().to_owned(),
            teacher: t.teacher.to_object_id(),
            created_at: date(t.created_at),
            updated_at: date(t.updated_at),
            version: t.version,
        }
    }
}

impl TryFrom<TaskDoc> for Task {
    type Error = StoreError;
    fn try_from(d: TaskDoc) -> StoreResult<Task> {
        let corrupt = |what: &str, v: &str| {
            StoreError::backend(format!("task {} has an unknown {what} {v:?}", d.id))
        };
        Ok(Task {
            id: Id::from_object_id(d.id),
            kind: TaskType::parse(&d.kind).ok_or_else(|| corrupt("type", &d.kind))?,
            repeat: Repeat::parse(&d.repeat).ok_or_else(|| corrupt("repeat", &d.repeat))?,
            name: d.name,
            points: d.points,
            category: Id::from_object_id(d.category),
            teacher: Id::from_object_id(d.teacher),
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoTasks {
    coll: Collection<TaskDoc>,
}

impl MongoTasks {
    pub(super) fn new(db: &Database) -> Self {
        MongoTasks {
            coll: db.collection(TASKS),
        }
    }
}

#[async_trait::async_trait]
impl Tasks for MongoTasks {
    async fn insert(&self, t: &Task) -> StoreResult<()> {
        observe("tasks.insert", self.coll.insert_one(TaskDoc::from(t)))
            .await
            .map(drop)
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Task>> {
        find_by_id(&self.coll, "tasks.by_id", id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Task>> {
        find_by_ids(&self.coll, "tasks.by_ids", ids).await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Task>> {
        page(&self.coll, "tasks.list_for_teacher", teacher, q, true).await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &TaskPatch,
        now: Millis,
    ) -> StoreResult<Option<Task>> {
        let mut set = doc! {};
        if let Some(name) = &p.name {
            set.insert("name", name);
        }
        if let Some(points) = p.points {
            set.insert("points", points);
        }
        if let Some(category) = &p.category {
            set.insert("category", category.to_object_id());
        }
        if let Some(kind) = p.kind {
            set.insert("type", kind.as_str());
        }
        if let Some(repeat) = p.repeat {
            set.insert("repeat", repeat.as_str());
        }
        update_own(&self.coll, "tasks.update", teacher, id, set, now).await
    }
}

// ---------------------------------------------------------------------------------------------
// Rewards

#[derive(Serialize, Deserialize)]
struct RewardDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    #[serde(default)]
    image: String,
    #[serde(rename = "requiredPoints")]
    required_points: i64,
    teacher: ObjectId,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&Reward> for RewardDoc {
    fn from(r: &Reward) -> Self {
        RewardDoc {
            id: r.id.to_object_id(),
            name: r.name.clone(),
            image: r.image.clone(),
            required_points: r.required_points,
            teacher: r.teacher.to_object_id(),
            created_at: date(r.created_at),
            updated_at: date(r.updated_at),
            version: r.version,
        }
    }
}

impl TryFrom<RewardDoc> for Reward {
    type Error = StoreError;
    fn try_from(d: RewardDoc) -> StoreResult<Reward> {
        Ok(Reward {
            id: Id::from_object_id(d.id),
            name: d.name,
            image: d.image,
            required_points: d.required_points,
            teacher: Id::from_object_id(d.teacher),
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoRewards {
    coll: Collection<RewardDoc>,
}

impl MongoRewards {
    pub(super) fn new(db: &Database) -> Self {
        MongoRewards {
            coll: db.collection(REWARDS),
        }
    }
}

#[async_trait::async_trait]
impl Rewards for MongoRewards {
    async fn insert(&self, r: &Reward) -> StoreResult<()> {
        observe("rewards.insert", self.coll.insert_one(RewardDoc::from(r)))
            .await
            .map(drop)
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Reward>> {
        find_by_id(&self.coll, "rewards.by_id", id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Reward>> {
        find_by_ids(&self.coll, "rewards.by_ids", ids).await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Reward>> {
        page(&self.coll, "rewards.list_for_teacher", teacher, q, true).await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &RewardPatch,
        now: Millis,
    ) -> StoreResult<Option<Reward>> {
        let mut set = doc! {};
        if let Some(name) = &p.name {
            set.insert("name", name);
        }
        if let Some(image) = &p.image {
            set.insert("image", image);
        }
        if let Some(required) = p.required_points {
            set.insert("requiredPoints", required);
        }
        update_own(&self.coll, "rewards.update", teacher, id, set, now).await
    }
}
