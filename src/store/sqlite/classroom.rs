//! Classes, categories, tasks and rewards on SQLite.

use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::accounts::{corrupt, count};
use super::students::rename_class;
use super::table::NEWEST_FIRST;
use super::{Cached, Db, Table, like_pattern, table};
use crate::domain::classroom::{
    CategoryPatch, ClassChange, Repeat, RewardPatch, TaskPatch, TaskType,
};
use crate::domain::{Category, Class, Id, Millis, Reward, Task};
use crate::store::{
    Categories, ClassDelete, ClassUpdate, Classes, ListQuery, Page, Rewards, StoreResult, Tasks,
};

/// One teacher's rows, newest first; `search` matches the name.
const TEACHER_AND_NAME: &str = "teacher = ?1 AND (?2 IS NULL OR name LIKE ?2 ESCAPE '\\')";

fn teacher_page<T: Send>(
    table: &Table<T>,
    c: &Connection,
    teacher: &Id,
    q: &ListQuery,
) -> rusqlite::Result<Page<T>> {
    let pattern = q.search.as_deref().map(like_pattern);
    table.page(c, TEACHER_AND_NAME, &[teacher, &pattern], q)
}

// ---------------------------------------------------------------------------------------------
// Classes

table!(CLASSES: Class = "classes" (
    "id, teacher, class_name, start_date, end_date, created_at, updated_at, version",
    id, teacher, class_name, start_date, end_date, created_at, updated_at, version
));

/// The teacher's class, inside the caller's transaction.
fn own_class(c: &Connection, teacher: &Id, id: &Id) -> rusqlite::Result<Option<Class>> {
    c.one(
        &format!(
            "SELECT {} FROM classes WHERE id = ?1 AND teacher = ?2",
            CLASSES.columns
        ),
        params![id, teacher],
        CLASSES.from_row,
    )
    .optional()
}

pub(super) struct SqliteClasses {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Classes for SqliteClasses {
    async fn insert(&self, k: &Class) -> StoreResult<()> {
        CLASSES.insert(&self.db, "classes.insert", k).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Class>> {
        CLASSES.by_id(&self.db, "classes.by_id", id).await
    }

    async fn by_name(&self, teacher: &Id, class_name: &str) -> StoreResult<Option<Class>> {
        self.db
            .read("classes.by_name", |c| {
                let sql = format!(
                    "SELECT {} FROM classes WHERE teacher = ?1 AND class_name = ?2",
                    CLASSES.columns
                );
                c.one(&sql, params![teacher, class_name], CLASSES.from_row)
                    .optional()
            })
            .await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Class>> {
        let (teacher, q) = (teacher.clone(), q.clone());
        // Classes have no `name` column; search does not apply to them.
        self.db
            .scan("classes.list_for_teacher", move |c| {
                CLASSES.page(c, "teacher = ?1", &[&teacher], &q)
            })
            .await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        expected_version: i64,
        change: &ClassChange,
        now: Millis,
    ) -> StoreResult<ClassUpdate> {
        let (teacher, id, change) = (teacher.clone(), id.clone(), change.clone());
        self.db
            .write("classes.update", move |c| {
                let tx = c.transaction()?;
                let Some(current) = own_class(&tx, &teacher, &id)? else {
                    return Ok(ClassUpdate::NotFound);
                };
                if current.version != expected_version {
                    return Ok(ClassUpdate::Stale);
                }
                tx.exec(
                    "UPDATE classes SET class_name = ?2, start_date = ?3, end_date = ?4, \
                     updated_at = ?5, version = version + 1 WHERE id = ?1",
                    params![
                        id,
                        change.class_name,
                        change.start_date.0,
                        change.end_date.map(|d| d.0),
                        now.0
                    ],
                )?;
                if current.class_name != change.class_name {
                    rename_class(&tx, &teacher, &current.class_name, &change.class_name, now)?;
                }
                let updated = own_class(&tx, &teacher, &id)?
                    .ok_or_else(|| corrupt(0, "missing class after update"))?;
                tx.commit()?;
                Ok(ClassUpdate::Updated(updated))
            })
            .await
    }

    async fn delete_if_empty(
        &self,
        teacher: &Id,
        id: &Id,
        _now: Millis,
    ) -> StoreResult<ClassDelete> {
        let (teacher, id) = (teacher.clone(), id.clone());
        self.db
            .write("classes.delete_if_empty", move |c| {
                // One transaction: no student can join between the count and the delete.
                let tx = c.transaction()?;
                let Some(class) = own_class(&tx, &teacher, &id)? else {
                    return Ok(ClassDelete::NotFound);
                };
                let students = count(
                    &tx,
                    "SELECT COUNT(*) FROM students WHERE teacher = ?1 AND class = ?2",
                    params![teacher, class.class_name],
                )?;
                if students > 0 {
                    return Ok(ClassDelete::HasStudents(students));
                }
                tx.exec("DELETE FROM classes WHERE id = ?1", [&id])?;
                tx.commit()?;
                Ok(ClassDelete::Deleted)
            })
            .await
    }
}

/// Applies a patch with `sql` (`?1` the id, `?2` the teacher, then `args`) and reads the row back.
fn patch<T: Send + 'static>(
    table: &Table<T>,
    c: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
) -> rusqlite::Result<Option<T>> {
    if c.exec(sql, args)? == 0 {
        return Ok(None);
    }
    table.find(c, "id", args[0])
}

// ---------------------------------------------------------------------------------------------
// Categories

table!(CATEGORIES: Category = "categories" (
    "id, teacher, name, image, created_at, updated_at, version",
    id, teacher, name, image, created_at, updated_at, version
));

pub(super) struct SqliteCategories {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Categories for SqliteCategories {
    async fn insert(&self, k: &Category) -> StoreResult<()> {
        CATEGORIES.insert(&self.db, "categories.insert", k).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Category>> {
        CATEGORIES.by_id(&self.db, "categories.by_id", id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Category>> {
        CATEGORIES.by_ids(&self.db, "categories.by_ids", ids).await
    }

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>> {
        let teacher = teacher.clone();
        self.db
            .scan("categories.list_for_teacher", move |c| {
                CATEGORIES.list(c, "teacher = ?1", &[&teacher], NEWEST_FIRST)
            })
            .await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &CategoryPatch,
        now: Millis,
    ) -> StoreResult<Option<Category>> {
        let (teacher, id, p) = (teacher.clone(), id.clone(), p.clone());
        self.db
            .write("categories.update", move |c| {
                patch(
                    &CATEGORIES,
                    c,
                    "UPDATE categories SET name = COALESCE(?3, name), image = COALESCE(?4, image), \
                     updated_at = ?5, version = version + 1 WHERE id = ?1 AND teacher = ?2",
                    params![id, teacher, p.name, p.image, now.0],
                )
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks

table!(TASKS: Task = "tasks" (
    "id, teacher, name, points, category, type, repeat, created_at, updated_at, version",
    id, teacher, name, points, category, kind, repeat, created_at, updated_at, version
));

pub(super) struct SqliteTasks {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Tasks for SqliteTasks {
    async fn insert(&self, t: &Task) -> StoreResult<()> {
        TASKS.insert(&self.db, "tasks.insert", t).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Task>> {
        TASKS.by_id(&self.db, "tasks.by_id", id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Task>> {
        TASKS.by_ids(&self.db, "tasks.by_ids", ids).await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Task>> {
        let (teacher, q) = (teacher.clone(), q.clone());
        self.db
            .scan("tasks.list_for_teacher", move |c| {
                teacher_page(&TASKS, c, &teacher, &q)
            })
            .await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &TaskPatch,
        now: Millis,
    ) -> StoreResult<Option<Task>> {
        let (teacher, id, p) = (teacher.clone(), id.clone(), p.clone());
        self.db
            .write("tasks.update", move |c| {
                patch(
                    &TASKS,
                    c,
                    "UPDATE tasks SET name = COALESCE(?3, name), points = COALESCE(?4, points), \
                     category = COALESCE(?5, category), type = COALESCE(?6, type), \
                     repeat = COALESCE(?7, repeat), updated_at = ?8, version = version + 1 \
                     WHERE id = ?1 AND teacher = ?2",
                    params![
                        id,
                        teacher,
                        p.name,
                        p.points,
                        p.category,
                        p.kind.map(TaskType::as_str),
                        p.repeat.map(Repeat::as_str),
                        now.0
                    ],
                )
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Rewards

table!(REWARDS: Reward = "rewards" (
    "id, teacher, name, image, required_points, created_at, updated_at, version",
    id, teacher, name, image, required_points, created_at, updated_at, version
));

pub(super) struct SqliteRewards {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Rewards for SqliteRewards {
    async fn insert(&self, r: &Reward) -> StoreResult<()> {
        REWARDS.insert(&self.db, "rewards.insert", r).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Reward>> {
        REWARDS.by_id(&self.db, "rewards.by_id", id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Reward>> {
        REWARDS.by_ids(&self.db, "rewards.by_ids", ids).await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Reward>> {
        let (teacher, q) = (teacher.clone(), q.clone());
        self.db
            .scan("rewards.list_for_teacher", move |c| {
                teacher_page(&REWARDS, c, &teacher, &q)
            })
            .await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &RewardPatch,
        now: Millis,
    ) -> StoreResult<Option<Reward>> {
        let (teacher, id, p) = (teacher.clone(), id.clone(), p.clone());
        self.db
            .write("rewards.update", move |c| {
                patch(
                    &REWARDS,
                    c,
                    "UPDATE rewards SET name = COALESCE(?3, name), image = COALESCE(?4, image), \
                     required_points = COALESCE(?5, required_points), updated_at = ?6, \
                     version = version + 1 WHERE id = ?1 AND teacher = ?2",
                    params![id, teacher, p.name, p.image, p.required_points, now.0],
                )
            })
            .await
    }
}
