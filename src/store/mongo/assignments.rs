//! Assigned tasks and rewards on MongoDB.
//!
//! A transition touches two documents: the assignment and the student's balances. The
//! assignment's conditional update (filtered on the expected status) is the gate that lets
//! exactly one request through; the student's points then move through `points::Ledger`, in
//! the same transaction where the deployment has them, else exactly once by the pending-move
//! protocol described there.

use std::sync::Arc;

use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::{Collection, Database};
use serde::de::DeserializeOwned;

use super::collections::{REWARD_ASSIGNMENTS, STUDENTS, TASK_ASSIGNMENTS};
use super::points::{self, Book, Ledger, Pending, Session, Settled, exec};
use super::{
    Documents, date, document, ensure_indexes, index, newest_first_index, observe, owned,
    unique_index,
};
use crate::domain::assignment::{
    ClaimRefused, PointsMove, RewardAssignment, RewardStatus, TaskAssignment, TaskStatus, TaskStep,
    Transition,
};
use crate::domain::{Id, Millis};
use crate::store::rows::shared_rows;
use crate::store::{
    AssignmentCounts, OwnerWrite, PointsSettlement, RewardAssignments, StoreError, StoreResult,
    TaskAssignments,
};

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    ensure_indexes(
        db,
        TASK_ASSIGNMENTS,
        [
            unique_index(doc! { "slot": 1 }, "slot_unique"),
            unique_index(doc! { "origin": 1 }, "origin_unique"),
            newest_first_index(doc! { "teacher": 1 }, "by_teacher"),
            newest_first_index(doc! { "student": 1 }, "by_student"),
            index(doc! { "renewAt": 1 }, "renew_at"),
            index(doc! { points::APPLIED: 1 }, "points_applied"),
        ],
    )
    .await?;
    ensure_indexes(
        db,
        REWARD_ASSIGNMENTS,
        [
            newest_first_index(doc! { "teacher": 1 }, "by_teacher"),
            newest_first_index(doc! { "student": 1, "status": 1 }, "by_student"),
            index(doc! { points::APPLIED: 1 }, "points_applied"),
        ],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tasks

document! {
    struct TaskAssignmentDoc for TaskAssignment {
        id as "_id": ObjectId,
        task: ObjectId,
        student: ObjectId,
        teacher: ObjectId,
        status: String,
        #[serde(default)]
        points: i64,
        slot: String,
        origin: String,
        #[serde(default)]
        approved_at as "approvedAt": Option<DateTime>,
        #[serde(default)]
        renew_at as "renewAt": Option<DateTime>,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
    stored only {
        /// The key of the last points move and whether it settled (`points.rs`); absent on
        /// assignments that never moved points or were written before these fields existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        points_op as "pointsOp": Option<String> = |_| None,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        points_applied as "pointsApplied": Option<bool> = |_| None,
    }
}

impl TaskAssignmentDoc {
    /// The move its last transition left pending, if any.
    fn pending(&self) -> Option<Pending> {
        if self.points_applied != Some(false) {
            return None;
        }
        let mv = match TaskStatus::parse(&self.status)? {
            TaskStatus::InProgress => PointsMove::achieve(self.points),
            TaskStatus::Completed => PointsMove::approve(self.points),
            TaskStatus::NotStarted => return None,
        };
        Some(Pending {
            key: self.points_op.clone()?,
            book: Book::Tasks,
            assignment: self.id,
            student: self.student,
            mv,
        })
    }
}

pub(super) struct MongoTaskAssignments {
    docs: Documents<TaskAssignmentDoc, TaskAssignment>,
    ledger: Arc<Ledger>,
}

impl MongoTaskAssignments {
    pub(super) fn new(db: &Database, ledger: &Arc<Ledger>) -> Self {
        MongoTaskAssignments {
            docs: Documents::new(db, TASK_ASSIGNMENTS).unique("an assignment", "task"),
            ledger: ledger.clone(),
        }
    }

    /// One attempt of [`Self::take_step`]: whether the gate passed, and the assignment after it
    /// (or as it is, when it did not pass; `None` when the caller has no such assignment).
    async fn transition_once(
        &self,
        s: &mut Session<'_>,
        id: &ObjectId,
        own: &Document,
        from: TaskStatus,
        set: &Document,
        now: Millis,
    ) -> Result<(bool, Option<TaskAssignmentDoc>), mongodb::error::Error> {
        let mut settled_first = false;
        loop {
            let key = points::new_key(Book::Tasks, id);
            let gate = pass_gate(s, self.docs.raw(), own, from.as_str(), set.clone(), &key);
            if let Some(updated) = gate.await? {
                if let Some(p) = updated.pending() {
                    self.ledger.settle(s, &p, now).await?;
                }
                return Ok((true, Some(updated)));
            }
            let current = exec!(s, self.docs.raw().find_one(own.clone()))?;
            match current.as_ref().and_then(TaskAssignmentDoc::pending) {
                // A move an earlier transition left pending: finish it, then try again.
                Some(p) if !settled_first => {
                    self.ledger.settle(s, &p, now).await?;
                    settled_first = true;
                }
                _ => return Ok((false, current)),
            }
        }
    }

    /// Takes `step` of the owner's assignment, applying `set` (which stamps `updatedAt` with the
    /// caller's `now`, never this server's clock), and moves the student's points as the new
    /// status says. A move an earlier transition left pending is settled first (so a retried
    /// request finishes it instead of losing it).
    async fn take_step(
        &self,
        op: &'static str,
        write: OwnerWrite<'_>,
        step: TaskStep,
        set: Document,
    ) -> StoreResult<Transition<TaskAssignment>> {
        let owner = if step.by_teacher() {
            "teacher"
        } else {
            "student"
        };
        let (own, from, now) = (owned(owner, write), step.starts_from(), write.now);
        let id = write.id.to_object_id();
        let (done, doc) = observe(op, async {
            let mut tx = self.ledger.begin().await?;
            loop {
                let attempt = self
                    .transition_once(&mut tx.session(), &id, &own, from, &set, now)
                    .await;
                if let Some(outcome) = tx.end(attempt).await? {
                    return Ok(outcome);
                }
            }
        })
        .await?;
        Ok(match (done, doc) {
            (true, Some(d)) => Transition::Done(d.try_into()?),
            (false, Some(d)) => Transition::WrongState(d.try_into()?),
            (_, None) => Transition::NotFound,
        })
    }
}

#[async_trait::async_trait]
impl TaskAssignments for MongoTaskAssignments {
    shared_rows!(docs docs, TaskAssignment, "task_assignments": insert, by_id);

    async fn list_for_teacher(
        &self,
        teacher: &Id,
        status: Option<TaskStatus>,
    ) -> StoreResult<Vec<TaskAssignment>> {
        let mut filter = doc! { "teacher": teacher.to_object_id() };
        if let Some(s) = status {
            filter.insert("status", s.as_str());
        }
        self.docs
            .list("task_assignments.list_for_teacher", filter)
            .await
    }

    async fn list_for_student(&self, student: &Id) -> StoreResult<Vec<TaskAssignment>> {
        let filter = doc! { "student": student.to_object_id() };
        self.docs
            .list("task_assignments.list_for_student", filter)
            .await
    }

    async fn count_for_student(&self, student: &Id) -> StoreResult<AssignmentCounts> {
        let op = "task_assignments.count_for_student";
        let mine = doc! { "student": student.to_object_id() };
        let total = self.docs.count(op, mine.clone()).await?;
        let mut completed = mine;
        completed.insert("status", TaskStatus::Completed.as_str());
        let completed = self.docs.count(op, completed).await?;
        Ok(AssignmentCounts { total, completed })
    }

    async fn transition(
        &self,
        write: OwnerWrite<'_>,
        step: TaskStep,
    ) -> StoreResult<Transition<TaskAssignment>> {
        let now = date(write.now);
        let (op, set) = match step {
            TaskStep::Achieve { points } => (
                "task_assignments.achieve",
                doc! {
                    "status": TaskStatus::InProgress.as_str(),
                    "points": points,
                    "updatedAt": now,
                },
            ),
            // The slot frees up (it becomes the assignment's own id) for the next one.
            TaskStep::Approve { renew_at } => (
                "task_assignments.approve",
                doc! {
                    "status": TaskStatus::Completed.as_str(),
                    "slot": write.id.to_hex(),
                    "approvedAt": now,
                    "renewAt": date(renew_at),
                    "updatedAt": now,
                },
            ),
        };
        self.take_step(op, write, step, set).await
    }

    async fn due_for_renewal(&self, now: Millis, limit: u64) -> StoreResult<Vec<TaskAssignment>> {
        let due = doc! { "renewAt": { "$lte": date(now) } };
        let soonest_first = doc! { "renewAt": 1 };
        self.docs
            .sorted(
                "task_assignments.due_for_renewal",
                due,
                soonest_first,
                Some(limit),
            )
            .await
    }

    async fn renew(&self, done: &TaskAssignment, next: &TaskAssignment) -> StoreResult<bool> {
        let op = "task_assignments.renew";
        let inserted = match self.docs.insert(op, next).await {
            Ok(()) => true,
            Err(StoreError::Conflict { .. }) => false,
            Err(e) => return Err(e),
        };
        observe(
            op,
            self.docs.raw().update_one(
                doc! { "_id": done.id.to_object_id() },
                doc! { "$set": { "renewAt": null } },
            ),
        )
        .await?;
        Ok(inserted)
    }
}

// ---------------------------------------------------------------------------------------------
// Rewards

document! {
    struct RewardAssignmentDoc for RewardAssignment {
        id as "_id": ObjectId,
        reward: ObjectId,
        student: ObjectId,
        teacher: ObjectId,
        status: String,
        #[serde(default)]
        paid: i64,
        #[serde(default)]
        claimed_at as "claimedAt": Option<DateTime>,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
    stored only {
        /// As on task assignments.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        points_op as "pointsOp": Option<String> = |_| None,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        points_applied as "pointsApplied": Option<bool> = |_| None,
    }
}

impl RewardAssignmentDoc {
    /// The claim's payment, if it is still pending.
    fn pending(&self) -> Option<Pending> {
        if self.points_applied != Some(false) || self.status != RewardStatus::Claimed.as_str() {
            return None;
        }
        Some(Pending {
            key: self.points_op.clone()?,
            book: Book::Rewards,
            assignment: self.id,
            student: self.student,
            mv: PointsMove::claim(self.paid),
        })
    }
}

pub(super) struct MongoRewardAssignments {
    docs: Documents<RewardAssignmentDoc, RewardAssignment>,
    students: Collection<Document>,
    ledger: Arc<Ledger>,
}

impl MongoRewardAssignments {
    pub(super) fn new(db: &Database, ledger: &Arc<Ledger>) -> Self {
        MongoRewardAssignments {
            docs: Documents::new(db, REWARD_ASSIGNMENTS),
            students: db.collection(STUDENTS),
            ledger: ledger.clone(),
        }
    }

    /// One attempt of a claim (see [`RewardAssignments::claim`]).
    async fn claim_once(
        &self,
        s: &mut Session<'_>,
        own: &Document,
        student: &Id,
        price: i64,
        now: Millis,
    ) -> Result<Result<RewardAssignmentDoc, ClaimRefused>, mongodb::error::Error> {
        let mut current = exec!(s, self.docs.raw().find_one(own.clone()))?;
        if let Some(p) = current.as_ref().and_then(RewardAssignmentDoc::pending) {
            // An earlier claim's payment is pending: settle it first (it may be refused,
            // leaving the reward claimable again).
            self.ledger.settle(s, &p, now).await?;
            current = exec!(s, self.docs.raw().find_one(own.clone()))?;
        }
        let Some(current) = current else {
            return Ok(Err(ClaimRefused::NotFound));
        };
        if current.status != RewardStatus::Unclaimed.as_str() {
            return Ok(Err(ClaimRefused::AlreadyClaimed));
        }
        // Most refusals are a student short of points: answer them without touching
        // anything.
        let points = self.balance(s, student).await?;
        if points < price {
            return Ok(Err(ClaimRefused::NotEnoughPoints { points, price }));
        }
        let key = points::new_key(Book::Rewards, &current.id);
        let set = doc! {
            "status": RewardStatus::Claimed.as_str(),
            "paid": price,
            "claimedAt": date(now),
            "updatedAt": date(now),
        };
        let unclaimed = RewardStatus::Unclaimed.as_str();
        let gate = pass_gate(s, self.docs.raw(), own, unclaimed, set, &key);
        let Some(claimed) = gate.await? else {
            return Ok(Err(ClaimRefused::AlreadyClaimed));
        };
        let pending = Pending {
            key,
            book: Book::Rewards,
            assignment: claimed.id,
            student: claimed.student,
            mv: PointsMove::claim(price),
        };
        Ok(match self.ledger.settle(s, &pending, now).await? {
            Settled::Applied => Ok(claimed),
            // Points were spent elsewhere since the check; the claim was undone.
            Settled::Refused => Err(ClaimRefused::NotEnoughPoints {
                points: self.balance(s, student).await?,
                price,
            }),
        })
    }

    async fn balance(
        &self,
        s: &mut Session<'_>,
        student: &Id,
    ) -> Result<i64, mongodb::error::Error> {
        let found = exec!(
            s,
            self.students
                .find_one(doc! { "_id": student.to_object_id() })
                .projection(doc! { "points": 1 })
        )?;
        Ok(found.and_then(|d| points::whole(&d, "points")).unwrap_or(0))
    }
}

#[async_trait::async_trait]
impl RewardAssignments for MongoRewardAssignments {
    shared_rows!(docs docs, RewardAssignment, "reward_assignments": insert, by_id);

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<RewardAssignment>> {
        let filter = doc! { "teacher": teacher.to_object_id() };
        self.docs
            .list("reward_assignments.list_for_teacher", filter)
            .await
    }

    async fn list_for_student(
        &self,
        student: &Id,
        status: RewardStatus,
    ) -> StoreResult<Vec<RewardAssignment>> {
        let filter = doc! { "student": student.to_object_id(), "status": status.as_str() };
        self.docs
            .list("reward_assignments.list_for_student", filter)
            .await
    }

    /// The assignment's conditional update lets one claim through; only that one pays, guarded by
    /// `points >= price`. If the student cannot pay, the assignment goes back to `unclaimed`.
    async fn claim(
        &self,
        write: OwnerWrite<'_>,
        price: i64,
    ) -> StoreResult<Result<RewardAssignment, ClaimRefused>> {
        let (own, student, now) = (owned("student", write), write.owner, write.now);
        let outcome = observe("reward_assignments.claim", async {
            let mut tx = self.ledger.begin().await?;
            loop {
                let attempt = self
                    .claim_once(&mut tx.session(), &own, student, price, now)
                    .await;
                if let Some(outcome) = tx.end(attempt).await? {
                    return Ok(outcome);
                }
            }
        })
        .await?;
        match outcome {
            Ok(claimed) => Ok(Ok(claimed.try_into()?)),
            Err(refused) => Ok(Err(refused)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The gate

/// The gate of a transition that moves points: the assignment `own` (its id and owner) leaves
/// status `from` with `set` only if no earlier move is pending on it, and records the move `key`
/// as pending in the same write. The assignment as the gate left it; `None` when it did not pass.
///
/// A conditional `updateOne` then a read, never `findAndModify`: jongodb's does not match and
/// write atomically (docs/decisions.md, "A points move applied twice on jongodb"); MongoDB's
/// does, and the read costs one round trip there.
async fn pass_gate<D>(
    s: &mut Session<'_>,
    coll: &Collection<D>,
    own: &Document,
    from: &str,
    mut set: Document,
    key: &str,
) -> Result<Option<D>, mongodb::error::Error>
where
    D: DeserializeOwned + Send + Sync,
{
    let mut filter = own.clone();
    filter.insert("status", from);
    filter.extend(points::nothing_pending());
    set.extend(points::pending_fields(key));
    let update = doc! { "$set": set, "$inc": { "__v": 1 } };
    if exec!(s, coll.update_one(filter, update))?.matched_count == 0 {
        return Ok(None);
    }
    // By the move's key, which a later transition replaces: this transition's state.
    let mut by_key = own.clone();
    by_key.insert(points::OP, key);
    if let Some(d) = exec!(s, coll.find_one(by_key))? {
        return Ok(Some(d));
    }
    // Settled by another runner and moved on by a later transition since: the latest state.
    exec!(s, coll.find_one(own.clone()))?
        .map(Some)
        .ok_or_else(|| mongodb::error::Error::custom("an assignment gone right after its gate"))
}

// ---------------------------------------------------------------------------------------------
// Pending moves

/// The job's side of `points.rs`: finds moves left pending and settles them.
pub(super) struct MongoPointsSettlement {
    tasks: Collection<TaskAssignmentDoc>,
    rewards: Collection<RewardAssignmentDoc>,
    ledger: Arc<Ledger>,
}

impl MongoPointsSettlement {
    pub(super) fn new(db: &Database, ledger: &Arc<Ledger>) -> Self {
        MongoPointsSettlement {
            tasks: db.collection(TASK_ASSIGNMENTS),
            rewards: db.collection(REWARD_ASSIGNMENTS),
            ledger: ledger.clone(),
        }
    }
}

/// Up to `limit` documents of `coll` with a move pending.
async fn pending_in<D>(coll: &Collection<D>, op: &'static str, limit: u64) -> StoreResult<Vec<D>>
where
    D: DeserializeOwned + Send + Sync,
{
    observe(op, async {
        coll.find(doc! { points::APPLIED: false })
            .limit(limit as i64)
            .await?
            .try_collect()
            .await
    })
    .await
}

#[async_trait::async_trait]
impl PointsSettlement for MongoPointsSettlement {
    async fn settle_pending(&self, limit: u64, now: Millis) -> StoreResult<u64> {
        let op = "points.settle_pending";
        let mut pending: Vec<Pending> = pending_in(&self.tasks, op, limit)
            .await?
            .iter()
            .filter_map(TaskAssignmentDoc::pending)
            .collect();
        pending.extend(
            pending_in(&self.rewards, op, limit)
                .await?
                .iter()
                .filter_map(RewardAssignmentDoc::pending),
        );
        let mut settled = 0;
        for p in &pending {
            let result = observe(op, async {
                let mut tx = self.ledger.begin().await?;
                loop {
                    let attempt = self.ledger.settle(&mut tx.session(), p, now).await;
                    if tx.end(attempt).await?.is_some() {
                        return Ok(());
                    }
                }
            })
            .await;
            // One move that cannot settle now (its student busy, the database flapping) must not
            // hold up the others; the next run tries it again.
            match result {
                Ok(()) => settled += 1,
                Err(e) => {
                    tracing::warn!(key = %p.key, error = %e, "a pending points move did not settle")
                }
            }
        }
        self.ledger.tidy(limit, now).await?;
        Ok(settled)
    }

    fn fail_next_move(&self) -> bool {
        self.ledger.fail_next_move();
        true
    }

    fn force_transactions(&self, on: bool) -> bool {
        self.ledger.force_transactions(on);
        true
    }
}
