//! Assigned tasks and rewards on SQLite. Every transition is one transaction whose UPDATE carries
//! the expected state in its WHERE clause, so it applies once whatever the concurrency.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::accounts::{corrupt, id_column};
use super::{Db, find_by};
use crate::domain::assignment::{
    ClaimRefused, PointsMove, RewardAssignment, RewardStatus, TaskAssignment, TaskStatus,
    Transition,
};
use crate::domain::{Id, Millis};
use crate::store::{
    AssignmentCounts, PointsSettlement, RewardAssignments, StoreResult, TaskAssignments,
};

const TASK_COLUMNS: &str = "id, task, student, teacher, status, points, slot, origin, approved_at, \
                            renew_at, created_at, updated_at, version";

fn task_from_row(row: &Row<'_>) -> rusqlite::Result<TaskAssignment> {
    let status: String = row.get(4)?;
    Ok(TaskAssignment {
        id: id_column(row, 0)?,
        task: id_column(row, 1)?,
        student: id_column(row, 2)?,
        teacher: id_column(row, 3)?,
        status: TaskStatus::parse(&status).ok_or_else(|| corrupt(4, "assignment status"))?,
        points: row.get(5)?,
        slot: row.get(6)?,
        origin: row.get(7)?,
        approved_at: row.get::<_, Option<i64>>(8)?.map(Millis),
        renew_at: row.get::<_, Option<i64>>(9)?.map(Millis),
        created_at: Millis(row.get(10)?),
        updated_at: Millis(row.get(11)?),
        version: row.get(12)?,
    })
}

fn insert_task(c: &Connection, a: &TaskAssignment) -> rusqlite::Result<()> {
    c.execute(
        &format!(
            "INSERT INTO task_assignments ({TASK_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ),
        params![
            a.id.as_str(),
            a.task.as_str(),
            a.student.as_str(),
            a.teacher.as_str(),
            a.status.as_str(),
            a.points,
            a.slot,
            a.origin,
            a.approved_at.map(|m| m.0),
            a.renew_at.map(|m| m.0),
            a.created_at.0,
            a.updated_at.0,
            a.version
        ],
    )
    .map(drop)
}

fn task_by_id(c: &Connection, id: &str) -> rusqlite::Result<Option<TaskAssignment>> {
    find_by(c, "task_assignments", TASK_COLUMNS, "id", id, task_from_row)
}

fn list_tasks(
    c: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<TaskAssignment>> {
    c.prepare(&format!(
        "SELECT {TASK_COLUMNS} FROM task_assignments WHERE {filter} ORDER BY created_at DESC, id DESC"
    ))?
    .query_map(args, task_from_row)?
    .collect()
}

/// Moves a student's balances by `m` and sets its level from the new points earned.
fn move_points(c: &Connection, student: &str, m: PointsMove, now: Millis) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE students SET points = points + ?2, pending_points = pending_points + ?3, \
         rewards = rewards + ?4, earned_points = earned_points + ?5, \
         level = 1 + MAX(earned_points + ?5, 0) / 100, updated_at = ?6 WHERE id = ?1",
        params![student, m.points, m.pending, m.rewards, m.earned, now.0],
    )
    .map(drop)
}

/// Whose assignment a transition may touch.
enum Owner<'a> {
    Student(&'a Id),
    Teacher(&'a Id),
}

impl Owner<'_> {
    fn column(&self) -> &'static str {
        match self {
            Owner::Student(_) => "student",
            Owner::Teacher(_) => "teacher",
        }
    }

    fn holds(&self, a: &TaskAssignment) -> bool {
        match self {
            Owner::Student(id) => a.student == **id,
            Owner::Teacher(id) => a.teacher == **id,
        }
    }

    fn id(&self) -> &str {
        match self {
            Owner::Student(id) | Owner::Teacher(id) => id.as_str(),
        }
    }
}

/// Runs a transition: `set` is applied (with `?4..` bound to `args`) only if the assignment is the
/// owner's and in status `from`; when it changes a row, `then` moves the points, all in one
/// transaction.
fn transition(
    c: &mut Connection,
    id: &str,
    owner: Owner<'_>,
    set: &str,
    from: TaskStatus,
    args: &[&dyn rusqlite::ToSql],
    then: impl FnOnce(&Connection, &TaskAssignment) -> rusqlite::Result<()>,
) -> rusqlite::Result<Transition<TaskAssignment>> {
    let tx = c.transaction()?;
    let Some(current) = task_by_id(&tx, id)?.filter(|a| owner.holds(a)) else {
        return Ok(Transition::NotFound);
    };
    let from = from.as_str();
    let owner_id = owner.id();
    let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&id, &owner_id, &from];
    bound.extend_from_slice(args);
    let changed = tx.execute(
        &format!(
            "UPDATE task_assignments SET {set}, version = version + 1 \
             WHERE id = ?1 AND {} = ?2 AND status = ?3",
            owner.column()
        ),
        bound.as_slice(),
    )?;
    if changed == 0 {
        return Ok(Transition::WrongState(current));
    }
    let updated = task_by_id(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    then(&tx, &updated)?;
    tx.commit()?;
    Ok(Transition::Done(updated))
}

pub(super) struct SqliteTaskAssignments {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl TaskAssignments for SqliteTaskAssignments {
    async fn insert(&self, a: &TaskAssignment) -> StoreResult<()> {
        let a = a.clone();
        self.db
            .call("task_assignments.insert", move |c| insert_task(c, &a))
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<TaskAssignment>> {
        let id = id.clone();
        self.db
            .call("task_assignments.by_id", move |c| {
                task_by_id(c, id.as_str())
            })
            .await
    }

    async fn list_for_teacher(
        &self,
        teacher: &Id,
        status: Option<TaskStatus>,
    ) -> StoreResult<Vec<TaskAssignment>> {
        let teacher = teacher.clone();
        self.db
            .call("task_assignments.list_for_teacher", move |c| {
                let status = status.map(TaskStatus::as_str);
                list_tasks(
                    c,
                    "teacher = ?1 AND (?2 IS NULL OR status = ?2)",
                    &[&teacher.as_str(), &status],
                )
            })
            .await
    }

    async fn list_for_student(&self, student: &Id) -> StoreResult<Vec<TaskAssignment>> {
        let student = student.clone();
        self.db
            .call("task_assignments.list_for_student", move |c| {
                list_tasks(c, "student = ?1", &[&student.as_str()])
            })
            .await
    }

    async fn count_for_student(&self, student: &Id) -> StoreResult<AssignmentCounts> {
        let student = student.clone();
        self.db
            .call("task_assignments.count_for_student", move |c| {
                c.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(status = 'completed'), 0) \
                     FROM task_assignments WHERE student = ?1",
                    [student.as_str()],
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

    async fn achieve(
        &self,
        student: &Id,
        id: &Id,
        points: i64,
        now: Millis,
    ) -> StoreResult<Transition<TaskAssignment>> {
        let (student, id) = (student.clone(), id.clone());
        self.db
            .call("task_assignments.achieve", move |c| {
                transition(
                    c,
                    id.as_str(),
                    Owner::Student(&student),
                    "status = 'inProgress', points = ?4, updated_at = ?5",
                    TaskStatus::NotStarted,
                    &[&points, &now.0],
                    |tx, a| move_points(tx, a.student.as_str(), PointsMove::achieve(a.points), now),
                )
            })
            .await
    }

    async fn approve(
        &self,
        teacher: &Id,
        id: &Id,
        now: Millis,
        renew_at: Millis,
    ) -> StoreResult<Transition<TaskAssignment>> {
        let (teacher, id) = (teacher.clone(), id.clone());
        self.db
            .call("task_assignments.approve", move |c| {
                transition(
                    c,
                    id.as_str(),
                    Owner::Teacher(&teacher),
                    // The slot frees up (it becomes the assignment's own id) for the next one.
                    "status = 'completed', slot = id, approved_at = ?4, renew_at = ?5, updated_at = ?4",
                    TaskStatus::InProgress,
                    &[&now.0, &renew_at.0],
                    |tx, a| move_points(tx, a.student.as_str(), PointsMove::approve(a.points), now),
                )
            })
            .await
    }

    async fn due_for_renewal(&self, now: Millis, limit: u64) -> StoreResult<Vec<TaskAssignment>> {
        self.db
            .call("task_assignments.due_for_renewal", move |c| {
                c.prepare(&format!(
                    "SELECT {TASK_COLUMNS} FROM task_assignments \
                     WHERE renew_at IS NOT NULL AND renew_at <= ?1 ORDER BY renew_at LIMIT ?2"
                ))?
                .query_map(params![now.0, limit as i64], task_from_row)?
                .collect()
            })
            .await
    }

    async fn renew(&self, done: &TaskAssignment, next: &TaskAssignment) -> StoreResult<bool> {
        let (done, next) = (done.clone(), next.clone());
        self.db
            .call("task_assignments.renew", move |c| {
                let tx = c.transaction()?;
                // Inserting a duplicate fails on the unique slot or origin; that is "not inserted"
                // (caught here, so no `Conflict` leaves this call).
                let inserted = match insert_task(&tx, &next) {
                    Ok(()) => true,
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        false
                    }
                    Err(e) => return Err(e),
                };
                tx.execute(
                    "UPDATE task_assignments SET renew_at = NULL WHERE id = ?1",
                    [done.id.as_str()],
                )?;
                tx.commit()?;
                Ok(inserted)
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Rewards

const REWARD_COLUMNS: &str =
    "id, reward, student, teacher, status, paid, claimed_at, created_at, updated_at, version";

fn reward_from_row(row: &Row<'_>) -> rusqlite::Result<RewardAssignment> {
    let status: String = row.get(4)?;
    Ok(RewardAssignment {
        id: id_column(row, 0)?,
        reward: id_column(row, 1)?,
        student: id_column(row, 2)?,
        teacher: id_column(row, 3)?,
        status: RewardStatus::parse(&status).ok_or_else(|| corrupt(4, "reward status"))?,
        paid: row.get(5)?,
        claimed_at: row.get::<_, Option<i64>>(6)?.map(Millis),
        created_at: Millis(row.get(7)?),
        updated_at: Millis(row.get(8)?),
        version: row.get(9)?,
    })
}

fn reward_by_id(c: &Connection, id: &str) -> rusqlite::Result<Option<RewardAssignment>> {
    find_by(
        c,
        "reward_assignments",
        REWARD_COLUMNS,
        "id",
        id,
        reward_from_row,
    )
}

fn list_rewards(
    c: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<RewardAssignment>> {
    c.prepare(&format!(
        "SELECT {REWARD_COLUMNS} FROM reward_assignments WHERE {filter} \
         ORDER BY created_at DESC, id DESC"
    ))?
    .query_map(args, reward_from_row)?
    .collect()
}

pub(super) struct SqliteRewardAssignments {
    pub(super) db: Db,
}

#[async_trait::async_trait]
impl RewardAssignments for SqliteRewardAssignments {
    async fn insert(&self, a: &RewardAssignment) -> StoreResult<()> {
        let a = a.clone();
        self.db
            .call("reward_assignments.insert", move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO reward_assignments ({REWARD_COLUMNS}) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                    ),
                    params![
                        a.id.as_str(),
                        a.reward.as_str(),
                        a.student.as_str(),
                        a.teacher.as_str(),
                        a.status.as_str(),
                        a.paid,
                        a.claimed_at.map(|m| m.0),
                        a.created_at.0,
                        a.updated_at.0,
                        a.version
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<RewardAssignment>> {
        let id = id.clone();
        self.db
            .call("reward_assignments.by_id", move |c| {
                reward_by_id(c, id.as_str())
            })
            .await
    }

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<RewardAssignment>> {
        let teacher = teacher.clone();
        self.db
            .call("reward_assignments.list_for_teacher", move |c| {
                list_rewards(c, "teacher = ?1", &[&teacher.as_str()])
            })
            .await
    }

    async fn list_for_student(
        &self,
        student: &Id,
        status: RewardStatus,
    ) -> StoreResult<Vec<RewardAssignment>> {
        let student = student.clone();
        self.db
            .call("reward_assignments.list_for_student", move |c| {
                list_rewards(
                    c,
                    "student = ?1 AND status = ?2",
                    &[&student.as_str(), &status.as_str()],
                )
            })
            .await
    }

    async fn claim(
        &self,
        student: &Id,
        id: &Id,
        price: i64,
        now: Millis,
    ) -> StoreResult<Result<RewardAssignment, ClaimRefused>> {
        let (student, id) = (student.clone(), id.clone());
        self.db
            .call("reward_assignments.claim", move |c| {
                let tx = c.transaction()?;
                let Some(current) =
                    reward_by_id(&tx, id.as_str())?.filter(|a| a.student == student)
                else {
                    return Ok(Err(ClaimRefused::NotFound));
                };
                if current.status != RewardStatus::Unclaimed {
                    return Ok(Err(ClaimRefused::AlreadyClaimed));
                }
                let points: i64 = tx
                    .query_row(
                        "SELECT points FROM students WHERE id = ?1",
                        [student.as_str()],
                        |r| r.get(0),
                    )
                    .optional()?
                    .unwrap_or(0);
                if points < price {
                    return Ok(Err(ClaimRefused::NotEnoughPoints { points, price }));
                }
                tx.execute(
                    "UPDATE reward_assignments SET status = 'claimed', paid = ?2, claimed_at = ?3, \
                     updated_at = ?3, version = version + 1 WHERE id = ?1 AND status = 'unclaimed'",
                    params![id.as_str(), price, now.0],
                )?;
                move_points(&tx, student.as_str(), PointsMove::claim(price), now)?;
                let claimed =
                    reward_by_id(&tx, id.as_str())?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
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
    async fn settle_pending(&self, _limit: u64) -> StoreResult<u64> {
        Ok(0)
    }

    fn fail_next_move(&self) -> bool {
        false
    }

    fn force_transactions(&self, _on: bool) -> bool {
        false
    }
}
