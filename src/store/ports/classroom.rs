//! Classes and what a teacher sets up for them: categories, tasks and rewards.

use crate::domain::classroom::{CategoryPatch, ClassChange, RewardPatch, TaskPatch};
use crate::domain::{Category, Class, Id, Millis, Reward, Task};
use crate::store::StoreResult;

use super::{ListQuery, Page};

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
    /// Writes `change` if the class is `teacher`'s and its `__v` is still `expected_version`; bumps
    /// `updatedAt` and `__v`. A new name carries to the teacher's students in the class: in one
    /// transaction on SQLite; on MongoDB the class is written first with a marker of its old name,
    /// then the students are moved and the marker removed, and any later update or delete of the
    /// class first finishes a move that was interrupted. `Conflict` when the name is taken.
    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        expected_version: i64,
        change: &ClassChange,
        now: Millis,
    ) -> StoreResult<ClassUpdate>;
    /// Deletes the teacher's class unless students are still in it. `now` stamps the students of
    /// an interrupted rename it finishes first (MongoDB).
    async fn delete_if_empty(&self, teacher: &Id, id: &Id, now: Millis)
    -> StoreResult<ClassDelete>;
}

#[async_trait::async_trait]
pub trait Categories: Send + Sync {
    async fn insert(&self, category: &Category) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Category>>;
    /// The categories among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Category>>;
    /// All of a teacher's categories, newest first (the app shows them unpaginated).
    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>>;
    /// Applies the set fields of `teacher`'s category; `None` when it has no such category.
    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        patch: &CategoryPatch,
        now: Millis,
    ) -> StoreResult<Option<Category>>;
}

#[async_trait::async_trait]
pub trait Tasks: Send + Sync {
    async fn insert(&self, task: &Task) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Task>>;
    /// The tasks among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Task>>;
    /// A teacher's tasks, newest first (`search` matches the name).
    async fn list_for_teacher(&self, teacher: &Id, query: &ListQuery) -> StoreResult<Page<Task>>;
    /// Applies the set fields of `teacher`'s task; `None` when it has no such task. The caller
    /// checks that a new `category` is the teacher's.
    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        patch: &TaskPatch,
        now: Millis,
    ) -> StoreResult<Option<Task>>;
}

#[async_trait::async_trait]
pub trait Rewards: Send + Sync {
    async fn insert(&self, reward: &Reward) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Reward>>;
    /// The rewards among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Reward>>;
    /// A teacher's rewards, newest first (`search` matches the name).
    async fn list_for_teacher(&self, teacher: &Id, query: &ListQuery) -> StoreResult<Page<Reward>>;
    /// Applies the set fields of `teacher`'s reward; `None` when it has no such reward.
    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        patch: &RewardPatch,
        now: Millis,
    ) -> StoreResult<Option<Reward>>;
}
