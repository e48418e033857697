use crate::domain::account::{AdminPatch, TeacherPatch};
use crate::domain::assignment::{
    ClaimRefused, RewardAssignment, RewardStatus, TaskAssignment, TaskStatus, Transition,
};
use crate::domain::classroom::{CategoryPatch, ClassChange, RewardPatch, TaskPatch};
use crate::domain::content::{PresetType, RuleType};
use crate::domain::notification::Notification;
use crate::domain::student::StudentPatch;
use crate::domain::{
    AccountStatus, Admin, Category, Class, Feedback, Id, Millis, Preset, Reward, Role, Rule,
    Student, Task, Teacher,
};

use super::StoreResult;

/// One page of a list: 1-based `page`, `limit` items, optional case-insensitive substring `search`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub page: u64,
    pub limit: u64,
    pub search: Option<String>,
}

impl ListQuery {
    /// The highest page a list serves (10 million records at 10 a page): beyond it, offsets would
    /// overflow SQLite's signed OFFSET and exceed what a database skips in reasonable time.
    pub const MAX_PAGE: u64 = 1_000_000;

    pub fn skip(&self) -> u64 {
        (self.page.clamp(1, Self::MAX_PAGE) - 1).saturating_mul(self.limit)
    }

    /// Whether this page starts after the last of `total` records: its items are then `[]`
    /// without asking the database to skip that far.
    pub fn is_past(&self, total: u64) -> bool {
        self.skip() >= total
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[async_trait::async_trait]
pub trait Teachers: Send + Sync {
    /// Fails with `Conflict` when the email is taken.
    async fn insert(&self, teacher: &Teacher) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Teacher>>;
    async fn by_email(&self, email: &str) -> StoreResult<Option<Teacher>>;
    /// Newest first; `search` matches name or email.
    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Teacher>>;
    /// Applies the set fields, bumps `updatedAt` and `__v`; `None` when there is no such teacher.
    async fn update(
        &self,
        id: &Id,
        patch: &TeacherPatch,
        now: Millis,
    ) -> StoreResult<Option<Teacher>>;
    /// Replaces the hash without ending sessions (a parameter upgrade at login).
    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool>;
    /// A new password: sets the hash and increments `token_epoch`, which ends every access token
    /// issued before. The new epoch; `None` when there is no such teacher.
    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>>;
    /// Blocks or unblocks, and increments `token_epoch` (as `change_password`).
    async fn set_status(
        &self,
        id: &Id,
        status: AccountStatus,
        now: Millis,
    ) -> StoreResult<Option<i64>>;
    /// Sets the teacher's sealed pass-code only if it has none; `false` when one was already set
    /// (a concurrent request won) or there is no such teacher.
    async fn set_passcode_if_missing(&self, id: &Id, sealed: &str) -> StoreResult<bool>;
    async fn count(&self) -> StoreResult<u64>;
    /// Teachers created in `[from, to)`.
    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64>;
}

#[async_trait::async_trait]
pub trait Admins: Send + Sync {
    /// Fails with `Conflict` when the email is taken.
    async fn insert(&self, admin: &Admin) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Admin>>;
    async fn by_email(&self, email: &str) -> StoreResult<Option<Admin>>;
    /// Fails with `Conflict` when a new email is taken.
    async fn update(&self, id: &Id, patch: &AdminPatch, now: Millis) -> StoreResult<Option<Admin>>;
    /// Replaces the hash without ending sessions (a parameter upgrade at login).
    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool>;
    /// A new password: sets the hash and increments `token_epoch`, which ends every access token
    /// issued before. The new epoch; `None` when there is no such admin.
    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>>;
}

#[async_trait::async_trait]
pub trait Students: Send + Sync {
    /// Fails with `Conflict` when the passcode (its lookup key) is taken.
    async fn insert(&self, student: &Student) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Student>>;
    /// The students among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Student>>;
    /// Finds a student by the HMAC of its passcode.
    async fn by_passcode_lookup(&self, lookup: &str) -> StoreResult<Option<Student>>;
    /// A teacher's students, newest first; `class` keeps one class; `search` matches the name.
    async fn list_for_teacher(
        &self,
        teacher: &Id,
        class: Option<&str>,
        query: &ListQuery,
    ) -> StoreResult<Page<Student>>;
    /// Every student, newest first; `search` matches the name.
    async fn list_all(&self, query: &ListQuery) -> StoreResult<Page<Student>>;
    async fn update(
        &self,
        id: &Id,
        patch: &StudentPatch,
        now: Millis,
    ) -> StoreResult<Option<Student>>;
    async fn count(&self) -> StoreResult<u64>;
    async fn count_for_teacher(&self, teacher: &Id) -> StoreResult<u64>;
    /// Students created in `[from, to)`.
    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64>;
}

/// What became of a conditional class update.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassUpdate {
    Updated(Class),
    /// No such class of this teacher.
    NotFound,
    /// The class changed since it was read (its `__v` moved): read it again and retry.
    Stale,
}

/// What became of a class deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassDelete {
    Deleted,
    NotFound,
    /// Refused: this many students are still in the class.
    HasStudents(u64),
}

#[async_trait::async_trait]
pub trait Classes: Send + Sync {
    /// Fails with `Conflict` when the teacher already has a class with this name.
    async fn insert(&self, class: &Class) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Class>>;
    async fn by_name(&self, teacher: &Id, class_name: &str) -> StoreResult<Option<Class>>;
    /// A teacher's classes, newest first (`search` is ignored).
    async fn list_for_teacher(&self, teacher: &Id, query: &ListQuery) -> StoreResult<Page<Class>>;
    /// Writes `change` if the class is `teacher`'s and its `__v` is still `expected_version`; bumps
    /// `updatedAt` and `__v`. A new name carries to the teacher's students in the class: in one
    /// transaction on SQLite; on MongoDB the class is written first with a marker of its old name,
    /// then the students are moved and the marker removed, and any later update or delete of the
    /// class first finishes a move that was interrupted. `Conflict` when the name is taken.
    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        expected_version: i64,
        change: &ClassChange,
        now: Millis,
    ) -> StoreResult<ClassUpdate>;
    /// Deletes the teacher's class unless students are still in it. `now` stamps the students of
    /// an interrupted rename it finishes first (MongoDB).
    async fn delete_if_empty(&self, teacher: &Id, id: &Id, now: Millis)
    -> StoreResult<ClassDelete>;
}

#[async_trait::async_trait]
pub trait Categories: Send + Sync {
    async fn insert(&self, category: &Category) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Category>>;
    /// The categories among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Category>>;
    /// All of a teacher's categories, newest first (the app shows them unpaginated).
    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>>;
    /// Applies the set fields of `teacher`'s category; `None` when it has no such category.
    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        patch: &CategoryPatch,
        now: Millis,
    ) -> StoreResult<Option<Category>>;
}

#[async_trait::async_trait]
pub trait Tasks: Send + Sync {
    async fn insert(&self, task: &Task) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Task>>;
    /// The tasks among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Task>>;
    /// A teacher's tasks, newest first (`search` matches the name).
    async fn list_for_teacher(&self, teacher: &Id, query: &ListQuery) -> StoreResult<Page<Task>>;
    /// Applies the set fields of `teacher`'s task; `None` when it has no such task. The caller
    /// checks that a new `category` is the teacher's.
    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        patch: &TaskPatch,
        now: Millis,
    ) -> StoreResult<Option<Task>>;
}

#[async_trait::async_trait]
pub trait Rewards: Send + Sync {
    async fn insert(&self, reward: &Reward) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Reward>>;
    /// The rewards among `ids`, in one round trip (any order; unknown ids are left out).
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<Reward>>;
    /// A teacher's rewards, newest first (`search` matches the name).
    async fn list_for_teacher(&self, teacher: &Id, query: &ListQuery) -> StoreResult<Page<Reward>>;
    /// Applies the set fields of `teacher`'s reward; `None` when it has no such reward.
    async fn update(
        &self,
        teacher: &Id,
        id: &Id,
        patch: &RewardPatch,
        now: Millis,
    ) -> StoreResult<Option<Reward>>;
}

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
    /// `notStarted` → `inProgress` for the student's own assignment: records `points` (the task's)
    /// on it and adds them to the student's `pendingPoints`.
    async fn achieve(
        &self,
        student: &Id,
        id: &Id,
        points: i64,
        now: Millis,
    ) -> StoreResult<Transition<TaskAssignment>>;
    /// `inProgress` → `completed` for the teacher's own assignment: moves its points from the
    /// student's `pendingPoints` to `points`, adds them to `earnedPoints`, sets `level` from that,
    /// and schedules the repetition at `renew_at`.
    async fn approve(
        &self,
        teacher: &Id,
        id: &Id,
        now: Millis,
        renew_at: Millis,
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
        student: &Id,
        id: &Id,
        price: i64,
        now: Millis,
    ) -> StoreResult<Result<RewardAssignment, ClaimRefused>>;
}

#[async_trait::async_trait]
pub trait Notifications: Send + Sync {
    async fn insert(&self, notification: &Notification) -> StoreResult<()>;
    /// The recipient's notifications, newest first.
    async fn list_for(&self, recipient: &Id, query: &ListQuery) -> StoreResult<Page<Notification>>;
    async fn count_unread(&self, recipient: &Id) -> StoreResult<u64>;
    /// Marks the recipient's own notification read; `None` when it has no such notification.
    async fn mark_read(
        &self,
        recipient: &Id,
        id: &Id,
        now: Millis,
    ) -> StoreResult<Option<Notification>>;
}

/// A refresh token as stored: only its keyed hash, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    pub hash: String,
    /// Every token rotated from one login shares its family; reuse of any revokes them all.
    pub family: String,
    pub account_id: Id,
    pub role: Role,
    pub expires_at: Millis,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consumed {
    /// It was valid and is now used: issue its successor.
    Fresh(RefreshToken),
    /// It was used or revoked before: a stolen copy is being replayed. Revoke the family.
    Reused(RefreshToken),
    /// Unknown or expired.
    Invalid,
}

#[async_trait::async_trait]
pub trait RefreshTokens: Send + Sync {
    async fn insert(&self, token: &RefreshToken) -> StoreResult<()>;
    /// Marks the token used, exactly once even under concurrent calls.
    async fn consume(&self, hash: &str, now: Millis) -> StoreResult<Consumed>;
    async fn revoke_family(&self, family: &str) -> StoreResult<()>;
    /// Every token of an account (password changed or reset, account removed).
    async fn revoke_account(&self, account_id: &Id) -> StoreResult<()>;
}

#[async_trait::async_trait]
pub trait Presets: Send + Sync {
    async fn insert(&self, preset: &Preset) -> StoreResult<()>;
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Preset>>;
    /// Every preset of one type, oldest first (upload order, so that a picker keeps its order
    /// as admins add images).
    async fn list_by_type(&self, kind: PresetType) -> StoreResult<Vec<Preset>>;
    /// Every preset, newest first (`search` is ignored).
    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Preset>>;
    /// Deletes the preset and returns it; `None` when there was none.
    async fn delete(&self, id: &Id) -> StoreResult<Option<Preset>>;
    /// Whether some preset shows `image` (a public path), so that code deleting an upload it no
    /// longer needs leaves a preset's file alone.
    async fn uses_image(&self, image: &str) -> StoreResult<bool>;
}

/// Who uploaded each stored file (profile pictures), so that code deleting an upload it no longer
/// needs deletes only the caller's own: a profile may point at anyone's file.
#[async_trait::async_trait]
pub trait Uploads: Send + Sync {
    /// Records `owner` as the uploader of file `name` (replacing any record of that name).
    async fn record(&self, name: &str, owner: &Id, at: Millis) -> StoreResult<()>;
    /// The uploader of `name`; `None` for files without a record (presets, older uploads).
    async fn owner(&self, name: &str) -> StoreResult<Option<Id>>;
    async fn forget(&self, name: &str) -> StoreResult<()>;
}

#[async_trait::async_trait]
pub trait Rules: Send + Sync {
    async fn get(&self, kind: RuleType) -> StoreResult<Option<Rule>>;
    /// Creates the rule of this type (`__v` 0) or replaces its content (bumping `updatedAt` and
    /// `__v`). There is never more than one document per type, even under concurrent calls.
    async fn upsert(&self, kind: RuleType, content: &str, now: Millis) -> StoreResult<Rule>;
}

#[async_trait::async_trait]
pub trait Feedbacks: Send + Sync {
    async fn insert(&self, feedback: &Feedback) -> StoreResult<()>;
    /// No route reads feedback back yet (the contract has none); this is for operators' tools and
    /// the storage contract tests.
    async fn by_id(&self, id: &Id) -> StoreResult<Option<Feedback>>;
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

/// How a webhook or a re-read from Stripe moves a payment (docs/decisions.md, "Payments").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentOutcome {
    pub status: crate::domain::payments::PaymentStatus,
}

/// What [`Payments::settle`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    /// The payment after the call; `None` when no payment has this intent id.
    pub payment: Option<crate::domain::payments::Payment>,
    /// `true` only for the one call that moved the payment to `succeeded` (it notifies).
    pub newly_succeeded: bool,
}

/// A refund Stripe made: `amount` (gross) back from the payment of `intent_id`, under Stripe's
/// `refund_id`, which makes recording it idempotent.
#[derive(Clone, Debug, PartialEq)]
pub struct RefundMade {
    pub intent_id: String,
    pub refund_id: String,
    pub amount: i64,
}

/// What [`Payments::record_refund`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum RefundRecorded {
    /// Applied now (or finished now after an interrupted first attempt).
    Applied(crate::domain::payments::Payment),
    /// This refund id was already applied; nothing changed.
    AlreadyApplied(crate::domain::payments::Payment),
    /// More than what is left of the payment, or the payment did not succeed.
    Refused,
    NoSuchPayment,
}

/// What [`Payments::hold_for_payment`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentHold {
    /// The project is still at the version read: it is marked, and edits are refused from now on.
    Held,
    /// It changed since it was read (edited, closed, funded) or is gone; nothing was written.
    Changed,
}

/// Filters of the admin's payment list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaymentFilter {
    pub project: Option<Id>,
    pub teacher: Option<Id>,
    pub status: Option<crate::domain::payments::PaymentStatus>,
    /// `createdAt` in `[from, to)`.
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

/// Classroom projects, their payments ledger and the processed Stripe events. Exactly once and
/// order-independent: SQLite applies each change in one transaction; MongoDB gates each on the
/// payment's status and records applied credits and refunds by key on the project (see
/// `store/mongo/payments.rs`).
#[async_trait::async_trait]
pub trait Payments: Send + Sync {
    async fn insert_project(&self, project: &crate::domain::payments::Project) -> StoreResult<()>;
    async fn project(&self, id: &Id) -> StoreResult<Option<crate::domain::payments::Project>>;
    /// A teacher's projects, newest first.
    async fn projects_of(
        &self,
        teacher: &Id,
        q: &ListQuery,
    ) -> StoreResult<Page<crate::domain::payments::Project>>;
    /// Applies `patch` to the teacher's open project while it has no payment at all (not even an
    /// unfinished intent, nor one being prepared: [`Payments::hold_for_payment`]). `Ok(None)`: no such project of this teacher; `Err(Conflict)` (entity
    /// "a project", field "payments"): it has payments or is not open.
    async fn update_project(
        &self,
        id: &Id,
        teacher: &Id,
        patch: &crate::domain::payments::ProjectPatch,
        now: Millis,
    ) -> StoreResult<Option<crate::domain::payments::Project>>;
    /// Marks the project as taking a payment if it is still at `version` (the one an intent's
    /// amount was checked against), so that no edit lands between that check and the payment's
    /// insert. Does not change the version: racing intents on one project all pass.
    async fn hold_for_payment(&self, id: &Id, version: i64) -> StoreResult<PaymentHold>;
    /// Moves the project from one of `from` to `to`; `None` when it is not in one of `from` (or
    /// does not exist).
    async fn set_project_status(
        &self,
        id: &Id,
        from: &[crate::domain::payments::ProjectStatus],
        to: crate::domain::payments::ProjectStatus,
        now: Millis,
    ) -> StoreResult<Option<crate::domain::payments::Project>>;
    /// Records a new intent; `Conflict` when its intent id is recorded already.
    async fn insert_payment(&self, payment: &crate::domain::payments::Payment) -> StoreResult<()>;
    async fn payment(&self, id: &Id) -> StoreResult<Option<crate::domain::payments::Payment>>;
    async fn payment_by_intent(
        &self,
        intent_id: &str,
    ) -> StoreResult<Option<crate::domain::payments::Payment>>;
    /// Newest first.
    async fn list_payments(
        &self,
        filter: &PaymentFilter,
        q: &ListQuery,
    ) -> StoreResult<Page<crate::domain::payments::Payment>>;
    /// Moves the payment of `intent_id` to `outcome` unless it is final; on the move to
    /// `succeeded`, adds its net to the project's `raised` and one supporter, and funds the project
    /// when the goal is reached, exactly once however often or concurrently it is called.
    async fn settle(
        &self,
        intent_id: &str,
        outcome: PaymentOutcome,
        now: Millis,
    ) -> StoreResult<Settled>;
    /// Records the refund on its succeeded payment and takes its net share back from `raised`,
    /// exactly once per refund id.
    async fn record_refund(&self, refund: &RefundMade, now: Millis) -> StoreResult<RefundRecorded>;
    /// Refunds with `createdAt` in `[from, to)`.
    async fn refunds_between(
        &self,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<crate::domain::payments::Refund>>;
    /// Succeeded (possibly refunded) payments created in `[from, to)`.
    async fn succeeded_between(
        &self,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<crate::domain::payments::Payment>>;
    /// Payments still pending (processing, requires_*) last updated before `before`, oldest first.
    async fn stale_pending(
        &self,
        before: Millis,
        limit: u64,
    ) -> StoreResult<Vec<crate::domain::payments::Payment>>;
    /// Records a processed Stripe event id; `false` when it was recorded already.
    async fn mark_event(&self, event_id: &str, kind: &str, now: Millis) -> StoreResult<bool>;
    async fn event_seen(&self, event_id: &str) -> StoreResult<bool>;
}

/// The platform a push device runs on (the FCM overrides differ: android, apns, webpush).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Android,
    Ios,
    Web,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Platform::Android, Platform::Ios, Platform::Web]
            .into_iter()
            .find(|p| p.as_str() == raw)
    }
}

/// A registered push device: an FCM registration token, owned by one account at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub token: String,
    pub account: Id,
    pub platform: Platform,
    pub registered_at: Millis,
}

/// Where an outbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting for (another) attempt.
    Pending,
    /// Every device of the recipient took it (or there was none).
    Sent,
    /// Past the retry deadline: given up and counted.
    Dead,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [OutboxState::Pending, OutboxState::Sent, OutboxState::Dead]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
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
