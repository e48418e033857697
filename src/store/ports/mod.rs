//! The storage ports: one small trait per aggregate, speaking domain types, grouped by family.
//! Both adapters (`sqlite/`, `mongo/`) implement every one.

mod accounts;
mod assignments;
mod classroom;
mod content;
mod notifications;
mod payments;

use crate::domain::{Id, Millis};
use crate::store::StoreResult;

pub use accounts::{
    Account, Accounts, Admins, Consumed, RefreshToken, RefreshTokens, Students, Teachers,
};
pub use assignments::{AssignmentCounts, PointsSettlement, RewardAssignments, TaskAssignments};
pub use classroom::{
    Categories, ClassDelete, ClassUpdate, Classes, PagedItem, PagedItems, Rewards, Tasks,
    TeacherItem, TeacherItems,
};
pub use content::{Feedbacks, Presets, Rules, Uploads};
pub use notifications::{Device, Lease, Notifications, OutboxRow, OutboxState, Platform, Push};
pub use payments::{
    PaymentFilter, PaymentHold, PaymentOutcome, Payments, RefundMade, RefundRecorded, Settled,
};

/// The names a collection's shared port methods are timed and traced under
/// (`<collection>.<method>`); written by [`ops!`].
pub struct Ops {
    pub insert: &'static str,
    pub by_id: &'static str,
    pub by_ids: &'static str,
    pub by_email: &'static str,
    pub list: &'static str,
    pub update: &'static str,
    pub set_password_hash: &'static str,
    pub change_password: &'static str,
}

/// The [`Ops`] of the collection `$prefix`.
macro_rules! ops {
    ($prefix:literal) => {
        $crate::store::Ops {
            insert: concat!($prefix, ".insert"),
            by_id: concat!($prefix, ".by_id"),
            by_ids: concat!($prefix, ".by_ids"),
            by_email: concat!($prefix, ".by_email"),
            list: concat!($prefix, ".list_for_teacher"),
            update: concat!($prefix, ".update"),
            set_password_hash: concat!($prefix, ".set_password_hash"),
            change_password: concat!($prefix, ".change_password"),
        }
    };
}

pub(crate) use ops;

/// The new value of one field an edit may set; `None` leaves the field as stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Text(Option<String>),
    Number(Option<i64>),
    Id(Option<Id>),
}

/// What an edit sets, by the field's stored name: SQLite's column, which MongoDB stores in
/// camelCase (`required_points` is `requiredPoints`).
pub type Changes = Vec<(&'static str, Change)>;

impl Change {
    /// Text fields as [`Changes`].
    pub fn texts<const N: usize>(fields: [(&'static str, &Option<String>); N]) -> Changes {
        let text = |value: &Option<String>| Change::Text(value.clone());
        fields
            .into_iter()
            .map(|(name, value)| (name, text(value)))
            .collect()
    }
}

/// A record that a port written once for several collections serves (accounts, teacher items).
pub trait Record: Clone + Send + Sync + 'static {
    /// What an edit may change; a `None` field stays as it is.
    type Patch: Clone + Send + Sync + 'static;
    const OPS: Ops;
    /// The fields a patch sets.
    fn changes(patch: &Self::Patch) -> Changes;
}

/// The port methods every [`Record`] has.
#[async_trait::async_trait]
pub trait Records<T: Record>: Send + Sync {
    /// Fails with `Conflict` when a unique field (an account's email) is taken.
    async fn insert(&self, record: &T) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<T>>;
}

/// A write an owner makes to one of its records (a teacher's class, item or project, a student's
/// assignment, a recipient's notification) at `now`: the store changes `id` only when `owner`
/// holds it, answers as if there were no such record otherwise, and stamps what it changes with
/// `now`. The two ids are named rather than placed, so they cannot be swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerWrite<'a> {
    pub owner: &'a Id,
    pub id: &'a Id,
    pub now: Millis,
}

/// One page of a list: 1-based `page`, `limit` items, optional case-insensitive substring `search`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub page: u64,
    pub limit: u64,
    pub search: Option<String>,
}

impl ListQuery {
    /// The highest page a list serves (10 million records at 10 a page): beyond it, offsets would
    /// overflow SQLite's signed OFFSET and exceed what a database skips in reasonable time.
    pub const MAX_PAGE: u64 = 1_000_000;

    pub fn skip(&self) -> u64 {
        (self.page.clamp(1, Self::MAX_PAGE) - 1).saturating_mul(self.limit)
    }

    /// Whether this page starts after the last of `total` records: its items are then `[]`
    /// without asking the database to skip that far.
    pub fn is_past(&self, total: u64) -> bool {
        self.skip() >= total
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}
