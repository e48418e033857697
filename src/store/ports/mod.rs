//! The storage ports: one small trait per aggregate, speaking domain types, grouped by family.
//! Both adapters (`sqlite/`, `mongo/`) implement every one.

mod accounts;
mod assignments;
mod classroom;
mod content;
mod notifications;
mod payments;

pub use accounts::{
    Account, AccountOps, Accounts, Admins, Consumed, RefreshToken, RefreshTokens, Students,
    Teachers,
};
pub use assignments::{AssignmentCounts, PointsSettlement, RewardAssignments, TaskAssignments};
pub use classroom::{
    Categories, ClassDelete, ClassUpdate, Classes, ItemOps, PagedItem, PagedItems, Rewards, Tasks,
    TeacherItem, TeacherItems,
};
pub use content::{Feedbacks, Presets, Rules, Uploads};
pub use notifications::{Device, Lease, Notifications, OutboxRow, OutboxState, Platform, Push};
pub use payments::{
    PaymentFilter, PaymentHold, PaymentOutcome, Payments, RefundMade, RefundRecorded, Settled,
};

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
