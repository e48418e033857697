use crate::domain::account::{AdminPatch, TeacherPatch};
use crate::domain::{Admin, Id, Teacher};

use super::StoreResult;

/// One page of a list: 1-based `page`, `limit` items, optional case-insensitive substring `search`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub page: u64,
    pub limit: u64,
    pub search: Option<String>,
}

impl ListQuery {
    pub fn skip(&self) -> u64 {
        (self.page.max(1) - 1).saturating_mul(self.limit)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[async_trait::async_trait]
pub trait Teachers: Send + Sync {
    /// Fails with `Conflict` when the email is taken.
    async fn insert(&self, teacher: &Teacher) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Teacher>>;
    async fn by_email(&self, email: &str) -> StoreResult<Option<Teacher>>;
    /// Newest first; `search` matches name or email.
    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Teacher>>;
    /// Applies the set fields, bumps `updatedAt` and `__v`; `None` when there is no such teacher.
    async fn update(&self, id: &Id, patch: &TeacherPatch) -> StoreResult<Option<Teacher>>;
    async fn set_password_hash(&self, id: &Id, hash: &str) -> StoreResult<bool>;
    async fn count(&self) -> StoreResult<u64>;
}

#[async_trait::async_trait]
pub trait Admins: Send + Sync {
    /// Fails with `Conflict` when the email is taken.
    async fn insert(&self, admin: &Admin) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Admin>>;
    async fn by_email(&self, email: &str) -> StoreResult<Option<Admin>>;
    /// Fails with `Conflict` when a new email is taken.
    async fn update(&self, id: &Id, patch: &AdminPatch) -> StoreResult<Option<Admin>>;
    async fn set_password_hash(&self, id: &Id, hash: &str) -> StoreResult<bool>;
}
