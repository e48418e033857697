//! Assigned tasks and rewards on SQLite. Every transition is one transaction whose UPDATE carries
//! the expected state in its WHERE clause, so it applies once whatever the concurrency.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, Db, table};
use crate::domain::assignment::{
    ClaimRefused, PointsMove, RewardAssignment, RewardStatus, TaskAssignment, TaskStatus, TaskStep,
    Transition,
};
use crate::domain::{Id, Millis};
use crate::store::rows::shared_rows;
use crate::store::{
    AssignmentCounts, OwnerWrite, PointsSettlement, RewardAssignments, StoreResult, TaskAssignments,
};

table!(TASK_ASSIGNMENTS: TaskAssignment = "task_assignments" (
    "id, task, student, teacher, status, points, slot, origin, approved_at, renew_at, \
     created_at, updated_at, version",
    id, task, student, teacher, status, points, slot, origin, approved_at, renew_at, created_at,
    updated_at, version
));

/// Moves a student's balances by `m` and sets its level from the new points earned.
fn move_points(c: &Connection, student: &Id, m: PointsMove, now: Millis) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE students SET points = points + ?2, pending_points = pending_points + ?3, \
         rewards = rewards + ?4, earned_points = earned_points + ?5, \
         level = 1 + MAX(earned_points + ?5, 0) / 100, updated_at = ?6 WHERE id = ?1",
        params![student, m.points, m.pending, m.rewards, m.earned, now],
    )
    .map(drop)
}

/// What a step writes: its operation name, its `SET` clause (`?4` is the time it is taken, `?5`
/// the value it records) and that value.
fn step_set(step: TaskStep) -> (&'static str, &'static str, i64) {
    match step {
        TaskStep::Achieve { points } => (
            "task_assignments.achieve",
            "status = 'inProgress', points = ?5, updated_at = ?4",
            points,
        ),
        // The slot frees up (it becomes the assignment's own id) for the next one.
        TaskStep::Approve { renew_at } => (
            "task_assignments.approve",
            "status = 'completed', slot = id, approved_at = ?4, renew_at = ?5, updated_at = ?4",
            renew_at.0,
        ),
    }
}

/// Takes `step` of the owner's assignment if it is in the status the step starts from, and moves
/// the student's points, in one transaction.
fn transition(
    c: &mut Connection,
    write: OwnerWrite<'_>,
    step: TaskStep,
) -> rusqlite::Result<Transition<TaskAssignment>> {
    let (owner, id, now) = (write.owner, write.id, write.now);
    let tx = c.transaction()?;
    let (column, holder): (_, fn(&TaskAssignment) -> &Id) = if step.by_teacher() {
        ("teacher", |a| &a.teacher)
    } else {
        ("student", |a| &a.student)
    };
    let Some(current) = TASK_ASSIGNMENTS
        .find(&tx, "id", id)?
        .filter(|a| holder(a) == owner)
    else {
        return Ok(Transition::NotFound);
    };
    let (_, set, value) = step_set(step);
    let changed = tx.exec(
        &format!(
            "UPDATE task_assignments SET {set}, version = version + 1 \
             WHERE id = ?1 AND {column} = ?2 AND status = ?3"
        ),
        params![id, owner, step.starts_from(), now, value],
    )?;
    if changed == 0 {
        return Ok(Transition::WrongState(current));
    }
    let updated = TASK_ASSIGNMENTS
        .find(&tx, "id", id)?
        .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let points = step.points_move(updated.points);
    move_points(&tx, &updated.student, points, now)?;
    tx.commit()?;
    Ok(Transition::Done(updated))
}

pub(super) struct SqliteTaskAssignments {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl TaskAssignments for SqliteTaskAssignments {
    shared_rows!(table TASK_ASSIGNMENTS, TaskAssignment, "task_assignments": insert, by_id);

    async fn list_for_teacher(
        &self,
        teacher: &Id,
        status: Option<TaskStatus>,
    ) -> StoreResult<Vec<TaskAssignment>> {
        TASK_ASSIGNMENTS
            .newest_first(
                &self.db,
                "task_assignments.list_for_teacher",
                "teacher = ?1 AND (?2 IS NULL OR status = ?2)",
                vec![Box::new(teacher.clone()), Box::new(status)],
            )
            .await
    }

    async fn list_for_student(&self, student: &Id) -> StoreResult<Vec<TaskAssignment>> {
        TASK_ASSIGNMENTS
            .newest_first(
                &self.db,
                "task_assignments.list_for_student",
                "student = ?1",
                vec![Box::new(student.clone())],
            )
            .await
    }

    async fn count_for_student(&self, student: &Id) -> StoreResult<AssignmentCounts> {
        let student = student.clone();
        self.db
            .read("task_assignments.count_for_student", move |c| {
                c.one(
                    "SELECT COUNT(*), COALESCE(SUM(status = 'completed'), 0) \
                     FROM task_assignments WHERE student = ?1",
                    [student],
                    |r| {
                        Ok(AssignmentCounts {
                            total: r.get::<_, i64>(0)? as u64,
                            completed: r.get::<_, i64>(1)? as u64,
                        })
                    },
                )
            })
            .await
    }

    async fn transition(
        &self,
        write: OwnerWrite<'_>,
        step: TaskStep,
    ) -> StoreResult<Transition<TaskAssignment>> {
        let (owner, id, now) = (write.owner.clone(), write.id.clone(), write.now);
        let (op, _, _) = step_set(step);
        self.db
            .write(op, move |c| {
                let write = OwnerWrite {
                    owner: &owner,
                    id: &id,
                    now,
                };
                transition(c, write, step)
            })
            .await
    }

    async fn due_for_renewal(&self, now: Millis, limit: u64) -> StoreResult<Vec<TaskAssignment>> {
        self.db
            .scan("task_assignments.due_for_renewal", move |c| {
                TASK_ASSIGNMENTS.list(
                    c,
                    "renew_at IS NOT NULL AND renew_at <= ?1",
                    params![now, limit as i64],
                    "ORDER BY renew_at LIMIT ?2",
                )
            })
            .await
    }

    async fn renew(&self, done: &TaskAssignment, next: &TaskAssignment) -> StoreResult<bool> {
        let (done, next) = (done.clone(), next.clone());
        self.db
            .write("task_assignments.renew", move |c| {
                let tx = c.transaction()?;
                // Inserting a duplicate fails on the unique slot or origin; that is "not inserted"
                // (caught here, so no `Conflict` leaves this call).
                let inserted = match TASK_ASSIGNMENTS.insert_with(&tx, &next) {
                    Ok(()) => true,
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        false
                    }
                    Err(e) => return Err(e),
                };
                tx.exec(
                    "UPDATE task_assignments SET renew_at = NULL WHERE id = ?1",
                    [&done.id],
                )?;
                tx.commit()?;
                Ok(inserted)
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Rewards

table!(REWARD_ASSIGNMENTS: RewardAssignment = "reward_assignments" (
    "id, reward, student, teacher, status, paid, claimed_at, created_at, updated_at, version",
    id, reward, student, teacher, status, paid, claimed_at, created_at, updated_at, version
));

pub(super) struct SqliteRewardAssignments {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl RewardAssignments for SqliteRewardAssignments {
    shared_rows!(table REWARD_ASSIGNMENTS, RewardAssignment, "reward_assignments": insert, by_id);

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<RewardAssignment>> {
        REWARD_ASSIGNMENTS
            .newest_first(
                &self.db,
                "reward_assignments.list_for_teacher",
                "teacher = ?1",
                vec![Box::new(teacher.clone())],
            )
            .await
    }

    async fn list_for_student(
        &self,
        student: &Id,
        status: RewardStatus,
    ) -> StoreResult<Vec<RewardAssignment>> {
        REWARD_ASSIGNMENTS
            .newest_first(
                &self.db,
                "reward_assignments.list_for_student",
                "student = ?1 AND status = ?2",
                vec![Box::new(student.clone()), Box::new(status)],
            )
            .await
    }

    async fn claim(
        &self,
        write: OwnerWrite<'_>,
        price: i64,
    ) -> StoreResult<Result<RewardAssignment, ClaimRefused>> {
        let (student, id, now) = (write.owner.clone(), write.id.clone(), write.now);
        self.db
            .write("reward_assignments.claim", move |c| {
                let tx = c.transaction()?;
                let Some(current) = REWARD_ASSIGNMENTS
                    .find(&tx, "id", &id)?
                    .filter(|a| a.student == student)
                else {
                    return Ok(Err(ClaimRefused::NotFound));
                };
                if current.status != RewardStatus::Unclaimed {
                    return Ok(Err(ClaimRefused::AlreadyClaimed));
                }
                let points: i64 = tx
                    .one(
                        "SELECT points FROM students WHERE id = ?1",
                        [&student],
                        |r| r.get(0),
                    )
                    .optional()?
                    .unwrap_or(0);
                if points < price {
                    return Ok(Err(ClaimRefused::NotEnoughPoints { points, price }));
                }
                tx.exec(
                    "UPDATE reward_assignments SET status = 'claimed', paid = ?2, claimed_at = ?3, \
                     updated_at = ?3, version = version + 1 WHERE id = ?1 AND status = 'unclaimed'",
                    params![id, price, now],
                )?;
                move_points(&tx, &student, PointsMove::claim(price), now)?;
                let claimed = REWARD_ASSIGNMENTS
                    .find(&tx, "id", &id)?
                    .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                tx.commit()?;
                Ok(Ok(claimed))
            })
            .await
    }
}

/// Every transition moves its points in its own transaction: nothing is ever left pending.
pub(super) struct NothingPending;

#[async_trait::async_trait]
impl PointsSettlement for NothingPending {
    async fn settle_pending(&self, _limit: u64, _now: Millis) -> StoreResult<u64> {
        Ok(0)
    }

    fn fail_next_move(&self) -> bool {
        false
    }

    fn force_transactions(&self, _on: bool) -> bool {
        false
    }
}
