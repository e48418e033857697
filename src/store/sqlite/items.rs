//! Categories, tasks and rewards on SQLite: one adapter for the three, over their tables.

use super::table::{boxed, set_of};
use super::{Rows, Tabled, like_pattern, table};
use crate::domain::{Category, Id, Reward, Task};
use crate::store::{
    Categories, ListQuery, OwnerWrite, Page, PagedItem, PagedItems, Record, StoreResult,
    TeacherItem, TeacherItems,
};

table!(CATEGORIES: Category = "categories" (
    "id, teacher, name, image, created_at, updated_at, version",
    id, teacher, name, image, created_at, updated_at, version
));

table!(TASKS: Task = "tasks" (
    "id, teacher, name, points, category, type, repeat, created_at, updated_at, version",
    id, teacher, name, points, category, kind, repeat, created_at, updated_at, version
));

table!(REWARDS: Reward = "rewards" (
    "id, teacher, name, image, required_points, created_at, updated_at, version",
    id, teacher, name, image, required_points, created_at, updated_at, version
));

#[async_trait::async_trait]
impl<T: TeacherItem + Tabled> TeacherItems<T> for Rows<T> {
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<T>> {
        T::table().by_ids(&self.db, T::OPS.by_ids, ids).await
    }

    async fn update(&self, write: OwnerWrite<'_>, patch: &T::Patch) -> StoreResult<Option<T>> {
        let (key, set) = (
            [("id", write.id), ("teacher", write.owner)],
            set_of(T::changes(patch)),
        );
        T::table()
            .patch(&self.db, T::OPS.update, &key, set, write.now)
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
impl<T: PagedItem + Tabled> PagedItems<T> for Rows<T> {
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
