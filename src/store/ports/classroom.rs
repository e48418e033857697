//! Classes and what a teacher sets up for them: categories, tasks and rewards.

use crate::domain::classroom::{CategoryPatch, ClassChange, RewardPatch, TaskPatch};
use crate::domain::{Category, Class, Id, Reward, Task};
use crate::store::StoreResult;

use super::{Change, Changes, ListQuery, Ops, OwnerWrite, Page, Record, Records, ops};

/// What became of a conditional class update.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassUpdate {
    Updated(Class),
    /// No such class of this teacher.
    NotFound,
    /// The class changed since it was read (its `__v` moved): read it again and retry.
    Stale,
}

/// What became of a class deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassDelete {
    Deleted,
    NotFound,
    /// Refused: this many students are still in the class.
    HasStudents(u64),
}

#[async_trait::async_trait]
pub trait Classes: Send + Sync {
    /// Fails with `Conflict` when the teacher already has a class with this name.
    async fn insert(&self, class: &Class) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Class>>;
    async fn by_name(&self, teacher: &Id, class_name: &str) -> StoreResult<Option<Class>>;
    /// A teacher's classes, newest first (`search` is ignored).
    async fn list_for_teacher(&self, teacher: &Id, query: &ListQuery) -> StoreResult<Page<Class>>;
    /// Writes `change` if the class is the teacher's and its `__v` is still
    /// `change.expected_version`; bumps `updatedAt` and `__v`. A new name carries to the teacher's
    /// students in the class: in one transaction on SQLite; on MongoDB the class is written first
    /// with a marker of its old name, then the students are moved and the marker removed, and any
    /// later update or delete of the class first finishes a move that was interrupted. `Conflict`
    /// when the name is taken.
    async fn update(&self, write: OwnerWrite<'_>, change: &ClassChange)
    -> StoreResult<ClassUpdate>;
    /// Deletes the teacher's class unless students are still in it. `write.now` stamps the
    /// students of an interrupted rename it finishes first (MongoDB).
    async fn delete_if_empty(&self, write: OwnerWrite<'_>) -> StoreResult<ClassDelete>;
}

/// What a teacher sets up for its classes: categories, tasks and rewards. They are written,
/// read and edited alike (only by their teacher); their fields and their listing differ.
pub trait TeacherItem: Record {}

impl TeacherItem for Category {}
impl TeacherItem for Task {}
impl TeacherItem for Reward {}

/// Tasks and rewards: a teacher lists them by page.
pub trait PagedItem: TeacherItem {}

impl Record for Category {
    type Patch = CategoryPatch;
    const OPS: Ops = ops!("categories");

    fn changes(p: &CategoryPatch) -> Changes {
        Change::texts([("name", &p.name), ("image", &p.image)])
    }
}

impl Record for Task {
    type Patch = TaskPatch;
    const OPS: Ops = ops!("tasks");

    fn changes(p: &TaskPatch) -> Changes {
        let name = |s: &str| s.to_owned();
        vec![
            ("name", Change::Text(p.name.clone())),
            ("points", Change::Number(p.points)),
            ("category", Change::Id(p.category.clone())),
            ("type", Change::Text(p.kind.map(|k| name(k.as_str())))),
            ("repeat", Change::Text(p.repeat.map(|r| name(r.as_str())))),
        ]
    }
}

impl Record for Reward {
    type Patch = RewardPatch;
    const OPS: Ops = ops!("rewards");

    fn changes(p: &RewardPatch) -> Changes {
        let mut changes = Change::texts([("name", &p.name), ("image", &p.image)]);
        changes.push(("required_points", Change::Number(p.required_points)));
        changes
    }
}

impl PagedItem for Task {}
impl PagedItem for Reward {}

/// The port methods every [`TeacherItem`] shares.
#[async_trait::async_trait]
pub trait TeacherItems<T: TeacherItem>: Records<T> {
    /// The items among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<T>>;
    /// Applies the set fields of a teacher's item; `None` when it has no such item. The caller
    /// checks what the patch refers to (a task's new `category` must be the teacher's).
    async fn update(&self, write: OwnerWrite<'_>, patch: &T::Patch) -> StoreResult<Option<T>>;
}

#[async_trait::async_trait]
pub trait Categories: TeacherItems<Category> {
    /// All of a teacher's categories, newest first (the app shows them unpaginated).
    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>>;
}

/// Tasks and rewards.
#[async_trait::async_trait]
pub trait PagedItems<T: PagedItem>: TeacherItems<T> {
    /// A teacher's items, newest first (`search` matches the name).
    async fn list_for_teacher(&self, teacher: &Id, query: &ListQuery) -> StoreResult<Page<T>>;
}

/// The tasks' port, by its name.
pub trait Tasks: PagedItems<Task> {}
impl<S: PagedItems<Task>> Tasks for S {}

/// The rewards' port, by its name.
pub trait Rewards: PagedItems<Reward> {}
impl<S: PagedItems<Reward>> Rewards for S {}
