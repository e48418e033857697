//! Categories, tasks and rewards on SQLite: one adapter for the three, over their tables.

use rusqlite::ToSql;

use super::table::boxed;
use super::{Rows, Tabled, like_pattern, table};
use crate::domain::classroom::{CategoryPatch, Repeat, RewardPatch, TaskPatch, TaskType};
use crate::domain::{Category, Id, Millis, Reward, Task};
use crate::store::{
    Categories, ListQuery, Page, PagedItem, PagedItems, StoreResult, TeacherItem, TeacherItems,
};

/// A [`TeacherItem`] as its table holds it.
pub(super) trait SqlItem: TeacherItem + Tabled {
    /// The columns an edit sets, each with its new value (NULL keeps the column).
    fn set(patch: Self::Patch) -> Vec<(&'static str, Box<dyn ToSql + Send>)>;
}

table!(CATEGORIES: Category = "categories" (
    "id, teacher, name, image, created_at, updated_at, version",
    id, teacher, name, image, created_at, updated_at, version
));

impl SqlItem for Category {
    fn set(p: CategoryPatch) -> Vec<(&'static str, Box<dyn ToSql + Send>)> {
        vec![("name", boxed(p.name)), ("image", boxed(p.image))]
    }
}

table!(TASKS: Task = "tasks" (
    "id, teacher, name, points, category, type, repeat, created_at, updated_at, version",
    id, teacher, name, points, category, kind, repeat, created_at, updated_at, version
));

impl SqlItem for Task {
    fn set(p: TaskPatch) -> Vec<(&'static str, Box<dyn ToSql + Send>)> {
        vec![
            ("name", boxed(p.name)),
            ("points", boxed(p.points)),
            ("category", boxed(p.category)),
            ("type", boxed(p.kind.map(TaskType::as_str))),
            ("repeat", boxed(p.repeat.map(Repeat::as_str))),
        ]
    }
}

table!(REWARDS: Reward = "rewards" (
    "id, teacher, name, image, required_points, created_at, updated_at, version",
    id, teacher, name, image, required_points, created_at, updated_at, version
));

impl SqlItem for Reward {
    fn set(p: RewardPatch) -> Vec<(&'static str, Box<dyn ToSql + Send>)> {
        vec![
            ("name", boxed(p.name)),
            ("image", boxed(p.image)),
            ("required_points", boxed(p.required_points)),
        ]
    }
}

#[async_trait::async_trait]
impl<T: SqlItem> TeacherItems<T> for Rows<T> {
    async fn insert(&self, item: &T) -> StoreResult<()> {
        T::table().insert(&self.db, T::OPS.insert, item).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<T>> {
        T::table().by_id(&self.db, T::OPS.by_id, id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<T>> {
        T::table().by_ids(&self.db, T::OPS.by_ids, ids).await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        patch: &T::Patch,
        now: Millis,
    ) -> StoreResult<Option<T>> {
        let (key, set) = ([("id", id), ("teacher", teacher)], T::set(patch.clone()));
        T::table()
            .patch(&self.db, T::OPS.update, &key, set, now)
            .await
    }
}

#[async_trait::async_trait]
impl Categories for Rows<Category> {
    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>> {
        let args = vec![boxed(teacher.clone())];
        CATEGORIES
            .newest_first(&self.db, Category::OPS.list, "teacher = ?1", args)
            .await
    }
}

/// One teacher's rows, newest first; `search` matches the name.
const TEACHER_AND_NAME: &str = "teacher = ?1 AND (?2 IS NULL OR name LIKE ?2 ESCAPE '\\')";

#[async_trait::async_trait]
impl<T: SqlItem + PagedItem> PagedItems<T> for Rows<T> {
    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<T>> {
        let args = vec![
            boxed(teacher.clone()),
            boxed(q.search.as_deref().map(like_pattern)),
        ];
        T::table()
            .scan_page(&self.db, T::OPS.list, TEACHER_AND_NAME, args, q)
            .await
    }
}
