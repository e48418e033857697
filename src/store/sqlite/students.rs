use rusqlite::{Row, params};

use super::accounts::{count, id_column};
use super::{Db, find_by, like_pattern, page};
use crate::domain::student::StudentPatch;
use crate::domain::{Id, Millis, Student};
use crate::store::{ListQuery, Page, StoreResult, Students};

const COLUMNS: &str = "id, name, passcode_sealed, passcode_lookup, date_of_birth, profile, class, teacher, \
                       points, level, rewards, pending_points, created_at, updated_at, version, earned_points";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Student> {
    Ok(Student {
        id: id_column(row, 0)?,
        name: row.get(1)?,
        passcode_sealed: row.get(2)?,
        passcode_lookup: row.get(3)?,
        date_of_birth: row.get::<_, Option<i64>>(4)?.map(Millis),
        profile: row.get(5)?,
        class: row.get(6)?,
        teacher: id_column(row, 7)?,
        points: row.get(8)?,
        level: row.get(9)?,
        rewards: row.get(10)?,
        pending_points: row.get(11)?,
        created_at: Millis(row.get(12)?),
        updated_at: Millis(row.get(13)?),
        version: row.get(14)?,
        earned_points: row.get(15)?,
    })
}

/// Moves a teacher's students from class `from` to class `to` (inside the caller's transaction).
pub(super) fn rename_class(
    c: &rusqlite::Connection,
    teacher: &str,
    from: &str,
    to: &str,
    now: Millis,
) -> rusqlite::Result<u64> {
    c.execute(
        "UPDATE students SET class = ?3, updated_at = ?4 \
         WHERE teacher = ?1 AND class = ?2",
        params![teacher, from, to, now.0],
    )
    .map(|n| n as u64)
}

pub(super) struct SqliteStudents {
    pub(super) db: Db,
}

const NAME_FILTER: &str = "(?1 IS NULL OR name LIKE ?1 ESCAPE '\\')";

#[async_trait::async_trait]
impl Students for SqliteStudents {
    async fn insert(&self, s: &Student) -> StoreResult<()> {
        let s = s.clone();
        self.db
            .call("students.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO students ({COLUMNS}) VALUES \
                         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
                    ),
                    params![
                        s.id.as_str(),
                        s.name,
                        s.passcode_sealed,
                        s.passcode_lookup,
                        s.date_of_birth.map(|d| d.0),
                        s.profile,
                        s.class,
                        s.teacher.as_str(),
                        s.points,
                        s.level,
                        s.rewards,
                        s.pending_points,
                        s.created_at.0,
                        s.updated_at.0,
                        s.version,
                        s.earned_points,
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Student>> {
        let id = id.clone();
        self.db
            .call("students.by_id", move |c| {
                find_by(c, "students", COLUMNS, "id", id.as_str(), from_row)
            })
            .await
    }

    async fn by_passcode_lookup(&self, lookup: &str) -> StoreResult<Option<Student>> {
        let lookup = lookup.to_owned();
        self.db
            .call("students.by_passcode_lookup", move |c| {
                find_by(c, "students", COLUMNS, "passcode_lookup", &lookup, from_row)
            })
            .await
    }

    async fn list_for_teacher(
        &self,
        teacher: &Id,
        class: Option<&str>,
        q: &ListQuery,
    ) -> StoreResult<Page<Student>> {
        let (pattern, q) = (q.search.as_deref().map(like_pattern), q.clone());
        let (teacher, class) = (teacher.as_str().to_owned(), class.map(str::to_owned));
        self.db
            .call("students.list_for_teacher", move |c| {
                let filter =
                    format!("{NAME_FILTER} AND teacher = ?2 AND (?3 IS NULL OR class = ?3)");
                page(
                    c,
                    "students",
                    COLUMNS,
                    &filter,
                    &[&pattern, &teacher, &class],
                    &q,
                    from_row,
                )
            })
            .await
    }

    async fn list_all(&self, q: &ListQuery) -> StoreResult<Page<Student>> {
        let (pattern, q) = (q.search.as_deref().map(like_pattern), q.clone());
        self.db
            .call("students.list_all", move |c| {
                page(
                    c,
                    "students",
                    COLUMNS,
                    NAME_FILTER,
                    &[&pattern],
                    &q,
                    from_row,
                )
            })
            .await
    }

    async fn update(&self, id: &Id, p: &StudentPatch) -> StoreResult<Option<Student>> {
        let (id, p) = (id.clone(), p.clone());
        self.db
            .call("students.update", move |c| {
                let tx = c.transaction()?;
                let changed = tx.execute(
                    "UPDATE students SET name = COALESCE(?2, name), profile = COALESCE(?3, profile), \
                     date_of_birth = COALESCE(?4, date_of_birth), updated_at = ?5, version = version + 1 \
                     WHERE id = ?1",
                    params![id.as_str(), p.name, p.profile, p.date_of_birth.map(|d| d.0), Millis::now().0],
                )?;
                let student = if changed == 0 {
                    None
                } else {
                    Some(tx.query_row(
                        &format!("SELECT {COLUMNS} FROM students WHERE id = ?1"),
                        [id.as_str()],
                        from_row,
                    )?)
                };
                tx.commit()?;
                Ok(student)
            })
            .await
    }

    async fn set_passcode(&self, id: &Id, sealed: &str, lookup: &str) -> StoreResult<bool> {
        let (id, sealed, lookup) = (id.clone(), sealed.to_owned(), lookup.to_owned());
        self.db
            .call("students.set_passcode", move |c| {
                c.execute(
                    "UPDATE students SET passcode_sealed = ?2, passcode_lookup = ?3, updated_at = ?4 \
                     WHERE id = ?1",
                    params![id.as_str(), sealed, lookup, Millis::now().0],
                )
                .map(|n| n == 1)
            })
            .await
    }

    async fn count(&self) -> StoreResult<u64> {
        self.db
            .call("students.count", |c| {
                count(c, "SELECT COUNT(*) FROM students", [])
            })
            .await
    }

    async fn count_for_teacher(&self, teacher: &Id) -> StoreResult<u64> {
        let teacher = teacher.as_str().to_owned();
        self.db
            .call("students.count_for_teacher", move |c| {
                count(
                    c,
                    "SELECT COUNT(*) FROM students WHERE teacher = ?1",
                    [teacher],
                )
            })
            .await
    }

    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64> {
        self.db
            .call("students.count_created_between", move |c| {
                count(
                    c,
                    "SELECT COUNT(*) FROM students WHERE created_at >= ?1 AND created_at < ?2",
                    [from.0, to.0],
                )
            })
            .await
    }

    async fn rename_class(&self, teacher: &Id, from: &str, to: &str) -> StoreResult<u64> {
        let (teacher, from, to) = (teacher.as_str().to_owned(), from.to_owned(), to.to_owned());
        self.db
            .call("students.rename_class", move |c| {
                rename_class(c, &teacher, &from, &to, Millis::now())
            })
            .await
    }
}
