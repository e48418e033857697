use rusqlite::{Connection, OptionalExtension, params};

use super::table::{boxed, set_of};
use super::{Cached, Db, Rows, Tabled, like_pattern, table};
use crate::domain::{AccountStatus, Admin, Id, Millis, Teacher};
use crate::store::rows::shared_rows;
use crate::store::{Account, Accounts, ListQuery, Page, StoreResult, Teachers};

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

#[async_trait::async_trait]
impl<A: Account + Tabled> Accounts<A> for Rows<A> {
    async fn by_email(&self, email: &str) -> StoreResult<Option<A>> {
        A::table()
            .by(&self.db, A::OPS.by_email, "email", email)
            .await
    }

    async fn update(&self, id: &Id, p: &A::Patch, now: Millis) -> StoreResult<Option<A>> {
        let set = set_of(A::changes(p));
        A::table()
            .patch(&self.db, A::OPS.update, &[("id", id)], set, now)
            .await
    }

    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE {} SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
            A::table().name
        );
        let (id, hash) = (id.clone(), hash.to_owned());
        self.db
            .write(A::OPS.set_password_hash, move |c| {
                c.exec(&sql, params![id, hash, now]).map(|n| n == 1)
            })
            .await
    }

    /// A new password, which ends every session (a new token epoch, returned).
    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>> {
        let (op, hash) = (A::OPS.change_password, hash.to_owned());
        set_ending_sessions::<A>(&self.db, op, id, "password_hash", hash, now).await
    }
}

/// Sets `column` (`?2`) and moves the account to a new token epoch, which it returns.
async fn set_ending_sessions<A: Tabled>(
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
        A::table().name
    );
    let id = id.clone();
    db.write(op, move |c| {
        c.one(&sql, params![id, value, now], |r| r.get(0))
            .optional()
    })
    .await
}

#[async_trait::async_trait]
impl Teachers for Rows<Teacher> {
    shared_rows!(table TEACHERS, Teacher, "teachers": count_created_between);

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Teacher>> {
        let pattern = boxed(q.search.as_deref().map(like_pattern));
        let filter = "?1 IS NULL OR name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'";
        TEACHERS
            .scan_page(&self.db, "teachers.list", filter, vec![pattern], q)
            .await
    }

    async fn set_status(
        &self,
        id: &Id,
        status: AccountStatus,
        now: Millis,
    ) -> StoreResult<Option<i64>> {
        let (op, status) = ("teachers.set_status", status.as_str().to_owned());
        set_ending_sessions::<Teacher>(&self.db, op, id, "status", status, now).await
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
