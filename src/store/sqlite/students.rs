use rusqlite::{Connection, params};

use super::table::boxed;
use super::{Cached, Db, like_pattern, table};
use crate::domain::student::StudentPatch;
use crate::domain::{Id, Millis, Student};
use crate::store::rows::shared_rows;
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
    shared_rows!(table STUDENTS, Student, "students":
        insert, by_id, by_ids, count_created_between);

    async fn by_passcode_lookup(&self, lookup: &str) -> StoreResult<Option<Student>> {
        let op = "students.by_passcode_lookup";
        STUDENTS.by(&self.db, op, "passcode_lookup", lookup).await
    }

    async fn list_for_teacher(
        &self,
        teacher: &Id,
        class: Option<&str>,
        q: &ListQuery,
    ) -> StoreResult<Page<Student>> {
        let pattern = q.search.as_deref().map(like_pattern);
        let args = vec![
            boxed(pattern),
            boxed(teacher.clone()),
            boxed(class.map(str::to_owned)),
        ];
        let filter = "(?1 IS NULL OR name LIKE ?1 ESCAPE '\\') AND teacher = ?2 \
                      AND (?3 IS NULL OR class = ?3)";
        STUDENTS
            .scan_page(&self.db, "students.list_for_teacher", filter, args, q)
            .await
    }

    async fn list_all(&self, q: &ListQuery) -> StoreResult<Page<Student>> {
        let pattern = boxed(q.search.as_deref().map(like_pattern));
        STUDENTS
            .scan_page(&self.db, "students.list_all", NAME_FILTER, vec![pattern], q)
            .await
    }

    async fn update(&self, id: &Id, p: &StudentPatch, now: Millis) -> StoreResult<Option<Student>> {
        let p = p.clone();
        let set = vec![
            ("name", boxed(p.name)),
            ("profile", boxed(p.profile)),
            ("date_of_birth", boxed(p.date_of_birth)),
        ];
        let key = [("id", id)];
        STUDENTS
            .patch(&self.db, "students.update", &key, set, now)
            .await
    }

    async fn count(&self) -> StoreResult<u64> {
        STUDENTS
            .count(&self.db, "students.count", "1", vec![])
            .await
    }

    async fn count_for_teacher(&self, teacher: &Id) -> StoreResult<u64> {
        // An indexed count on the request path (the teacher's profile): inline, like a lookup.
        let teacher = teacher.clone();
        self.db
            .read("students.count_for_teacher", move |c| {
                super::accounts::count(
                    c,
                    "SELECT COUNT(*) FROM students WHERE teacher = ?1",
                    [teacher],
                )
            })
            .await
    }
}
