//! Reopens repeating tasks (CLIENT-CONTRACT §4): an approved assignment of an `everyday`,
//! `weekly` or `monthly` task opens again, `notStarted`, at the start of the next period (its
//! `renewAt`, set at approval).
//!
//! Every replica runs this every minute and at start. Runners may race: the new assignment's
//! `origin` (`after:<completed assignment id>`, so one key per assignment and period) is unique in
//! both stores, so exactly one insert wins and the others see a conflict and move on.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::domain::Millis;
use crate::domain::assignment::TaskAssignment;
use crate::store::{Store, StoreResult};

pub const INTERVAL: Duration = Duration::from_secs(60);

/// Due assignments read per round trip; a run goes on until none are due.
const BATCH: u64 = 100;

/// Opens every repetition due at `now`; returns how many this runner opened. `now` is a
/// parameter so that tests drive the clock.
pub async fn run_once(store: &Store, now: Millis) -> StoreResult<u64> {
    super::in_batches(BATCH, || async {
        let due = store.task_assignments.due_for_renewal(now, BATCH).await?;
        let mut opened = 0;
        for done in &due {
            let next = TaskAssignment::open(
                &done.task,
                &done.student,
                &done.teacher,
                Some(&done.id),
                now,
            );
            // `renew` clears `done`'s due date whether it inserted or lost the race, so the rounds
            // end.
            if store.task_assignments.renew(done, &next).await? {
                opened += 1;
            }
        }
        Ok((due.len() as u64, opened))
    })
    .await
}

/// Runs [`run_once`] now and then every [`INTERVAL`] until `stop`. Which repetitions are due is
/// the clock's business; the pause between runs is only a polling period.
pub async fn run(store: Store, clock: SharedClock, stop: CancellationToken) {
    super::every(
        "repeat_tasks",
        INTERVAL,
        stop,
        || run_once(&store, clock.now()),
        |n| tracing::info!(opened = n, "repeating tasks reopened"),
        "reopening repeating tasks failed; will retry",
    )
    .await
}
