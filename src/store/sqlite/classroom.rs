//! Classes on SQLite (what a teacher sets up for them is in `items.rs`).

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::{corrupt, count};
use super::students::rename_class;
use super::table::boxed;
use super::{Cached, Rows, table};
use crate::domain::classroom::ClassChange;
use crate::domain::{Class, Id};
use crate::store::rows::shared_rows;
use crate::store::{ClassDelete, ClassUpdate, Classes, ListQuery, OwnerWrite, Page, StoreResult};

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

#[async_trait::async_trait]
impl Classes for Rows<Class> {
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
        write: OwnerWrite<'_>,
        change: &ClassChange,
    ) -> StoreResult<ClassUpdate> {
        let (teacher, id, now) = (write.owner.clone(), write.id.clone(), write.now);
        let change = change.clone();
        self.db
            .write("classes.update", move |c| {
                let tx = c.transaction()?;
                let Some(current) = own_class(&tx, &teacher, &id)? else {
                    return Ok(ClassUpdate::NotFound);
                };
                if current.version != change.expected_version {
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

    async fn delete_if_empty(&self, write: OwnerWrite<'_>) -> StoreResult<ClassDelete> {
        let (teacher, id) = (write.owner.clone(), write.id.clone());
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
