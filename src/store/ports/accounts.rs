//! Teachers, admins and students, and the refresh tokens that keep them signed in.

use crate::domain::account::{AdminPatch, TeacherPatch};
use crate::domain::student::StudentPatch;
use crate::domain::{AccountStatus, Admin, Id, Millis, Role, Student, Teacher};
use crate::store::StoreResult;

use super::{Change, Changes, ListQuery, Ops, Page, Record, Records, ops};

/// Teachers and admins: accounts that sign in by email and password, and that a new token epoch
/// signs out everywhere.
pub trait Account: Record {}

impl Account for Teacher {}
impl Account for Admin {}

impl Record for Teacher {
    type Patch = TeacherPatch;
    const OPS: Ops = ops!("teachers");

    fn changes(p: &TeacherPatch) -> Changes {
        let fields = [
            ("name", &p.name),
            ("contact", &p.contact),
            ("location", &p.location),
            ("profile", &p.profile),
        ];
        Change::texts(fields)
    }
}

impl Record for Admin {
    type Patch = AdminPatch;
    const OPS: Ops = ops!("admins");

    /// An admin edits what a teacher does, and its email.
    fn changes(p: &AdminPatch) -> Changes {
        let mut changes = Change::texts([("email", &p.email)]);
        changes.extend(Teacher::changes(&TeacherPatch {
            name: p.name.clone(),
            contact: p.contact.clone(),
            location: p.location.clone(),
            profile: p.profile.clone(),
        }));
        changes
    }
}

/// The port methods every [`Account`] shares.
#[async_trait::async_trait]
pub trait Accounts<A: Account>: Records<A> {
    async fn by_email(&self, email: &str) -> StoreResult<Option<A>>;
    /// Applies the set fields, bumps `updatedAt` and `__v`; `None` when there is no such account.
    /// Fails with `Conflict` when a new email is taken.
    async fn update(&self, id: &Id, patch: &A::Patch, now: Millis) -> StoreResult<Option<A>>;
    /// Replaces the hash without ending sessions (a parameter upgrade at login).
    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool>;
    /// A new password: sets the hash and increments `token_epoch`, which ends every access token
    /// issued before. The new epoch; `None` when there is no such account.
    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>>;
}

#[async_trait::async_trait]
pub trait Teachers: Accounts<Teacher> {
    /// Newest first; `search` matches name or email.
    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Teacher>>;
    /// Blocks or unblocks, and increments `token_epoch` (as `change_password`).
    async fn set_status(
        &self,
        id: &Id,
        status: AccountStatus,
        now: Millis,
    ) -> StoreResult<Option<i64>>;
    /// Sets the teacher's sealed pass-code only if it has none; `false` when one was already set
    /// (a concurrent request won) or there is no such teacher.
    async fn set_passcode_if_missing(&self, id: &Id, sealed: &str) -> StoreResult<bool>;
    async fn count(&self) -> StoreResult<u64>;
    /// Teachers created in `[from, to)`.
    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64>;
}

/// The admins' port, by its name: nothing beyond what every account has.
pub trait Admins: Accounts<Admin> {}
impl<S: Accounts<Admin>> Admins for S {}

#[async_trait::async_trait]
pub trait Students: Send + Sync {
    /// Fails with `Conflict` when the passcode (its lookup key) is taken.
    async fn insert(&self, student: &Student) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Student>>;
    /// The students among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Student>>;
    /// Finds a student by the HMAC of its passcode.
    async fn by_passcode_lookup(&self, lookup: &str) -> StoreResult<Option<Student>>;
    /// A teacher's students, newest first; `class` keeps one class; `search` matches the name.
    async fn list_for_teacher(
        &self,
        teacher: &Id,
        class: Option<&str>,
        query: &ListQuery,
    ) -> StoreResult<Page<Student>>;
    /// Every student, newest first; `search` matches the name.
    async fn list_all(&self, query: &ListQuery) -> StoreResult<Page<Student>>;
    async fn update(
        &self,
        id: &Id,
        patch: &StudentPatch,
        now: Millis,
    ) -> StoreResult<Option<Student>>;
    async fn count(&self) -> StoreResult<u64>;
    async fn count_for_teacher(&self, teacher: &Id) -> StoreResult<u64>;
    /// Students created in `[from, to)`.
    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64>;
}

/// A refresh token as stored: only its keyed hash, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    pub hash: String,
    /// Every token rotated from one login shares its family; reuse of any revokes them all.
    pub family: String,
    pub account_id: Id,
    pub role: Role,
    pub expires_at: Millis,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consumed {
    /// It was valid and is now used: issue its successor.
    Fresh(RefreshToken),
    /// It was used or revoked before: a stolen copy is being replayed. Revoke the family.
    Reused(RefreshToken),
    /// Unknown or expired.
    Invalid,
}

#[async_trait::async_trait]
pub trait RefreshTokens: Send + Sync {
    async fn insert(&self, token: &RefreshToken) -> StoreResult<()>;
    /// Marks the token used, exactly once even under concurrent calls.
    async fn consume(&self, hash: &str, now: Millis) -> StoreResult<Consumed>;
    async fn revoke_family(&self, family: &str) -> StoreResult<()>;
    /// Every token of an account (password changed or reset, account removed).
    async fn revoke_account(&self, account_id: &Id) -> StoreResult<()>;
}
