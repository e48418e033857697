//! Notifications, the push devices they go to and the push outbox.

use crate::domain::named::named_enum;
use crate::domain::notification::Notification;
use crate::domain::{Id, Millis};
use crate::store::StoreResult;

use super::{ListQuery, OwnerWrite, Page};

#[async_trait::async_trait]
pub trait Notifications: Send + Sync {
    async fn insert(&self, notification: &Notification) -> StoreResult<()>;
    /// The recipient's notifications, newest first.
    async fn list_for(&self, recipient: &Id, query: &ListQuery) -> StoreResult<Page<Notification>>;
    async fn count_unread(&self, recipient: &Id) -> StoreResult<u64>;
    /// Marks the recipient's own notification read; `None` when it has no such notification.
    async fn mark_read(&self, write: OwnerWrite<'_>) -> StoreResult<Option<Notification>>;
}

named_enum! {
    /// The platform a push device runs on (the FCM overrides differ: android, apns, webpush).
    pub enum Platform { Android = "android", Ios = "ios", Web = "web" }
}

/// A registered push device: an FCM registration token, owned by one account at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub token: String,
    pub account: Id,
    pub platform: Platform,
    pub registered_at: Millis,
}

named_enum! {
    /// Where an outbox row stands: `Pending` waits for (another) attempt, `Sent` went to every
    /// device of the recipient (or there was none), `Dead` passed the retry deadline (given up
    /// and counted).
    pub enum OutboxState { Pending = "pending", Sent = "sent", Dead = "dead" }
}

/// One notification to push, written with the notification itself (its id is the notification's).
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub notification: Notification,
    pub state: OutboxState,
    pub attempts: u32,
    /// Not claimed before this time (backoff).
    pub due_at: Millis,
    /// The replica holding the row, until `lease_until`.
    pub lease_owner: Option<String>,
    pub lease_until: Millis,
    /// Devices that already took this push: a retry skips them.
    pub sent_to: Vec<String>,
}

/// An outbox row as one replica holds it: every write to a leased row names both, so that a
/// replica whose lease ended cannot touch the row another one took over.
#[derive(Clone, Copy, Debug)]
pub struct Lease<'a> {
    pub id: &'a Id,
    pub owner: &'a str,
}

/// Push devices and the push outbox (`src/jobs/push_worker.rs`).
#[async_trait::async_trait]
pub trait Push: Send + Sync {
    /// Registers `device` for its account: a token registered before (by anyone) moves to this
    /// account. Then drops the account's oldest devices beyond `max_per_account`.
    async fn register(&self, device: &Device, max_per_account: usize) -> StoreResult<()>;
    /// Removes the account's own device `token`; `false` when it had none.
    async fn unregister(&self, account: &Id, token: &str) -> StoreResult<bool>;
    /// Removes a token whoever holds it (FCM said it is no longer valid).
    async fn forget_token(&self, token: &str) -> StoreResult<()>;
    /// Removes every device of an account (logout, password change, block); how many.
    async fn forget_account(&self, account: &Id) -> StoreResult<u64>;
    /// The account's devices, oldest first.
    async fn devices_of(&self, account: &Id) -> StoreResult<Vec<Device>>;

    /// Stores the notification and its outbox row in one step (SQLite: one transaction; MongoDB:
    /// one document, see `store/mongo/push.rs`).
    async fn insert_with_outbox(&self, notification: &Notification) -> StoreResult<()>;
    /// Pending rows, oldest notification first (at most `limit`).
    async fn pending(&self, limit: u64) -> StoreResult<Vec<OutboxRow>>;
    /// Leases a pending row that is due and not leased (or whose lease ended) to the lease's owner
    /// until `until`; `false` when another replica holds it or it is no longer pending.
    async fn claim(&self, lease: &Lease<'_>, now: Millis, until: Millis) -> StoreResult<bool>;
    /// Records the devices that took the push, while the owner holds the lease.
    async fn record_sent(&self, lease: &Lease<'_>, sent_to: &[String]) -> StoreResult<bool>;
    /// Ends the row (sent or dead) and its lease, while the owner holds it.
    async fn finish(&self, lease: &Lease<'_>, state: OutboxState) -> StoreResult<bool>;
    /// Releases the lease and schedules attempt number `attempts` at `due`.
    async fn retry_at(&self, lease: &Lease<'_>, attempts: u32, due: Millis) -> StoreResult<bool>;
    /// Releases every lease `owner` holds (shutdown); how many.
    async fn release_all(&self, owner: &str) -> StoreResult<u64>;
    /// Pending rows and the creation time of the oldest (metrics).
    async fn depth(&self) -> StoreResult<(u64, Option<Millis>)>;
    /// One row (tests, operators).
    async fn outbox_row(&self, id: &Id) -> StoreResult<Option<OutboxRow>>;
}
