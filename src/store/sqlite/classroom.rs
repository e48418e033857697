//! Classes, categories, tasks and rewards on SQLite.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::accounts::{corrupt, count, id_column};
use super::students::rename_class;
use super::{Db, find_by, like_pattern};
use crate::domain::classroom::{
    CategoryPatch, ClassChange, Repeat, RewardPatch, TaskPatch, TaskType,
};
use crate::domain::{Category, Class, Id, Millis, Reward, Task};
use crate::store::{
    Categories, ClassDelete, ClassUpdate, Classes, ListQuery, Page, Rewards, StoreResult, Tasks,
};

/// One page of one teacher's rows of `table`, newest first; `search` matches the name.
fn page<T>(
    c: &Connection,
    table: &str,
    columns: &str,
    teacher: &str,
    q: &ListQuery,
    from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Page<T>> {
    let pattern = q.search.as_deref().map(like_pattern);
    let filter = "teacher = ?1 AND (?2 IS NULL OR name LIKE ?2 ESCAPE '\\')";
    super::page(
        c,
        table,
        columns,
        filter,
        &[&teacher, &pattern],
        q,
        from_row,
    )
}

// ---------------------------------------------------------------------------------------------
// Classes

const CLASS_COLUMNS: &str =
    "id, teacher, class_name, start_date, end_date, created_at, updated_at, version";

fn class_from_row(row: &Row<'_>) -> rusqlite::Result<Class> {
    Ok(Class {
        id: id_column(row, 0)?,
        teacher: id_column(row, 1)?,
        class_name: row.get(2)?,
        start_date: Millis(row.get(3)?),
        end_date: row.get::<_, Option<i64>>(4)?.map(Millis),
        created_at: Millis(row.get(5)?),
        updated_at: Millis(row.get(6)?),
        version: row.get(7)?,
    })
}

/// The teacher's class, inside the caller's transaction.
fn own_class(c: &Connection, teacher: &str, id: &str) -> rusqlite::Result<Option<Class>> {
    c.query_row(
        &format!("SELECT {CLASS_COLUMNS} FROM classes WHERE id = ?1 AND teacher = ?2"),
        [id, teacher],
        class_from_row,
    )
    .optional()
}

pub(super) struct SqliteClasses {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Classes for SqliteClasses {
    async fn insert(&self, k: &Class) -> StoreResult<()> {
        let k = k.clone();
        self.db
            .call("classes.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO classes ({CLASS_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    params![
                        k.id.as_str(),
                        k.teacher.as_str(),
                        k.class_name,
                        k.start_date.0,
                        k.end_date.map(|d| d.0),
                        k.created_at.0,
                        k.updated_at.0,
                        k.version
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Class>> {
        let id = id.clone();
        self.db
            .call("classes.by_id", move |c| {
                find_by(
                    c,
                    "classes",
                    CLASS_COLUMNS,
                    "id",
                    id.as_str(),
                    class_from_row,
                )
            })
            .await
    }

    async fn by_name(&self, teacher: &Id, class_name: &str) -> StoreResult<Option<Class>> {
        let (teacher, name) = (teacher.as_str().to_owned(), class_name.to_owned());
        self.db
            .call("classes.by_name", move |c| {
                c.query_row(
                    &format!(
                        "SELECT {CLASS_COLUMNS} FROM classes WHERE teacher = ?1 AND class_name = ?2"
                    ),
                    [teacher, name],
                    class_from_row,
                )
                .optional()
            })
            .await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Class>> {
        let teacher = teacher.as_str().to_owned();
        // Classes have no `name` column; search does not apply to them.
        let q = ListQuery {
            search: None,
            ..q.clone()
        };
        self.db
            .call("classes.list_for_teacher", move |c| {
                let total = count(
                    c,
                    "SELECT COUNT(*) FROM classes WHERE teacher = ?1",
                    [&teacher],
                )?;
                if q.is_past(total) {
                    return Ok(Page {
                        items: vec![],
                        total,
                    });
                }
                let items = c
                    .prepare(&format!(
                        "SELECT {CLASS_COLUMNS} FROM classes WHERE teacher = ?1 \
                         ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"
                    ))?
                    .query_map(
                        params![teacher, q.limit as i64, q.skip() as i64],
                        class_from_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(Page { items, total })
            })
            .await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        expected_version: i64,
        change: &ClassChange,
    ) -> StoreResult<ClassUpdate> {
        let (teacher, id, change) = (teacher.as_str().to_owned(), id.clone(), change.clone());
        self.db
            .call("classes.update", move |c| {
                let tx = c.transaction()?;
                let Some(current) = own_class(&tx, &teacher, id.as_str())? else {
                    return Ok(ClassUpdate::NotFound);
                };
                if current.version != expected_version {
                    return Ok(ClassUpdate::Stale);
                }
                let now = Millis::now();
                tx.execute(
                    "UPDATE classes SET class_name = ?2, start_date = ?3, end_date = ?4, \
                     updated_at = ?5, version = version + 1 WHERE id = ?1",
                    params![
                        id.as_str(),
                        change.class_name,
                        change.start_date.0,
                        change.end_date.map(|d| d.0),
                        now.0
                    ],
                )?;
                if current.class_name != change.class_name {
                    rename_class(&tx, &teacher, &current.class_name, &change.class_name, now)?;
                }
                let updated = own_class(&tx, &teacher, id.as_str())?
                    .ok_or_else(|| corrupt(0, "missing class after update"))?;
                tx.commit()?;
                Ok(ClassUpdate::Updated(updated))
            })
            .await
    }

    async fn delete_if_empty(&self, teacher: &Id, id: &Id) -> StoreResult<ClassDelete> {
        let (teacher, id) = (teacher.as_str().to_owned(), id.clone());
        self.db
            .call("classes.delete_if_empty", move |c| {
                // One transaction: no student can join between the count and the delete.
                let tx = c.transaction()?;
                let Some(class) = own_class(&tx, &teacher, id.as_str())? else {
                    return Ok(ClassDelete::NotFound);
                };
                let students = count(
                    &tx,
                    "SELECT COUNT(*) FROM students WHERE teacher = ?1 AND class = ?2",
                    [&teacher, &class.class_name],
                )?;
                if students > 0 {
                    return Ok(ClassDelete::HasStudents(students));
                }
                tx.execute("DELETE FROM classes WHERE id = ?1", [id.as_str()])?;
                tx.commit()?;
                Ok(ClassDelete::Deleted)
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Categories

const CATEGORY_COLUMNS: &str = "id, teacher, name, image, created_at, updated_at, version";

fn category_from_row(row: &Row<'_>) -> rusqlite::Result<Category> {
    Ok(Category {
        id: id_column(row, 0)?,
        teacher: id_column(row, 1)?,
        name: row.get(2)?,
        image: row.get(3)?,
        created_at: Millis(row.get(4)?),
        updated_at: Millis(row.get(5)?),
        version: row.get(6)?,
    })
}

pub(super) struct SqliteCategories {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Categories for SqliteCategories {
    async fn insert(&self, k: &Category) -> StoreResult<()> {
        let k = k.clone();
        self.db
            .call("categories.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO categories ({CATEGORY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ),
                    params![
                        k.id.as_str(),
                        k.teacher.as_str(),
                        k.name,
                        k.image,
                        k.created_at.0,
                        k.updated_at.0,
                        k.version
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Category>> {
        let id = id.clone();
        self.db
            .call("categories.by_id", move |c| {
                find_by(
                    c,
                    "categories",
                    CATEGORY_COLUMNS,
                    "id",
                    id.as_str(),
                    category_from_row,
                )
            })
            .await
    }

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>> {
        let teacher = teacher.as_str().to_owned();
        self.db
            .call("categories.list_for_teacher", move |c| {
                c.prepare(&format!(
                    "SELECT {CATEGORY_COLUMNS} FROM categories WHERE teacher = ?1 \
                     ORDER BY created_at DESC, id DESC"
                ))?
                .query_map([teacher], category_from_row)?
                .collect()
            })
            .await
    }

    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        p: &CategoryPatch,
    ) -> StoreResult<Option<Category>> {
        let (teacher, id, p) = (teacher.as_str().to_owned(), id.clone(), p.clone());
        self.db
            .call("categories.update", move |c| {
                let changed = c.execute(
                    "UPDATE categories SET name = COALESCE(?3, name), image = COALESCE(?4, image), \
                     updated_at = ?5, version = version + 1 WHERE id = ?1 AND teacher = ?2",
                    params![id.as_str(), teacher, p.name, p.image, Millis::now().0],
                )?;
                if changed == 0 {
                    return Ok(None);
                }
                find_by(
                    c,
                    "categories",
                    CATEGORY_COLUMNS,
                    "id",
                    id.as_str(),
                    category_from_row,
                )
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks

const TASK_COLUMNS: &str =
    "id, teacher, name, points, category, type, repeat, created_at, updated_at, version";

fn task_from_row(row: &Row<'_>) -> rusqlite::Result<Task> {
    let kind: String = row.get(5)?;
    let repeat: String = row.get(6)?;
    Ok(Task {
        id: id_column(row, 0)?,
        teacher: id_column(row, 1)?,
        name: row.get(2)?,
        points: row.get(3)?,
        category: id_column(row, 4)?,
        kind: TaskType::parse(&kind).ok_or_else(|| corrupt(5, "task type"))?,
        repeat: Repeat::parse(&repeat).ok_or_else(|| corrupt(6, "task repeat"))?,
        created_at: Millis(row.get(7)?),
        updated_at: Millis(row.get(8)?),
        version: row.get(9)?,
    })
}

pub(super) struct SqliteTasks {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Tasks for SqliteTasks {
    async fn insert(&self, t: &Task) -> StoreResult<()> {
        let t = t.clone();
        self.db
            .call("tasks.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO tasks ({TASK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                    ),
                    params![
                        t.id.as_str(),
                        t.teacher.as_str(),
                        t.name,
                        t.points,
                        t.category.as_str(),
                        t.kind.as_str(),
                        t.repeat.as_str(),
                        t.created_at.0,
                        t.updated_at.0,
                        t.version
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Task>> {
        let id = id.clone();
        self.db
            .call("tasks.by_id", move |c| {
                find_by(c, "tasks", TASK_COLUMNS, "id", id.as_str(), task_from_row)
            })
            .await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Task>> {
        let (teacher, q) = (teacher.as_str().to_owned(), q.clone());
        self.db
            .call("tasks.list_for_teacher", move |c| {
                page(c, "tasks", TASK_COLUMNS, &teacher, &q, task_from_row)
            })
            .await
    }

    async fn update(&self, teacher: &Id, id: &Id, p: &TaskPatch) -> StoreResult<Option<Task>> {
        let (teacher, id, p) = (teacher.as_str().to_owned(), id.clone(), p.clone());
        self.db
            .call("tasks.update", move |c| {
                let changed = c.execute(
                    "UPDATE tasks SET name = COALESCE(?3, name), points = COALESCE(?4, points), \
                     category = COALESCE(?5, category), type = COALESCE(?6, type), \
                     repeat = COALESCE(?7, repeat), updated_at = ?8, version = version + 1 \
                     WHERE id = ?1 AND teacher = ?2",
                    params![
                        id.as_str(),
                        teacher,
                        p.name,
                        p.points,
                        p.category.as_ref().map(Id::as_str),
                        p.kind.map(TaskType::as_str),
                        p.repeat.map(Repeat::as_str),
                        Millis::now().0
                    ],
                )?;
                if changed == 0 {
                    return Ok(None);
                }
                find_by(c, "tasks", TASK_COLUMNS, "id", id.as_str(), task_from_row)
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Rewards

const REWARD_COLUMNS: &str =
    "id, teacher, name, image, required_points, created_at, updated_at, version";

fn reward_from_row(row: &Row<'_>) -> rusqlite::Result<Reward> {
    Ok(Reward {
        id: id_column(row, 0)?,
        teacher: id_column(row, 1)?,
        name: row.get(2)?,
        image: row.get(3)?,
        required_points: row.get(4)?,
        created_at: Millis(row.get(5)?),
        updated_at: Millis(row.get(6)?),
        version: row.get(7)?,
    })
}

pub(super) struct SqliteRewards {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Rewards for SqliteRewards {
    async fn insert(&self, r: &Reward) -> StoreResult<()> {
        let r = r.clone();
        self.db
            .call("rewards.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO rewards ({REWARD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    params![
                        r.id.as_str(),
                        r.teacher.as_str(),
                        r.name,
                        r.image,
                        r.required_points,
                        r.created_at.0,
                        r.updated_at.0,
                        r.version
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Reward>> {
        let id = id.clone();
        self.db
            .call("rewards.by_id", move |c| {
                find_by(
                    c,
                    "rewards",
                    REWARD_COLUMNS,
                    "id",
                    id.as_str(),
                    reward_from_row,
                )
            })
            .await
    }

    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Reward>> {
        let (teacher, q) = (teacher.as_str().to_owned(), q.clone());
        self.db
            .call("rewards.list_for_teacher", move |c| {
                page(c, "rewards", REWARD_COLUMNS, &teacher, &q, reward_from_row)
            })
            .await
    }

    async fn update(&self, teacher: &Id, id: &Id, p: &RewardPatch) -> StoreResult<Option<Reward>> {
        let (teacher, id, p) = (teacher.as_str().to_owned(), id.clone(), p.clone());
        self.db
            .call("rewards.update", move |c| {
                let changed = c.execute(
                    "UPDATE rewards SET name = COALESCE(?3, name), image = COALESCE(?4, image), \
                     required_points = COALESCE(?5, required_points), updated_at = ?6, \
                     version = version + 1 WHERE id = ?1 AND teacher = ?2",
                    params![
                        id.as_str(),
                        teacher,
                        p.name,
                        p.image,
                        p.required_points,
                        Millis::now().0
                    ],
                )?;
                if changed == 0 {
                    return Ok(None);
                }
                find_by(
                    c,
                    "rewards",
                    REWARD_COLUMNS,
                    "id",
                    id.as_str(),
                    reward_from_row,
                )
            })
            .await
    }
}
