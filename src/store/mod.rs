//! Storage ports (one small trait per aggregate, speaking domain types) and the two adapters
//! behind them: embedded SQLite (default) and MongoDB (production).

pub mod files;
pub mod mongo;
mod ports;
mod rows;
pub mod sqlite;

use std::sync::Arc;

pub use files::{FileStream, Files, StoredFile};
pub use ports::{Account, Accounts, Change, Changes, Ops, Record, Records};
pub use ports::{
    Admins, AssignmentCounts, Categories, ClassDelete, ClassUpdate, Classes, Consumed, ListQuery,
    Notifications, OwnerWrite, Page, PointsSettlement, RefreshToken, RefreshTokens,
    RewardAssignments, Rewards, Students, TaskAssignments, Tasks, Teachers,
};
pub use ports::{Device, Lease, OutboxRow, OutboxState, Platform, Push};
pub use ports::{Feedbacks, Presets, Rules, Uploads};
pub use ports::{PagedItem, PagedItems, TeacherItem, TeacherItems};
pub use ports::{
    PaymentFilter, PaymentHold, PaymentOutcome, Payments, RefundMade, RefundRecorded, Settled,
};
use secrecy::ExposeSecret;

use crate::config::DatabaseConfig;
use crate::ops::metrics;
use crate::ops::timed::{Families, timed};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint said no: the `field` of an `entity` is taken.
    #[error("{entity} with this {field} already exists")]
    Conflict {
        entity: &'static str,
        field: &'static str,
    },
    /// The database could not be reached (down, timed out, no primary).
    #[error("the database is unavailable")]
    Unavailable(#[source] Cause),
    /// Anything else the database said; a bug or a corrupted record, never the client's fault.
    #[error("database error")]
    Backend(#[source] Cause),
}

/// What the driver said, kept whole (with its own source chain) for the logs.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

impl StoreError {
    /// An adapter's own finding (a record it cannot read), with no driver error below it.
    pub fn backend(message: impl Into<Cause>) -> Self {
        StoreError::Backend(message.into())
    }

    pub fn unavailable(message: impl Into<Cause>) -> Self {
        StoreError::Unavailable(message.into())
    }

    /// The message and every source below it, for the log line of a failed request.
    pub fn detail(&self) -> String {
        let mut out = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            next = cause.source();
        }
        out
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Operations every backend offers beyond the aggregates: health and schema.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// A cheap round trip to the database.
    async fn ping(&self) -> StoreResult<()>;
    /// Create indexes / apply schema migrations. Idempotent.
    async fn migrate(&self) -> StoreResult<()>;
    /// `false` while the database is known to be down: requests then fail at once (503) instead
    /// of each waiting for the driver's timeout.
    fn available(&self) -> bool {
        true
    }
    /// Database round trips made so far (statements or commands sent), for the query-count tests.
    fn round_trips(&self) -> u64;
}

/// The ports the rest of the server uses. Cloning is cheap.
#[derive(Clone)]
pub struct Store {
    pub backend: Arc<dyn Backend>,
    pub teachers: Arc<dyn Teachers>,
    pub admins: Arc<dyn Admins>,
    pub students: Arc<dyn Students>,
    pub refresh_tokens: Arc<dyn RefreshTokens>,
    pub classes: Arc<dyn Classes>,
    pub categories: Arc<dyn Categories>,
    pub tasks: Arc<dyn Tasks>,
    pub rewards: Arc<dyn Rewards>,
    pub task_assignments: Arc<dyn TaskAssignments>,
    pub reward_assignments: Arc<dyn RewardAssignments>,
    pub points: Arc<dyn PointsSettlement>,
    pub notifications: Arc<dyn Notifications>,
    pub files: Arc<dyn Files>,
    pub uploads: Arc<dyn Uploads>,
    pub presets: Arc<dyn Presets>,
    pub rules: Arc<dyn Rules>,
    pub feedbacks: Arc<dyn Feedbacks>,
    pub payments: Arc<dyn Payments>,
    pub push: Arc<dyn Push>,
}

impl Store {
    /// Opens the configured backend without touching the network: a MongoDB that is down at start
    /// must not stop the process (readiness reports it, and it heals when the database returns).
    pub async fn open(config: &DatabaseConfig) -> anyhow::Result<Store> {
        match config {
            DatabaseConfig::Sqlite { path } => sqlite::open(path).await,
            DatabaseConfig::Mongo { url } => mongo::open(url.expose_secret()).await,
        }
    }
}

/// Times one storage operation and counts its failures (labels: backend and operation name). A
/// conflict is an answer, not a failure.
pub(crate) async fn observe<T>(
    backend: &'static str,
    op: &'static str,
    fut: impl std::future::Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    let m = metrics::get();
    let families = Families {
        duration: &m.store_duration,
        errors: &m.store_errors,
    };
    let fails = |e: &StoreError| !matches!(e, StoreError::Conflict { .. });
    timed(families, (backend, op), fut, fails).await
}
