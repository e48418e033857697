use rusqlite::{OptionalExtension, Row, params};

use super::{Db, find_by, like_pattern, page};
use crate::domain::account::{AdminPatch, TeacherPatch};
use crate::domain::{AccountStatus, Admin, AdminRole, Id, Millis, Teacher};
use crate::store::{Admins, ListQuery, Page, StoreResult, Teachers};

const TEACHER_COLUMNS: &str = "id, name, email, contact, location, profile, status, password_hash, \
                               passcode_sealed, created_at, updated_at, version, token_epoch";
const ADMIN_COLUMNS: &str = "id, name, email, contact, location, profile, role, password_hash, \
                             created_at, updated_at, version, token_epoch";

/// A stored value the domain does not know (edited by hand, or written by a newer version).
pub(super) fn corrupt(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unexpected {what}").into(),
    )
}

pub(super) fn id_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Id> {
    let raw: String = row.get(index)?;
    Id::parse(&raw).map_err(|_| corrupt(index, "id"))
}

fn teacher_from_row(row: &Row<'_>) -> rusqlite::Result<Teacher> {
    let status: String = row.get(6)?;
    Ok(Teacher {
        id: id_column(row, 0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        contact: row.get(3)?,
        location: row.get(4)?,
        profile: row.get(5)?,
        status: AccountStatus::parse(&status).ok_or_else(|| corrupt(6, "status"))?,
        password_hash: row.get(7)?,
        passcode_sealed: row.get(8)?,
        created_at: Millis(row.get(9)?),
        updated_at: Millis(row.get(10)?),
        version: row.get(11)?,
        token_epoch: row.get(12)?,
    })
}

fn admin_from_row(row: &Row<'_>) -> rusqlite::Result<Admin> {
    let role: String = row.get(6)?;
    Ok(Admin {
        id: id_column(row, 0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        contact: row.get(3)?,
        location: row.get(4)?,
        profile: row.get(5)?,
        role: AdminRole::parse(&role).ok_or_else(|| corrupt(6, "role"))?,
        password_hash: row.get(7)?,
        created_at: Millis(row.get(8)?),
        updated_at: Millis(row.get(9)?),
        version: row.get(10)?,
        token_epoch: row.get(11)?,
    })
}

pub(super) fn count(
    c: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<u64> {
    c.query_row(sql, params, |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
}

pub(super) struct SqliteTeachers {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Teachers for SqliteTeachers {
    async fn insert(&self, t: &Teacher) -> StoreResult<()> {
        let t = t.clone();
        self.db
            .call("teachers.insert", move |c| {
                c.execute(
                    &format!("INSERT INTO teachers ({TEACHER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
                    params![
                        t.id.as_str(), t.name, t.email, t.contact, t.location, t.profile,
                        t.status.as_str(), t.password_hash, t.passcode_sealed,
                        t.created_at.0, t.updated_at.0, t.version, t.token_epoch
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Teacher>> {
        let id = id.clone();
        self.db
            .call("teachers.by_id", move |c| {
                find_by(
                    c,
                    "teachers",
                    TEACHER_COLUMNS,
                    "id",
                    id.as_str(),
                    teacher_from_row,
                )
            })
            .await
    }

    async fn by_email(&self, email: &str) -> StoreResult<Option<Teacher>> {
        let email = email.to_owned();
        self.db
            .call("teachers.by_email", move |c| {
                find_by(
                    c,
                    "teachers",
                    TEACHER_COLUMNS,
                    "email",
                    &email,
                    teacher_from_row,
                )
            })
            .await
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Teacher>> {
        let (pattern, q) = (q.search.as_deref().map(like_pattern), q.clone());
        self.db
            .call("teachers.list", move |c| {
                let filter = "?1 IS NULL OR name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'";
                page(
                    c,
                    "teachers",
                    TEACHER_COLUMNS,
                    filter,
                    &[&pattern],
                    &q,
                    teacher_from_row,
                )
            })
            .await
    }

    async fn update(&self, id: &Id, p: &TeacherPatch) -> StoreResult<Option<Teacher>> {
        let (id, p) = (id.clone(), p.clone());
        self.db
            .call("teachers.update", move |c| {
                let tx = c.transaction()?;
                let changed = tx.execute(
                    "UPDATE teachers SET name = COALESCE(?2, name), contact = COALESCE(?3, contact), \
                     location = COALESCE(?4, location), profile = COALESCE(?5, profile), \
                     updated_at = ?6, version = version + 1 WHERE id = ?1",
                    params![id.as_str(), p.name, p.contact, p.location, p.profile, Millis::now().0],
                )?;
                let teacher = if changed == 0 {
                    None
                } else {
                    Some(tx.query_row(
                        &format!("SELECT {TEACHER_COLUMNS} FROM teachers WHERE id = ?1"),
                        [id.as_str()],
                        teacher_from_row,
                    )?)
                };
                tx.commit()?;
                Ok(teacher)
            })
            .await
    }

    async fn set_password_hash(&self, id: &Id, hash: &str) -> StoreResult<bool> {
        let (id, hash) = (id.clone(), hash.to_owned());
        self.db
            .call("teachers.set_password_hash", move |c| {
                c.execute(
                    "UPDATE teachers SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id.as_str(), hash, Millis::now().0],
                )
                .map(|n| n == 1)
            })
            .await
    }

    async fn change_password(&self, id: &Id, hash: &str) -> StoreResult<Option<i64>> {
        let (id, hash) = (id.clone(), hash.to_owned());
        self.db
            .call("teachers.change_password", move |c| {
                c.query_row(
                    "UPDATE teachers SET password_hash = ?2, updated_at = ?3, \
                     token_epoch = token_epoch + 1 WHERE id = ?1 RETURNING token_epoch",
                    params![id.as_str(), hash, Millis::now().0],
                    |r| r.get(0),
                )
                .optional()
            })
            .await
    }

    async fn set_status(&self, id: &Id, status: AccountStatus) -> StoreResult<Option<i64>> {
        let id = id.clone();
        self.db
            .call("teachers.set_status", move |c| {
                c.query_row(
                    "UPDATE teachers SET status = ?2, updated_at = ?3, \
                     token_epoch = token_epoch + 1 WHERE id = ?1 RETURNING token_epoch",
                    params![id.as_str(), status.as_str(), Millis::now().0],
                    |r| r.get(0),
                )
                .optional()
            })
            .await
    }

    async fn set_passcode_if_missing(&self, id: &Id, sealed: &str) -> StoreResult<bool> {
        let (id, sealed) = (id.clone(), sealed.to_owned());
        self.db
            .call("teachers.set_passcode_if_missing", move |c| {
                c.execute(
                    "UPDATE teachers SET passcode_sealed = ?2 WHERE id = ?1 AND passcode_sealed IS NULL",
                    params![id.as_str(), sealed],
                )
                .map(|n| n == 1)
            })
            .await
    }

    async fn count(&self) -> StoreResult<u64> {
        self.db
            .call("teachers.count", |c| {
                count(c, "SELECT COUNT(*) FROM teachers", [])
            })
            .await
    }

    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64> {
        self.db
            .call("teachers.count_created_between", move |c| {
                count(
                    c,
                    "SELECT COUNT(*) FROM teachers WHERE created_at >= ?1 AND created_at < ?2",
                    [from.0, to.0],
                )
            })
            .await
    }
}

pub(super) struct SqliteAdmins {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl Admins for SqliteAdmins {
    async fn insert(&self, a: &Admin) -> StoreResult<()> {
        let a = a.clone();
        self.db
            .call("admins.insert", move |c| {
                c.execute(
                    &format!("INSERT INTO admins ({ADMIN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                    params![
                        a.id.as_str(), a.name, a.email, a.contact, a.location, a.profile,
                        a.role.as_str(), a.password_hash, a.created_at.0, a.updated_at.0, a.version,
                        a.token_epoch
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Admin>> {
        let id = id.clone();
        self.db
            .call("admins.by_id", move |c| {
                find_by(
                    c,
                    "admins",
                    ADMIN_COLUMNS,
                    "id",
                    id.as_str(),
                    admin_from_row,
                )
            })
            .await
    }

    async fn by_email(&self, email: &str) -> StoreResult<Option<Admin>> {
        let email = email.to_owned();
        self.db
            .call("admins.by_email", move |c| {
                find_by(c, "admins", ADMIN_COLUMNS, "email", &email, admin_from_row)
            })
            .await
    }

    async fn update(&self, id: &Id, p: &AdminPatch) -> StoreResult<Option<Admin>> {
        let (id, p) = (id.clone(), p.clone());
        self.db
            .call("admins.update", move |c| {
                let tx = c.transaction()?;
                let changed = tx.execute(
                    "UPDATE admins SET name = COALESCE(?2, name), email = COALESCE(?3, email), \
                     contact = COALESCE(?4, contact), location = COALESCE(?5, location), \
                     profile = COALESCE(?6, profile), updated_at = ?7, version = version + 1 \
                     WHERE id = ?1",
                    params![
                        id.as_str(),
                        p.name,
                        p.email,
                        p.contact,
                        p.location,
                        p.profile,
                        Millis::now().0
                    ],
                )?;
                let admin = if changed == 0 {
                    None
                } else {
                    Some(tx.query_row(
                        &format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE id = ?1"),
                        [id.as_str()],
                        admin_from_row,
                    )?)
                };
                tx.commit()?;
                Ok(admin)
            })
            .await
    }

    async fn set_password_hash(&self, id: &Id, hash: &str) -> StoreResult<bool> {
        let (id, hash) = (id.clone(), hash.to_owned());
        self.db
            .call("admins.set_password_hash", move |c| {
                c.execute(
                    "UPDATE admins SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id.as_str(), hash, Millis::now().0],
                )
                .map(|n| n == 1)
            })
            .await
    }

    async fn change_password(&self, id: &Id, hash: &str) -> StoreResult<Option<i64>> {
        let (id, hash) = (id.clone(), hash.to_owned());
        self.db
            .call("admins.change_password", move |c| {
                c.query_row(
                    "UPDATE admins SET password_hash = ?2, updated_at = ?3, \
                     token_epoch = token_epoch + 1 WHERE id = ?1 RETURNING token_epoch",
                    params![id.as_str(), hash, Millis::now().0],
                    |r| r.get(0),
                )
                .optional()
            })
            .await
    }
}
