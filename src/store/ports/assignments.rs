//! Assigned tasks and rewards, their state machines, and the points moves they leave pending.

use crate::domain::assignment::{
    ClaimRefused, RewardAssignment, RewardStatus, TaskAssignment, TaskStatus, TaskStep, Transition,
};
use crate::domain::{Id, Millis};
use crate::store::{OwnerWrite, StoreResult};

/// How many assignments a student has, for its statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssignmentCounts {
    pub total: u64,
    pub completed: u64,
}

/// Assigned tasks and their state machine. The transitions are conditional updates: each happens
/// once whatever the concurrency, and moves the student's points in the same step (one transaction
/// on SQLite; on MongoDB the assignment's conditional update is the gate and the student's `$inc`
/// follows it, see docs/decisions.md).
#[async_trait::async_trait]
pub trait TaskAssignments: Send + Sync {
    /// Fails with `Conflict` when the student already has an open assignment of the task (the
    /// `slot`) or the repetition exists already (the `origin`).
    async fn insert(&self, assignment: &TaskAssignment) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<TaskAssignment>>;
    /// A teacher's assignments, newest first; `status` keeps one status.
    async fn list_for_teacher(
        &self,
        teacher: &Id,
        status: Option<TaskStatus>,
    ) -> StoreResult<Vec<TaskAssignment>>;
    /// A student's assignments, newest first.
    async fn list_for_student(&self, student: &Id) -> StoreResult<Vec<TaskAssignment>>;
    async fn count_for_student(&self, student: &Id) -> StoreResult<AssignmentCounts>;
    /// Takes `step` of the owner's assignment (the student's for `Achieve`, the teacher's for
    /// `Approve`) and moves the student's points as [`TaskStep::points_move`] says: achieving
    /// records the task's points and adds them to `pendingPoints`; approving moves them to
    /// `points`, adds them to `earnedPoints`, sets `level` from that, and schedules the repetition.
    async fn transition(
        &self,
        write: OwnerWrite<'_>,
        step: TaskStep,
    ) -> StoreResult<Transition<TaskAssignment>>;
    /// Completed assignments whose repetition is due at `now`, oldest due first, at most `limit`.
    async fn due_for_renewal(&self, now: Millis, limit: u64) -> StoreResult<Vec<TaskAssignment>>;
    /// Opens `next`, the repetition of `done`, and clears `done`'s `renew_at`. Several runners may
    /// race: `next.origin` (`after:<done.id>`) is unique, so one inserts. `false` when it was not inserted
    /// (another runner did, or the student already has that task open again).
    async fn renew(&self, done: &TaskAssignment, next: &TaskAssignment) -> StoreResult<bool>;
}

/// Assigned rewards and the claim.
#[async_trait::async_trait]
pub trait RewardAssignments: Send + Sync {
    async fn insert(&self, assignment: &RewardAssignment) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<RewardAssignment>>;
    /// A teacher's assigned rewards, newest first.
    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<RewardAssignment>>;
    /// A student's assigned rewards in `status`, newest first.
    async fn list_for_student(
        &self,
        student: &Id,
        status: RewardStatus,
    ) -> StoreResult<Vec<RewardAssignment>>;
    /// `unclaimed` → `claimed` for the student's own assignment, paying `price`: the student's
    /// `points -= price` (never below zero because of a claim), `rewards += 1`; `earnedPoints`
    /// and `level` stay.
    /// Exactly once under concurrent calls.
    async fn claim(
        &self,
        write: OwnerWrite<'_>,
        price: i64,
    ) -> StoreResult<Result<RewardAssignment, ClaimRefused>>;
}

/// Points moves that a transition gated but did not finish (MongoDB without transactions: the
/// assignment's write and the student's are two; see `store/mongo/points.rs`). SQLite moves
/// points in the transition's own transaction, so nothing is ever pending there.
#[async_trait::async_trait]
pub trait PointsSettlement: Send + Sync {
    /// Applies up to `limit` pending moves exactly once (safe to race with requests and with
    /// other replicas) and tidies what they left on students; returns how many of the moves it
    /// found pending are settled now (by this call or a racing one). A move that fails to settle
    /// is logged and left for the next call.
    /// `now` stamps what the moves change.
    async fn settle_pending(&self, limit: u64, now: Millis) -> StoreResult<u64>;
    /// Makes the next student write of a points move fail once as a lost connection would
    /// (`EDUCOIN_TEST_HOOKS` only); `false` where there is no such write (SQLite).
    fn fail_next_move(&self) -> bool;
    /// Overrides the detection of multi-document transactions (tests only: the jongodb test
    /// server runs transactions but reports no replica set); `false` where there are none.
    fn force_transactions(&self, on: bool) -> bool;
}
