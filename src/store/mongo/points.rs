//! Moving a student's points exactly once on MongoDB.
//!
//! A transition writes two documents: the assignment (its status: the gate that lets one request
//! through) and the student (its balances). With a replica set both writes run in one session
//! transaction ([`Ledger::begin`], [`Tx::end`]), through the very steps below (so the keys of
//! step 2 are left for the job to tidy there too). Without one (a standalone server, the jongodb
//! test server) they are two writes, and a failure between them must not lose the points nor, on
//! a retry or a second runner, credit them twice. So:
//!
//! 1. The gate also sets `pointsOp: K` (a fresh key) and `pointsApplied: false` on the
//!    assignment. A transition only passes the gate of an assignment with nothing pending, so at
//!    most one move per assignment is pending, and `pointsOp` leaves `K` only after `K` settled.
//! 2. Settling `K` (the request itself, the next request on that assignment, or the job in any
//!    replica) reads the student's `opsVersion`, then re-reads the assignment, then applies with
//!    ONE conditional update of the student: `$inc` of the balances and `pointsOps.K: "applied"`,
//!    only if `pointsOps.K` does not exist and `opsVersion` is the one read. A claim's move also
//!    needs `points >= price`; if that fails, the same kind of update records `"refused"`.
//!    (`pointsOps` is a sub-document, not an array: the jongodb test server has no `$push`.)
//! 3. The assignment is then marked: `pointsApplied: true`, or for a refused claim back to
//!    `unclaimed`.
//! 4. The job later removes settled keys from `pointsOps` (only keys whose assignment is marked),
//!    bumping `opsVersion` in the same update. (Step 2 also sets `pointsToTidy`, the indexed flag
//!    the job looks for; it goes once `pointsOps` is empty.)
//!
//! Why no move applies twice: two applications of `K` are two updates of the same student. The
//! second one's filter needs `K` absent, so `K` was removed in between, by a step 4 that bumped
//! `opsVersion` after the assignment was marked. The second runner's filter also carries the
//! `opsVersion` it read before it re-read the assignment; to match, it must have read it after
//! that bump, so it re-read the assignment after the mark, saw nothing pending and stopped.
//! Contradiction. Why none is lost: until step 3 the assignment says `pointsApplied: false`,
//! which the job looks for; after a step 2 without step 3, `K` on the student says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{
    Error as DbError, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
};
use mongodb::{Client, ClientSession, Collection, Database};

use super::collections::{REWARD_ASSIGNMENTS, STUDENTS, TASK_ASSIGNMENTS, TO_TIDY};
use super::observe;
use crate::domain::Millis;
use crate::domain::assignment::{PointsMove, RewardStatus};
use crate::domain::student::level_for;
use crate::store::{StoreError, StoreResult};

/// On assignments: the key of the last points move, and whether it has settled.
pub(super) const OP: &str = "pointsOp";
pub(super) const APPLIED: &str = "pointsApplied";
/// On students: `{key: "applied" | "refused"}` of settled moves not yet tidied (step 4), and the
/// version step 2 checks.
const OPS: &str = "pointsOps";
const OPS_VERSION: &str = "opsVersion";
const APPLIED_VALUE: &str = "applied";
const REFUSED_VALUE: &str = "refused";
/// Tries of a settlement that loses races with other writers of the same student, and of a
/// transaction that hits transient errors, before answering 503 (the job finishes the move).
const ATTEMPTS: u32 = 8;

/// Runs a driver action inside the transaction's session when there is one.
macro_rules! exec {
    ($session:expr, $action:expr) => {
        match $session.as_deref_mut() {
            Some(s) => $action.session(s).await,
            None => $action.await,
        }
    };
}
pub(super) use exec;

/// The session of the running transaction, or `None` without transactions.
pub(super) type Session<'a> = Option<&'a mut ClientSession>;

/// Which collection an assignment lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Book {
    Tasks,
    Rewards,
}

impl Book {
    fn prefix(self) -> &'static str {
        match self {
            Book::Tasks => "t",
            Book::Rewards => "r",
        }
    }

    fn of_key(key: &str) -> Option<(Book, ObjectId)> {
        let mut parts = key.splitn(3, ':');
        let book = match parts.next()? {
            "t" => Book::Tasks,
            "r" => Book::Rewards,
            _ => return None,
        };
        Some((book, ObjectId::parse_str(parts.next()?).ok()?))
    }
}

/// A fresh key for a move of assignment `id`; unique forever, so a key never means two moves.
pub(super) fn new_key(book: Book, id: &ObjectId) -> String {
    format!(
        "{}:{}:{}",
        book.prefix(),
        id.to_hex(),
        ObjectId::new().to_hex()
    )
}

/// The gate's `$set` fields that leave the move `key` pending.
pub(super) fn pending_fields(key: &str) -> Document {
    doc! { OP: key, APPLIED: false }
}

/// The gate's filter clause: nothing pending on the assignment.
pub(super) fn nothing_pending() -> Document {
    doc! { APPLIED: { "$ne": false } }
}

/// A move the gate of an assignment left pending.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub key: String,
    pub book: Book,
    pub assignment: ObjectId,
    pub student: ObjectId,
    pub mv: PointsMove,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Settled {
    Applied,
    /// Only claims: the student had fewer points than the price; the claim was undone.
    Refused,
}

/// A whole number field, whichever BSON number type holds it (old documents may have int32).
pub(super) fn whole(d: &Document, field: &str) -> Option<i64> {
    match d.get(field)? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}

fn unavailable(why: &str) -> DbError {
    DbError::from(std::io::Error::other(why.to_owned()))
}

pub(super) struct Ledger {
    client: Client,
    tasks: Collection<Document>,
    rewards: Collection<Document>,
    students: Collection<Document>,
    /// Whether the deployment runs transactions (a replica set or sharded cluster); learnt at
    /// migration, `false` (the path that is safe everywhere) until then.
    transactions: Arc<AtomicBool>,
    /// Student writes of moves still to fail (`EDUCOIN_TEST_HOOKS`).
    faults: AtomicU32,
}

impl Ledger {
    pub(super) fn new(client: &Client, db: &Database, transactions: Arc<AtomicBool>) -> Self {
        Ledger {
            client: client.clone(),
            tasks: db.collection(TASK_ASSIGNMENTS),
            rewards: db.collection(REWARD_ASSIGNMENTS),
            students: db.collection(STUDENTS),
            transactions,
            faults: AtomicU32::new(0),
        }
    }

    fn book(&self, book: Book) -> &Collection<Document> {
        match book {
            Book::Tasks => &self.tasks,
            Book::Rewards => &self.rewards,
        }
    }

    pub(super) fn fail_next_move(&self) {
        self.faults.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn force_transactions(&self, on: bool) {
        self.transactions.store(on, Ordering::Relaxed);
    }

    fn take_fault(&self) -> bool {
        self.faults
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Starts an attempt of a gate and its move: in a transaction where the deployment has
    /// them, else as plain writes (the pending-move protocol above keeps those exactly-once).
    pub(super) async fn begin(&self) -> Result<Tx, DbError> {
        let session = if self.transactions.load(Ordering::Relaxed) {
            let mut session = self.client.start_session().await?;
            session.start_transaction().await?;
            Some(session)
        } else {
            None
        };
        Ok(Tx { session, tries: 0 })
    }

    /// Settles the pending move `p` exactly once, whoever else tries at the same time.
    pub(super) async fn settle(
        &self,
        s: &mut Session<'_>,
        p: &Pending,
        now: Millis,
    ) -> Result<Settled, DbError> {
        let recorded_at = format!("{OPS}.{}", p.key);
        for _ in 0..ATTEMPTS {
            let student = exec!(
                s,
                self.students
                    .find_one(doc! { "_id": p.student })
                    .projection(doc! { OPS: 1, OPS_VERSION: 1 })
            )?;
            let Some(student) = student else {
                // The student is gone: there is nothing left to move.
                self.mark(s, p, Settled::Applied, now).await?;
                return Ok(Settled::Applied);
            };
            let recorded = student
                .get_document(OPS)
                .ok()
                .and_then(|ops| ops.get_str(&p.key).ok());
            if let Some(value) = recorded {
                // Settled by another runner that may not have marked the assignment yet.
                let outcome = outcome_of(value);
                self.mark(s, p, outcome, now).await?;
                return Ok(outcome);
            }
            // The assignment is read after the student's version, never before (module comment).
            if let Some(outcome) = self.settled_already(s, p).await? {
                return Ok(outcome);
            }
            let mut filter = doc! { "_id": p.student, &recorded_at: { "$exists": false } };
            // The value exactly as stored: the test server compares numbers of different BSON
            // types as different.
            match student.get(OPS_VERSION) {
                Some(v) => filter.insert(OPS_VERSION, v.clone()),
                None => filter.insert(OPS_VERSION, doc! { "$exists": false }),
            };
            if self.take_fault() {
                return Err(unavailable("injected failure before the points move"));
            }
            let mut pays = filter.clone();
            if let Some(min) = p.mv.min_points {
                pays.insert("points", doc! { "$gte": min });
            }
            // `updateOne`, not `findAndModify`: jongodb's `findAndModify` does not match and
            // write atomically (two racing settlers both applied; docs/decisions.md).
            let applied = exec!(
                s,
                self.students.update_one(
                    pays,
                    doc! {
                        "$inc": {
                            "points": p.mv.points,
                            "pendingPoints": p.mv.pending,
                            "rewards": p.mv.rewards,
                            "earnedPoints": p.mv.earned,
                        },
                        "$set": {
                            &recorded_at: APPLIED_VALUE,
                            TO_TIDY: true,
                            "updatedAt": super::date(now),
                        },
                    },
                )
            )?;
            if applied.matched_count == 1 {
                if p.mv.earned != 0 {
                    let after = exec!(
                        s,
                        self.students
                            .find_one(doc! { "_id": p.student })
                            .projection(doc! { "earnedPoints": 1 })
                    )?;
                    if let Some(after) = after {
                        self.set_level(s, &after).await?;
                    }
                }
                self.mark(s, p, Settled::Applied, now).await?;
                return Ok(Settled::Applied);
            }
            if let Some(min) = p.mv.min_points {
                filter.insert("points", doc! { "$lt": min });
                let refused = exec!(
                    s,
                    self.students.update_one(
                        filter,
                        doc! { "$set": { &recorded_at: REFUSED_VALUE, TO_TIDY: true } }
                    )
                )?;
                if refused.matched_count == 1 {
                    self.mark(s, p, Settled::Refused, now).await?;
                    return Ok(Settled::Refused);
                }
            }
            // Another writer moved the student's version or settled this move: look again.
        }
        Err(unavailable(
            "points move lost too many races; the settlement job finishes it",
        ))
    }

    /// How `p` settled if the assignment no longer has it pending.
    async fn settled_already(
        &self,
        s: &mut Session<'_>,
        p: &Pending,
    ) -> Result<Option<Settled>, DbError> {
        let a = exec!(
            s,
            self.book(p.book)
                .find_one(doc! { "_id": p.assignment })
                .projection(doc! { OP: 1, APPLIED: 1 })
        )?;
        let Some(a) = a else {
            return Ok(Some(Settled::Applied));
        };
        let ours = a.get_str(OP).ok() == Some(p.key.as_str());
        if ours && a.get_bool(APPLIED).ok() == Some(false) {
            return Ok(None);
        }
        // `pointsOp` leaves a key only after the key settled; a claim that moved on was refused
        // (a paid claim has no later transition).
        Ok(Some(if ours || p.mv.min_points.is_none() {
            Settled::Applied
        } else {
            Settled::Refused
        }))
    }

    /// Step 3: the assignment records how its pending move `p` settled.
    /// Returns how many assignments it changed (0: marked already).
    async fn mark(
        &self,
        s: &mut Session<'_>,
        p: &Pending,
        outcome: Settled,
        now: Millis,
    ) -> Result<u64, DbError> {
        let filter = doc! { "_id": p.assignment, OP: &p.key, APPLIED: false };
        let now = super::date(now);
        let update = match (outcome, p.book) {
            (Settled::Refused, Book::Rewards) => doc! {
                "$set": {
                    "status": RewardStatus::Unclaimed.as_str(), "paid": 0, "claimedAt": null,
                    "updatedAt": now, OP: null, APPLIED: true,
                },
                "$inc": { "__v": 1 },
            },
            _ => doc! { "$set": { APPLIED: true } },
        };
        Ok(exec!(s, self.book(p.book).update_one(filter, update))?.modified_count)
    }

    /// The level from the points earned it was computed from: when another move changed them
    /// since, that one sets the level from the newer value.
    async fn set_level(&self, s: &mut Session<'_>, student: &Document) -> Result<(), DbError> {
        let (Ok(id), Some(stored), Some(earned)) = (
            student.get_object_id("_id"),
            student.get("earnedPoints"),
            whole(student, "earnedPoints"),
        ) else {
            return Err(DbError::custom("a student without _id or earnedPoints"));
        };
        exec!(
            s,
            self.students.update_one(
                doc! { "_id": id, "earnedPoints": stored.clone() },
                doc! { "$set": { "level": level_for(earned) } },
            )
        )?;
        Ok(())
    }

    /// Step 4 for up to `limit` students: marks the assignments of keys they hold (a runner that
    /// stopped between steps 2 and 3), then removes those keys and bumps `opsVersion`. Returns
    /// how many assignments it marked.
    pub(super) async fn tidy(&self, limit: u64, now: Millis) -> StoreResult<u64> {
        let op = "points.tidy";
        let (filter, fields) = (doc! { TO_TIDY: true }, doc! { OPS: 1, "earnedPoints": 1 });
        let students = projected(op, &self.students, filter, fields, Some(limit)).await?;
        let mut marked = 0;
        for student in students {
            let id = student
                .get_object_id("_id")
                .map_err(|_| StoreError::backend("a student without _id"))?;
            let ops = student.get_document(OPS).cloned().unwrap_or_default();
            let mut forget = Document::new();
            for (key, value) in &ops {
                let Some((book, assignment)) = Book::of_key(key) else {
                    continue;
                };
                let p = Pending {
                    key: key.clone(),
                    book,
                    assignment,
                    student: id,
                    // Not applied here: `mark` only needs the key and the assignment.
                    mv: PointsMove::achieve(0),
                };
                let outcome = outcome_of(value.as_str().unwrap_or(APPLIED_VALUE));
                let r = observe(op, async { self.mark(&mut None, &p, outcome, now).await }).await?;
                marked += r;
                forget.insert(format!("{OPS}.{key}"), "");
            }
            // Every key's assignment is marked now (by us or by its runner), so removing the keys
            // is safe: the version bump stops runners that read the assignment before the mark.
            if !forget.is_empty() {
                observe(
                    op,
                    self.students.update_one(
                        doc! { "_id": id },
                        doc! { "$unset": forget, "$inc": { OPS_VERSION: 1_i64 } },
                    ),
                )
                .await?;
            }
            observe(
                op,
                self.students.update_one(
                    doc! { "_id": id, "$or": [{ OPS: {} }, { OPS: { "$exists": false } }] },
                    doc! { "$unset": { OPS: "", TO_TIDY: "" } },
                ),
            )
            .await?;
            if let (Some(stored), Some(earned)) =
                (student.get("earnedPoints"), whole(&student, "earnedPoints"))
            {
                // A runner that stopped before its level write leaves the level behind; this
                // catches it up (conditional like `set_level`).
                observe(
                    op,
                    self.students.update_one(
                        doc! { "_id": id, "earnedPoints": stored.clone() },
                        doc! { "$set": { "level": level_for(earned) } },
                    ),
                )
                .await?;
            }
        }
        Ok(marked)
    }
}

fn outcome_of(recorded: &str) -> Settled {
    if recorded == REFUSED_VALUE {
        Settled::Refused
    } else {
        Settled::Applied
    }
}

/// One transaction (or none) around a gate and its move; see [`Ledger::begin`]. Callers loop:
/// `let r = work(&mut tx.session()).await; if let Some(v) = tx.end(r).await? { return v }`.
pub(super) struct Tx {
    session: Option<ClientSession>,
    tries: u32,
}

impl Tx {
    pub(super) fn session(&mut self) -> Session<'_> {
        self.session.as_mut()
    }

    /// Ends an attempt: commits it (`Some`), or aborts it and starts the next on a transient
    /// transaction error such as a write conflict with a racing request (`None`), or gives up.
    pub(super) async fn end<T>(
        &mut self,
        result: Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        let Some(session) = self.session.as_mut() else {
            return result.map(Some);
        };
        self.tries += 1;
        let retry = |e: &DbError, tries: u32| {
            e.contains_label(TRANSIENT_TRANSACTION_ERROR) && tries < ATTEMPTS
        };
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                let _ = session.abort_transaction().await;
                if retry(&e, self.tries) {
                    session.start_transaction().await?;
                    return Ok(None);
                }
                return Err(e);
            }
        };
        loop {
            match session.commit_transaction().await {
                Ok(()) => return Ok(Some(value)),
                Err(e)
                    if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                        && self.tries < ATTEMPTS =>
                {
                    self.tries += 1;
                }
                Err(e) if retry(&e, self.tries) => {
                    self.tries += 1;
                    session.start_transaction().await?;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether the deployment behind `db` runs multi-document transactions: a replica set member
/// (`setName`) or a mongos (`msg: "isdbgrid"`), with sessions (`logicalSessionTimeoutMinutes`).
pub(super) async fn supports_transactions(db: &Database) -> StoreResult<bool> {
    let hello = observe("migrate", db.run_command(doc! { "hello": 1 })).await?;
    let clustered = hello.get_str("setName").is_ok() || hello.get_str("msg") == Ok("isdbgrid");
    Ok(clustered && hello.contains_key("logicalSessionTimeoutMinutes"))
}

/// The documents of `coll` matching `filter`, with only the `fields` projected, at most `limit`.
async fn projected(
    op: &'static str,
    coll: &Collection<Document>,
    filter: Document,
    fields: Document,
    limit: Option<u64>,
) -> StoreResult<Vec<Document>> {
    use futures_util::TryStreamExt;
    observe(op, async {
        let find = coll.find(filter).projection(fields);
        let find = match limit {
            Some(n) => find.limit(n as i64),
            None => find,
        };
        find.await?.try_collect().await
    })
    .await
}

/// Gives students written before `earnedPoints` existed the sum of their approved tasks
/// (negative ones subtract), and the level from it. Runs at every start; only documents without
/// the field are touched, each with an update conditional on still lacking it.
pub(super) async fn backfill_earned_points(db: &Database) -> StoreResult<u64> {
    let op = "migrate";
    let students: Collection<Document> = db.collection(STUDENTS);
    let tasks: Collection<Document> = db.collection(TASK_ASSIGNMENTS);
    let without = doc! { "earnedPoints": { "$exists": false } };
    let missing = projected(op, &students, without, doc! { "_id": 1 }, None).await?;
    let mut filled = 0;
    for s in missing {
        let Ok(id) = s.get_object_id("_id") else {
            continue;
        };
        // A completed assignment whose move is still pending is left out: settling it adds it.
        let completed = doc! {
            "student": id,
            "status": crate::domain::assignment::TaskStatus::Completed.as_str(),
            APPLIED: { "$ne": false },
        };
        let done = projected(op, &tasks, completed, doc! { "points": 1 }, None).await?;
        let earned: i64 = done.iter().filter_map(|d| whole(d, "points")).sum();
        let r = observe(
            op,
            students.update_one(
                doc! { "_id": id, "earnedPoints": { "$exists": false } },
                doc! { "$set": { "earnedPoints": earned, "level": level_for(earned) } },
            ),
        )
        .await?;
        filled += r.modified_count;
    }
    Ok(filled)
}
