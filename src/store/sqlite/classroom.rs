//! Classes, categories, tasks and rewards on SQLite.

use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::accounts::{corrupt, count};
use super::students::rename_class;
use super::table::boxed;
use super::{Cached, Db, Table, like_pattern, table};
use crate::domain::classroom::{
    CategoryPatch, ClassChange, Repeat, RewardPatch, TaskPatch, TaskType,
};
use crate::domain::{Category, Class, Id, Millis, Reward, Task};
use crate::store::rows::shared_rows;
use crate::store::{
    Categories, ClassDelete, ClassUpdate, Classes, ListQuery, Page, Rewards, StoreResult, Tasks,
};

/// One teacher's rows, newest first; `search` matches the name.
const TEACHER_AND_NAME: &str = "teacher = ?1 AND (?2 IS NULL OR name LIKE ?2 ESCAPE '\\')";

async fn teacher_page<T: Send + 'static>(
    table: &'static Table<T>,
    db: &Db,
    op: &'static str,
    teacher: &Id,
    q: &ListQuery,
) -> StoreResult<Page<T>> {
    let args = vec![
        boxed(teacher.clone()),
        boxed(q.search.as_deref().map(like_pattern)),
    ];
    table.scan_page(db, op, TEACHER_AND_NAME, args, q).await
}

/// A patch of the teacher's row `id` (see [`Table::patch`]).
async fn patch<T: Send + 'static>(
    table: &'static Table<T>,
    db: &Db,
    op: &'static str,
    (teacher, id): (&Id, &Id),
    set: Vec<(&'static str, Box<dyn ToSql + Send>)>,
    now: Millis,
) -> StoreResult<Option<T>> {
    table
        .patch(db, op, &[("id", id), ("teacher", teacher)], set, now)
        .await
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
    shared_rows!(table CLASSES, Class, "classes": insert, by_id);

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
        // Classes have no `name` column; search does not apply to them.
        let args = vec![boxed(teacher.clone())];
        CLASSES
            .scan_page(
                &self.db,
                "classes.list_for_teacher",
                "teacher = ?1",
                args,
                q,
            )
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
    shared_rows!(table CATEGORIES, Category, "categories": insert, by_id, by_ids);

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>> {
        let (op, args) = ("categories.list_for_teacher", vec![boxed(teacher.clone())]);
        CATEGORIES
            .newest_first(&self.db, op, "teacher = ?1", args)
            .await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &CategoryPatch,
        now: Millis,
    ) -> StoreResult<Option<Category>> {
        let p = p.clone();
        let set = vec![("name", boxed(p.name)), ("image", boxed(p.image))];
        patch(
            &CATEGORIES,
            &self.db,
            "categories.update",
            (teacher, id),
            set,
            now,
        )
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
    shared_rows!(table TASKS, Task, "tasks": insert, by_id, by_ids);

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Task>> {
        teacher_page(&TASKS, &self.db, "tasks.list_for_teacher", teacher, q).await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &TaskPatch,
        now: Millis,
    ) -> StoreResult<Option<Task>> {
        let p = p.clone();
        let set = vec![
            ("name", boxed(p.name)),
            ("points", boxed(p.points)),
            ("category", boxed(p.category)),
            ("type", boxed(p.kind.map(TaskType::as_str))),
            ("repeat", boxed(p.repeat.map(Repeat::as_str))),
        ];
        patch(&TASKS, &self.db, "tasks.update", (teacher, id), set, now).await
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
    shared_rows!(table REWARDS, Reward, "rewards": insert, by_id, by_ids);

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Reward>> {
        teacher_page(&REWARDS, &self.db, "rewards.list_for_teacher", teacher, q).await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &RewardPatch,
        now: Millis,
    ) -> StoreResult<Option<Reward>> {
        let p = p.clone();
        let set = vec![
            ("name", boxed(p.name)),
            ("image", boxed(p.image)),
            ("required_points", boxed(p.required_points)),
        ];
        patch(
            &REWARDS,
            &self.db,
            "rewards.update",
            (teacher, id),
            set,
            now,
        )
        .await
    }
}
