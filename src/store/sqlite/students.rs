use rusqlite::{Connection, params};

use super::accounts::count;
use super::{Cached, Db, like_pattern, table};
use crate::domain::student::StudentPatch;
use crate::domain::{Id, Millis, Student};
use crate::store::{ListQuery, Page, StoreResult, Students};

table!(STUDENTS: Student = "students" (
    "id, name, passcode_sealed, passcode_lookup, date_of_birth, profile, class, \
     teacher, points, level, rewards, pending_points, created_at, updated_at, \
     version, earned_points",
    id, name, passcode_sealed, passcode_lookup, date_of_birth, profile, class, teacher, points,
    level, rewards, pending_points, created_at, updated_at, version, earned_points
));

/// Moves a teacher's students from class `from` to class `to` (inside the caller's transaction).
pub(super) fn rename_class(
    c: &Connection,
    teacher: &Id,
    from: &str,
    to: &str,
    now: Millis,
) -> rusqlite::Result<u64> {
    c.exec(
        "UPDATE students SET class = ?3, updated_at = ?4 \
         WHERE teacher = ?1 AND class = ?2",
        params![teacher, from, to, now],
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
        STUDENTS.insert(&self.db, "students.insert", s).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Student>> {
        STUDENTS.by_id(&self.db, "students.by_id", id).await
    }

    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Student>> {
        STUDENTS.by_ids(&self.db, "students.by_ids", ids).await
    }

    async fn by_passcode_lookup(&self, lookup: &str) -> StoreResult<Option<Student>> {
        self.db
            .read("students.by_passcode_lookup", |c| {
                STUDENTS.find(c, "passcode_lookup", &lookup)
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
        let (teacher, class) = (teacher.clone(), class.map(str::to_owned));
        self.db
            .scan("students.list_for_teacher", move |c| {
                let filter =
                    format!("{NAME_FILTER} AND teacher = ?2 AND (?3 IS NULL OR class = ?3)");
                STUDENTS.page(c, &filter, &[&pattern, &teacher, &class], &q)
            })
            .await
    }

    async fn list_all(&self, q: &ListQuery) -> StoreResult<Page<Student>> {
        let (pattern, q) = (q.search.as_deref().map(like_pattern), q.clone());
        self.db
            .scan("students.list_all", move |c| {
                STUDENTS.page(c, NAME_FILTER, &[&pattern], &q)
            })
            .await
    }

    async fn update(&self, id: &Id, p: &StudentPatch, now: Millis) -> StoreResult<Option<Student>> {
        let p = p.clone();
        STUDENTS
            .update(
                &self.db,
                "students.update",
                "UPDATE students SET name = COALESCE(?2, name), profile = COALESCE(?3, profile), \
                 date_of_birth = COALESCE(?4, date_of_birth), updated_at = ?5, version = version + 1 \
                 WHERE id = ?1",
                vec![
                    Box::new(id.clone()),
                    Box::new(p.name),
                    Box::new(p.profile),
                    Box::new(p.date_of_birth),
                    Box::new(now),
                ],
            )
            .await
    }

    async fn set_passcode(
        &self,
        id: &Id,
        sealed: &str,
        lookup: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let (id, sealed, lookup) = (id.clone(), sealed.to_owned(), lookup.to_owned());
        self.db
            .write("students.set_passcode", move |c| {
                c.exec(
                    "UPDATE students SET passcode_sealed = ?2, passcode_lookup = ?3, updated_at = ?4 \
                     WHERE id = ?1",
                    params![id, sealed, lookup, now],
                )
                .map(|n| n == 1)
            })
            .await
    }

    async fn count(&self) -> StoreResult<u64> {
        self.db
            .scan("students.count", |c| {
                count(c, "SELECT COUNT(*) FROM students", [])
            })
            .await
    }

    async fn count_for_teacher(&self, teacher: &Id) -> StoreResult<u64> {
        let teacher = teacher.clone();
        self.db
            .read("students.count_for_teacher", move |c| {
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
            .scan("students.count_created_between", move |c| {
                count(
                    c,
                    "SELECT COUNT(*) FROM students WHERE created_at >= ?1 AND created_at < ?2",
                    [from, to],
                )
            })
            .await
    }

    async fn rename_class(
        &self,
        teacher: &Id,
        from: &str,
        to: &str,
        now: Millis,
    ) -> StoreResult<u64> {
        let (teacher, from, to) = (teacher.clone(), from.to_owned(), to.to_owned());
        self.db
            .write("students.rename_class", move |c| {
                rename_class(c, &teacher, &from, &to, now)
            })
            .await
    }
}
