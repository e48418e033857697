//! Finishes points moves that a transition gated but did not finish (MongoDB without a replica
//! set: a database error or a crash between the assignment's write and the student's; see
//! `store/mongo/points.rs`). The next request on the same assignment finishes its move too; this
//! job catches the rest.
//!
//! Every replica runs this at start and every [`INTERVAL`]. Runners may race with each other
//! and with requests: a move is applied by one conditional update of the student that records
//! its key, so it applies once whoever gets there first.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::domain::Millis;
use crate::store::{Store, StoreResult};

pub const INTERVAL: Duration = Duration::from_secs(30);

/// Pending moves read per round trip; a run goes on until fewer are found.
const BATCH: u64 = 100;

/// Settles every pending move, stamping what it changes with `now`; returns how many of those
/// this runner found are settled now.
pub async fn run_once(store: &Store, now: Millis) -> StoreResult<u64> {
    super::in_batches(BATCH, || async {
        let n = store.points.settle_pending(BATCH, now).await?;
        Ok((n, n))
    })
    .await
}

/// Runs [`run_once`] now and then every [`INTERVAL`] until `stop`.
pub async fn run(store: Store, clock: SharedClock, stop: CancellationToken) {
    super::every(
        "settle_points",
        INTERVAL,
        stop,
        || run_once(&store, clock.now()),
        |n| tracing::warn!(settled = n, "pending points moves settled"),
        "settling pending points moves failed; will retry",
    )
    .await
}
