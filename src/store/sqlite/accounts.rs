use rusqlite::{Connection, OptionalExtension, params};

use super::table::boxed;
use super::{Cached, Db, Table, like_pattern, table};
use crate::domain::account::{AdminPatch, TeacherPatch};
use crate::domain::{AccountStatus, Admin, Id, Millis, Teacher};
use crate::store::rows::shared_rows;
use crate::store::{Admins, ListQuery, Page, StoreResult, Teachers};

/// A stored value the domain does not know (edited by hand, or written by a newer version).
pub(super) fn corrupt(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unexpected {what}").into(),
    )
}

pub(super) fn count(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<u64> {
    c.one(sql, params, |r| r.get::<_, i64>(0)).map(|n| n as u64)
}

table!(TEACHERS: Teacher = "teachers" (
    "id, name, email, contact, location, profile, status, password_hash, \
     passcode_sealed, created_at, updated_at, version, token_epoch",
    id, name, email, contact, location, profile, status, password_hash, passcode_sealed,
    created_at, updated_at, version, token_epoch
));

table!(ADMINS: Admin = "admins" (
    "id, name, email, contact, location, profile, role, password_hash, created_at, \
     updated_at, version, token_epoch",
    id, name, email, contact, location, profile, role, password_hash, created_at, updated_at,
    version, token_epoch
));

/// What teachers and admins share: the email, a password, a token epoch.
impl<T: Send + 'static> Table<T> {
    async fn by_email(
        &'static self,
        db: &Db,
        op: &'static str,
        email: &str,
    ) -> StoreResult<Option<T>> {
        self.by(db, op, "email", email).await
    }

    /// A new password, which ends every session (a new token epoch, returned).
    async fn change_password(
        &'static self,
        db: &Db,
        op: &'static str,
        id: &Id,
        hash: &str,
        now: Millis,
    ) -> StoreResult<Option<i64>> {
        self.set_ending_sessions(db, op, id, "password_hash", hash.to_owned(), now)
            .await
    }

    async fn set_password_hash(
        &'static self,
        db: &Db,
        op: &'static str,
        id: &Id,
        hash: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE {} SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
            self.name
        );
        let (id, hash) = (id.clone(), hash.to_owned());
        db.write(op, move |c| {
            c.exec(&sql, params![id, hash, now]).map(|n| n == 1)
        })
        .await
    }

    /// Sets `column` (`?2`) and moves the account to a new token epoch, which it returns.
    async fn set_ending_sessions(
        &'static self,
        db: &Db,
        op: &'static str,
        id: &Id,
        column: &'static str,
        value: String,
        now: Millis,
    ) -> StoreResult<Option<i64>> {
        let sql = format!(
            "UPDATE {} SET {column} = ?2, updated_at = ?3, token_epoch = token_epoch + 1 \
             WHERE id = ?1 RETURNING token_epoch",
            self.name
        );
        let id = id.clone();
        db.write(op, move |c| {
            c.one(&sql, params![id, value, now], |r| r.get(0))
                .optional()
        })
        .await
    }
}

pub(super) struct SqliteTeachers {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Teachers for SqliteTeachers {
    shared_rows!(table TEACHERS, Teacher, "teachers":
        insert, by_id, by_email, set_password_hash, change_password, count_created_between);

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Teacher>> {
        let pattern = boxed(q.search.as_deref().map(like_pattern));
        let filter = "?1 IS NULL OR name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'";
        TEACHERS
            .scan_page(&self.db, "teachers.list", filter, vec![pattern], q)
            .await
    }

    async fn update(&self, id: &Id, p: &TeacherPatch, now: Millis) -> StoreResult<Option<Teacher>> {
        let p = p.clone();
        let set = vec![
            ("name", boxed(p.name)),
            ("contact", boxed(p.contact)),
            ("location", boxed(p.location)),
            ("profile", boxed(p.profile)),
        ];
        let key = [("id", id)];
        TEACHERS
            .patch(&self.db, "teachers.update", &key, set, now)
            .await
    }

    async fn set_status(
        &self,
        id: &Id,
        status: AccountStatus,
        now: Millis,
    ) -> StoreResult<Option<i64>> {
        TEACHERS
            .set_ending_sessions(
                &self.db,
                "teachers.set_status",
                id,
                "status",
                status.as_str().to_owned(),
                now,
            )
            .await
    }

    async fn set_passcode_if_missing(&self, id: &Id, sealed: &str) -> StoreResult<bool> {
        let sql =
            "UPDATE teachers SET passcode_sealed = ?2 WHERE id = ?1 AND passcode_sealed IS NULL";
        let op = "teachers.set_passcode_if_missing";
        Ok(self
            .db
            .execute(op, sql, (id.clone(), sealed.to_owned()))
            .await?
            == 1)
    }

    async fn count(&self) -> StoreResult<u64> {
        TEACHERS
            .count(&self.db, "teachers.count", "1", vec![])
            .await
    }
}

pub(super) struct SqliteAdmins {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Admins for SqliteAdmins {
    shared_rows!(table ADMINS, Admin, "admins":
        insert, by_id, by_email, set_password_hash, change_password);

    async fn update(&self, id: &Id, p: &AdminPatch, now: Millis) -> StoreResult<Option<Admin>> {
        let p = p.clone();
        let set = vec![
            ("name", boxed(p.name)),
            ("email", boxed(p.email)),
            ("contact", boxed(p.contact)),
            ("location", boxed(p.location)),
            ("profile", boxed(p.profile)),
        ];
        let key = [("id", id)];
        ADMINS
            .patch(&self.db, "admins.update", &key, set, now)
            .await
    }
}
