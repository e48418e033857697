//! Assigned tasks and rewards on MongoDB.
//!
//! A transition touches two documents: the assignment and the student's balances. A standalone
//! MongoDB has no multi-document transaction, so the assignment's conditional update (filtered on
//! the expected status) is the gate that lets exactly one request through, and only that request
//! then moves the student's points with `$inc`. The level follows with an update conditional on
//! the points it was computed from, so the last writer's level stands. **Residual risk:** if the
//! process or the database fails between the two writes, the assignment has changed state and the
//! points have not (the assignment keeps the amount: `points` / `paid`); see docs/decisions.md.

use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::accounts::convert;
use super::students::STUDENTS;
use super::{date, find_by_id, index, millis, newest_first, observe};
use crate::domain::assignment::{
    ClaimRefused, RewardAssignment, RewardStatus, TaskAssignment, TaskStatus, Transition,
};
use crate::domain::student::level_for;
use crate::domain::{Id, Millis};
use crate::store::{AssignmentCounts, RewardAssignments, StoreError, StoreResult, TaskAssignments};

const TASK_ASSIGNMENTS: &str = "assigntasks";
const REWARD_ASSIGNMENTS: &str = "assignrewards";

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("unexpected {what} in the database"))
}

pub(super) async fn create_indexes(db: &Database) -> StoreResult<()> {
    observe(
        "migrate",
        db.collection::<Document>(TASK_ASSIGNMENTS).create_indexes([
            index(doc! { "slot": 1 }, "slot_unique", true),
            index(doc! { "origin": 1 }, "origin_unique", true),
            index(
                doc! { "teacher": 1, "createdAt": -1, "_id": -1 },
                "by_teacher",
                false,
            ),
            index(
                doc! { "student": 1, "createdAt": -1, "_id": -1 },
                "by_student",
                false,
            ),
            index(doc! { "renewAt": 1 }, "renew_at", false),
        ]),
    )
    .await?;
    observe(
        "migrate",
        db.collection::<Document>(REWARD_ASSIGNMENTS)
            .create_indexes([
                index(
                    doc! { "teacher": 1, "createdAt": -1, "_id": -1 },
                    "by_teacher",
                    false,
                ),
                index(
                    doc! { "student": 1, "status": 1, "createdAt": -1, "_id": -1 },
                    "by_student",
                    false,
                ),
            ]),
    )
    .await?;
    Ok(())
}

/// Every document matching `filter`, newest first.
async fn all<D, T>(coll: &Collection<D>, op: &'static str, filter: Document) -> StoreResult<Vec<T>>
where
    D: DeserializeOwned + Send + Sync,
    T: TryFrom<D, Error = StoreError>,
{
    newest_first(coll, op, filter, None).await
}

/// A whole number field, whichever BSON number type holds it (old documents may have int32).
fn whole(d: &Document, field: &str) -> Option<i64> {
    match d.get(field)? {
        mongodb::bson::Bson::Int32(n) => Some(i64::from(*n)),
        mongodb::bson::Bson::Int64(n) => Some(*n),
        mongodb::bson::Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}

/// Moves a student's balances, only if its points are at least `min_points` (when given); then
/// sets the level from the points it ended with. `false` when the guard refused.
async fn move_points(
    students: &Collection<Document>,
    op: &'static str,
    student: &Id,
    (points, pending, rewards): (i64, i64, i64),
    min_points: Option<i64>,
) -> StoreResult<bool> {
    let mut filter = doc! { "_id": student.to_object_id() };
    if let Some(min) = min_points {
        filter.insert("points", doc! { "$gte": min });
    }
    let updated = observe(
        op,
        students
            .find_one_and_update(
                filter,
                doc! {
                    "$inc": { "points": points, "pendingPoints": pending, "rewards": rewards },
                    "$set": { "updatedAt": DateTime::now() },
                },
            )
            .return_document(ReturnDocument::After),
    )
    .await?;
    let Some(updated) = updated else {
        return Ok(false);
    };
    let now_points = whole(&updated, "points").ok_or_else(|| bad("points"))?;
    // Conditional on the points it was computed from: when another transition moved them since,
    // that one sets the level from the newer value.
    observe(
        op,
        students.update_one(
            doc! { "_id": student.to_object_id(), "points": now_points },
            doc! { "$set": { "level": level_for(now_points) } },
        ),
    )
    .await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Tasks

#[derive(Serialize, Deserialize)]
struct TaskAssignmentDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    task: ObjectId,
    student: ObjectId,
    teacher: ObjectId,
    status: String,
    #[serde(default)]
    points: i64,
    slot: String,
    origin: String,
    #[serde(rename = "approvedAt", default)]
    approved_at: Option<DateTime>,
    #[serde(rename = "renewAt", default)]
    renew_at: Option<DateTime>,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&TaskAssignment> for TaskAssignmentDoc {
    fn from(a: &TaskAssignment) -> Self {
        TaskAssignmentDoc {
            id: a.id.to_object_id(),
            task: a.task.to_object_id(),
            student: a.student.to_object_id(),
            teacher: a.teacher.to_object_id(),
            status: a.status.as_str().to_owned(),
            points: a.points,
            slot: a.slot.clone(),
            origin: a.origin.clone(),
            approved_at: a.approved_at.map(date),
            renew_at: a.renew_at.map(date),
            created_at: date(a.created_at),
            updated_at: date(a.updated_at),
            version: a.version,
        }
    }
}

impl TryFrom<TaskAssignmentDoc> for TaskAssignment {
    type Error = StoreError;
    fn try_from(d: TaskAssignmentDoc) -> StoreResult<TaskAssignment> {
        Ok(TaskAssignment {
            id: Id::from_object_id(d.id),
            task: Id::from_object_id(d.task),
            student: Id::from_object_id(d.student),
            teacher: Id::from_object_id(d.teacher),
            status: TaskStatus::parse(&d.status).ok_or_else(|| bad("assignment status"))?,
            points: d.points,
            slot: d.slot,
            origin: d.origin,
            approved_at: d.approved_at.map(millis),
            renew_at: d.renew_at.map(millis),
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoTaskAssignments {
    coll: Collection<TaskAssignmentDoc>,
    students: Collection<Document>,
}

impl MongoTaskAssignments {
    pub(super) fn new(db: &Database) -> Self {
        MongoTaskAssignments {
            coll: db.collection(TASK_ASSIGNMENTS),
            students: db.collection(STUDENTS),
        }
    }

    /// Moves the assignment `id` of `owner` (`{field: id}`) from status `from`, applying `set`.
    /// Returns the updated assignment, or why not.
    async fn transition(
        &self,
        op: &'static str,
        id: &Id,
        owner: (&str, &Id),
        from: TaskStatus,
        mut set: Document,
    ) -> StoreResult<Transition<TaskAssignment>> {
        set.insert("updatedAt", DateTime::now());
        let owner_filter = doc! { owner.0: owner.1.to_object_id() };
        let mut filter = doc! { "_id": id.to_object_id(), "status": from.as_str() };
        filter.extend(owner_filter.clone());
        let updated = observe(
            op,
            self.coll
                .find_one_and_update(filter, doc! { "$set": set, "$inc": { "__v": 1 } })
                .return_document(ReturnDocument::After),
        )
        .await?;
        if let Some(updated) = updated {
            return Ok(Transition::Done(updated.try_into()?));
        }
        let mut own = doc! { "_id": id.to_object_id() };
        own.extend(owner_filter);
        Ok(
            match convert(observe(op, self.coll.find_one(own)).await?)? {
                Some(current) => Transition::WrongState(current),
                None => Transition::NotFound,
            },
        )
    }
}

#[async_trait::async_trait]
impl TaskAssignments for MongoTaskAssignments {
    async fn insert(&self, a: &TaskAssignment) -> StoreResult<()> {
        observe(
            "task_assignments.insert",
            self.coll.insert_one(TaskAssignmentDoc::from(a)),
        )
        .await
        .map(drop)
        .map_err(|e| super::conflict_on(e, "an assignment", "task"))
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<TaskAssignment>> {
        find_by_id(&self.coll, "task_assignments.by_id", id).await
    }

    async fn list_for_teacher(
        &self,
        teacher: &Id,
        status: Option<TaskStatus>,
    ) -> StoreResult<Vec<TaskAssignment>> {
        let mut filter = doc! { "teacher": teacher.to_object_id() };
        if let Some(s) = status {
            filter.insert("status", s.as_str());
        }
        all(&self.coll, "task_assignments.list_for_teacher", filter).await
    }

    async fn list_for_student(&self, student: &Id) -> StoreResult<Vec<TaskAssignment>> {
        all(
            &self.coll,
            "task_assignments.list_for_student",
            doc! { "student": student.to_object_id() },
        )
        .await
    }

    async fn count_for_student(&self, student: &Id) -> StoreResult<AssignmentCounts> {
        let op = "task_assignments.count_for_student";
        let total = observe(
            op,
            self.coll
                .count_documents(doc! { "student": student.to_object_id() }),
        )
        .await?;
        let completed = observe(
            op,
            self.coll.count_documents(
                doc! { "student": student.to_object_id(), "status": TaskStatus::Completed.as_str() },
            ),
        )
        .await?;
        Ok(AssignmentCounts { total, completed })
    }

    async fn achieve(
        &self,
        student: &Id,
        id: &Id,
        points: i64,
        _now: Millis,
    ) -> StoreResult<Transition<TaskAssignment>> {
        let op = "task_assignments.achieve";
        let result = self
            .transition(
                op,
                id,
                ("student", student),
                TaskStatus::NotStarted,
                doc! { "status": TaskStatus::InProgress.as_str(), "points": points },
            )
            .await?;
        if let Transition::Done(a) = &result {
            move_points(&self.students, op, &a.student, (0, a.points, 0), None).await?;
        }
        Ok(result)
    }

    async fn approve(
        &self,
        teacher: &Id,
        id: &Id,
        now: Millis,
        renew_at: Millis,
    ) -> StoreResult<Transition<TaskAssignment>> {
        let op = "task_assignments.approve";
        let result = self
            .transition(
                op,
                id,
                ("teacher", teacher),
                TaskStatus::InProgress,
                // The slot frees up (it becomes the assignment's own id) for the next one.
                doc! {
                    "status": TaskStatus::Completed.as_str(),
                    "slot": id.as_str(),
                    "approvedAt": date(now),
                    "renewAt": date(renew_at),
                },
            )
            .await?;
        if let Transition::Done(a) = &result {
            move_points(
                &self.students,
                op,
                &a.student,
                (a.points, -a.points, 0),
                None,
            )
            .await?;
        }
        Ok(result)
    }

    async fn due_for_renewal(&self, now: Millis, limit: u64) -> StoreResult<Vec<TaskAssignment>> {
        let op = "task_assignments.due_for_renewal";
        let docs: Vec<TaskAssignmentDoc> = observe(op, async {
            self.coll
                .find(doc! { "renewAt": { "$lte": date(now) } })
                .sort(doc! { "renewAt": 1 })
                .limit(limit as i64)
                .await?
                .try_collect()
                .await
        })
        .await?;
        docs.into_iter().map(TaskAssignment::try_from).collect()
    }

    async fn renew(&self, done: &TaskAssignment, next: &TaskAssignment) -> StoreResult<bool> {
        let op = "task_assignments.renew";
        let inserted = match observe(op, self.coll.insert_one(TaskAssignmentDoc::from(next))).await
        {
            Ok(_) => true,
            Err(StoreError::Conflict { .. }) => false,
            Err(e) => return Err(e),
        };
        observe(
            op,
            self.coll.update_one(
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

#[derive(Serialize, Deserialize)]
struct RewardAssignmentDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    reward: ObjectId,
    student: ObjectId,
    teacher: ObjectId,
    status: String,
    #[serde(default)]
    paid: i64,
    #[serde(rename = "claimedAt", default)]
    claimed_at: Option<DateTime>,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
}

impl From<&RewardAssignment> for RewardAssignmentDoc {
    fn from(a: &RewardAssignment) -> Self {
        RewardAssignmentDoc {
            id: a.id.to_object_id(),
            reward: a.reward.to_object_id(),
            student: a.student.to_object_id(),
            teacher: a.teacher.to_object_id(),
            status: a.status.as_str().to_owned(),
            paid: a.paid,
            claimed_at: a.claimed_at.map(date),
            created_at: date(a.created_at),
            updated_at: date(a.updated_at),
            version: a.version,
        }
    }
}

impl TryFrom<RewardAssignmentDoc> for RewardAssignment {
    type Error = StoreError;
    fn try_from(d: RewardAssignmentDoc) -> StoreResult<RewardAssignment> {
        Ok(RewardAssignment {
            id: Id::from_object_id(d.id),
            reward: Id::from_object_id(d.reward),
            student: Id::from_object_id(d.student),
            teacher: Id::from_object_id(d.teacher),
            status: RewardStatus::parse(&d.status).ok_or_else(|| bad("reward status"))?,
            paid: d.paid,
            claimed_at: d.claimed_at.map(millis),
            created_at: millis(d.created_at),
            updated_at: millis(d.updated_at),
            version: d.version,
        })
    }
}

pub(super) struct MongoRewardAssignments {
    coll: Collection<RewardAssignmentDoc>,
    students: Collection<Document>,
}

impl MongoRewardAssignments {
    pub(super) fn new(db: &Database) -> Self {
        MongoRewardAssignments {
            coll: db.collection(REWARD_ASSIGNMENTS),
            students: db.collection(STUDENTS),
        }
    }
}

#[async_trait::async_trait]
impl RewardAssignments for MongoRewardAssignments {
    async fn insert(&self, a: &RewardAssignment) -> StoreResult<()> {
        observe(
            "reward_assignments.insert",
            self.coll.insert_one(RewardAssignmentDoc::from(a)),
        )
        .await
        .map(drop)
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<RewardAssignment>> {
        find_by_id(&self.coll, "reward_assignments.by_id", id).await
    }

    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<RewardAssignment>> {
        all(
            &self.coll,
            "reward_assignments.list_for_teacher",
            doc! { "teacher": teacher.to_object_id() },
        )
        .await
    }

    async fn list_for_student(
        &self,
        student: &Id,
        status: RewardStatus,
    ) -> StoreResult<Vec<RewardAssignment>> {
        all(
            &self.coll,
            "reward_assignments.list_for_student",
            doc! { "student": student.to_object_id(), "status": status.as_str() },
        )
        .await
    }

    /// The assignment's conditional update lets one claim through; only that one pays, guarded by
    /// `points >= price`. If the student cannot pay, the assignment goes back to `unclaimed`.
    async fn claim(
        &self,
        student: &Id,
        id: &Id,
        price: i64,
        now: Millis,
    ) -> StoreResult<Result<RewardAssignment, ClaimRefused>> {
        let op = "reward_assignments.claim";
        let own = doc! { "_id": id.to_object_id(), "student": student.to_object_id() };
        let Some(current) =
            convert::<_, RewardAssignment>(observe(op, self.coll.find_one(own.clone())).await?)?
        else {
            return Ok(Err(ClaimRefused::NotFound));
        };
        if current.status != RewardStatus::Unclaimed {
            return Ok(Err(ClaimRefused::AlreadyClaimed));
        }
        let balance = || async {
            let s = observe(
                op,
                self.students
                    .find_one(doc! { "_id": student.to_object_id() }),
            )
            .await?;
            Ok::<_, StoreError>(s.and_then(|s| whole(&s, "points")).unwrap_or(0))
        };
        // Most refusals are a student short of points: answer them without touching anything.
        let points = balance().await?;
        if points < price {
            return Ok(Err(ClaimRefused::NotEnoughPoints { points, price }));
        }
        let mut unclaimed = own.clone();
        unclaimed.insert("status", RewardStatus::Unclaimed.as_str());
        let claimed = observe(
            op,
            self.coll
                .find_one_and_update(
                    unclaimed,
                    doc! {
                        "$set": {
                            "status": RewardStatus::Claimed.as_str(),
                            "paid": price,
                            "claimedAt": date(now),
                            "updatedAt": date(now),
                        },
                        "$inc": { "__v": 1 },
                    },
                )
                .return_document(ReturnDocument::After),
        )
        .await?;
        let Some(claimed) = claimed else {
            return Ok(Err(ClaimRefused::AlreadyClaimed));
        };
        if move_points(&self.students, op, student, (-price, 0, 1), Some(price)).await? {
            return Ok(Ok(claimed.try_into()?));
        }
        // Points were spent elsewhere since the check: undo the claim.
        let mut mine = own;
        mine.insert("status", RewardStatus::Claimed.as_str());
        observe(
            op,
            self.coll.update_one(
                mine,
                doc! {
                    "$set": { "status": RewardStatus::Unclaimed.as_str(), "paid": 0, "claimedAt": null },
                    "$inc": { "__v": 1 },
                },
            ),
        )
        .await?;
        let points = balance().await?;
        Ok(Err(ClaimRefused::NotEnoughPoints { points, price }))
    }
}
