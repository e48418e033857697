//! Loading one record by its id for the caller: the one sequence (load, check whose it is, else
//! "not found") that every route taking the id of a teacher's or student's record runs. Another
//! account's record is "not found", never "forbidden", so that an id does not reveal that it
//! exists. Also the list of a teacher's own records, which pages the same way for each.

use poem_openapi::types::{ParseFromJSON, ToJSON};

use super::listing::listed;
use crate::domain::assignment::{RewardAssignment, TaskAssignment};
use crate::domain::classroom::{CategoryPatch, RewardPatch, TaskPatch};
use crate::domain::payments::Project;
use crate::domain::{Category, Class, Id, Millis, Reward, Student, Task, Teacher};
use crate::http::auth::{Auth, ById};
use crate::http::input::{body_id, required};
use crate::http::{ApiError, ApiResult, Reply};
use crate::state::AppState;
use crate::store::{ListQuery, OwnerWrite, Page, StoreError, StoreResult};

/// A record a route finds by id, with the teacher it belongs to.
pub trait Record: Sized {
    /// The 404 message, naming the record as the client knows it.
    const NOT_FOUND: &'static str;
    fn load(state: &AppState, id: &Id) -> impl Future<Output = StoreResult<Option<Self>>> + Send;
    fn id(&self) -> &Id;
    fn teacher(&self) -> &Id;
}

/// A record lists populate: loaded many at a time, in one query.
pub trait Many: Record {
    fn load_many(
        state: &AppState,
        ids: &[Id],
    ) -> impl Future<Output = StoreResult<Vec<Self>>> + Send;
}

/// A record its teacher edits with a patch; the store stamps `updatedAt` with `now`.
pub trait Patched: Record {
    type Patch: Sync;
    fn update(
        state: &AppState,
        teacher: &Id,
        id: &Id,
        patch: &Self::Patch,
        now: Millis,
    ) -> impl Future<Output = StoreResult<Option<Self>>> + Send;
}

/// A record a teacher pages through (`GET /class`, `/reward`, `/project`), newest first.
pub trait Listed: Sized {
    fn page_of(
        state: &AppState,
        teacher: &Id,
        q: &ListQuery,
    ) -> impl Future<Output = StoreResult<Page<Self>>> + Send;
}

/// Each record: its store port and its 404 message.
macro_rules! records {
    ($($record:ty => $port:ident.$load:ident, $missing:literal;)*) => {$(
        impl Record for $record {
            const NOT_FOUND: &'static str = $missing;
            async fn load(state: &AppState, id: &Id) -> StoreResult<Option<Self>> {
                state.store.$port.$load(id).await
            }
            fn id(&self) -> &Id {
                &self.id
            }
            fn teacher(&self) -> &Id {
                &self.teacher
            }
        }
    )*};
    (@patched $($record:ty => $port:ident, $patch:ty;)*) => {$(
        impl Patched for $record {
            type Patch = $patch;
            async fn update(
                state: &AppState,
                teacher: &Id,
                id: &Id,
                patch: &$patch,
                now: Millis,
            ) -> StoreResult<Option<Self>> {
                state.store.$port.update(OwnerWrite { owner: teacher, id, now }, patch).await
            }
        }
    )*};
    (@listed $($record:ty => $port:ident.$list:ident;)*) => {$(
        impl Listed for $record {
            async fn page_of(state: &AppState, teacher: &Id, q: &ListQuery) -> StoreResult<Page<Self>> {
                state.store.$port.$list(teacher, q).await
            }
        }
    )*};
    (@many $($record:ty => $port:ident;)*) => {$(
        impl Many for $record {
            async fn load_many(state: &AppState, ids: &[Id]) -> StoreResult<Vec<Self>> {
                state.store.$port.by_ids(ids).await
            }
        }
    )*};
}

records! {
    Class => classes.by_id, "Class not found.";
    Category => categories.by_id, "Category not found.";
    Task => tasks.by_id, "Task not found.";
    Reward => rewards.by_id, "Reward not found.";
    Student => students.by_id, "Student not found.";
    TaskAssignment => task_assignments.by_id, "Assigned task not found.";
    RewardAssignment => reward_assignments.by_id, "Assigned reward not found.";
    Project => payments.project, "Project not found.";
}

records! {
    @many
    Category => categories;
    Task => tasks;
    Reward => rewards;
    Student => students;
}

records! {
    @listed
    Class => classes.list_for_teacher;
    Reward => rewards.list_for_teacher;
    Project => payments.projects_of;
}

records! {
    @patched
    Category => categories, CategoryPatch;
    Task => tasks, TaskPatch;
    Reward => rewards, RewardPatch;
}

/// The 404 of a record of type `R`.
pub fn not_found<R: Record>() -> ApiError {
    ApiError::NotFound(R::NOT_FOUND.into())
}

/// The record `id` when `is_mine` says it is the caller's; "not found" otherwise.
pub async fn mine<R: Record>(
    state: &AppState,
    id: &Id,
    is_mine: impl Fn(&R) -> bool,
) -> ApiResult<R> {
    R::load(state, id)
        .await?
        .filter(|r| is_mine(r))
        .ok_or_else(not_found::<R>)
}

/// The record `id`, whoever's it is (a public or an admin's route); "not found" when there is none.
pub async fn found<R: Record>(state: &AppState, id: &Id) -> ApiResult<R> {
    mine(state, id, |_| true).await
}

/// One of the calling teacher's own records.
pub async fn taught<R: Record>(auth: &Auth<'_, Teacher, impl Sync>, id: &Id) -> ApiResult<R> {
    mine(auth.state, id, |r: &R| r.teacher() == &auth.who.id).await
}

/// One of the calling teacher's `R` (a task or a reward, in body field `item.0`) and one of its
/// students, as an assign route's body names them: both ids are read (400 when missing or
/// malformed) before either is loaded (404 when it is not the teacher's).
pub async fn for_student<R: Record>(
    auth: &Auth<'_, Teacher, impl Sync>,
    item: (&str, Option<&str>),
    student: Option<&str>,
) -> ApiResult<(R, Student)> {
    let (field, raw) = item;
    let item = body_id(field, &required(field, raw)?)?;
    let student = body_id("student", &required("student", student)?)?;
    Ok((taught(auth, &item).await?, taught(auth, &student).await?))
}

/// What a create answers once `inserted` is known: the new `record`, or, when a concurrent create
/// of the same key won (`Conflict`), the record that one stored (`winner`, read only then; a 500
/// saying `vanished` if it is gone too).
pub async fn created_or_winner<T>(
    inserted: StoreResult<()>,
    record: T,
    winner: impl Future<Output = StoreResult<Option<T>>>,
    vanished: &str,
) -> ApiResult<T> {
    match inserted {
        Ok(()) => Ok(record),
        Err(StoreError::Conflict { .. }) => winner
            .await?
            .ok_or_else(|| ApiError::Internal(vanished.into())),
        Err(e) => Err(e.into()),
    }
}

/// A list route's answer: page `q` of the calling teacher's records, as their views `V`.
pub async fn teacher_page<R, V>(
    auth: &Auth<'_, Teacher>,
    q: &ListQuery,
    message: &str,
) -> Reply<Vec<V>>
where
    R: Listed,
    V: for<'r> From<&'r R> + ParseFromJSON + ToJSON,
{
    let found = R::page_of(auth.state, &auth.who.id, q).await?;
    listed(message, q, &found)
}

/// The calling teacher's record that the route's path names.
pub async fn by_path<R: Record>(target: &ById<'_, Teacher, R, impl Sync>) -> ApiResult<R> {
    taught(&target.auth, &target.id).await
}

/// The calling teacher's record `id` with `patch` applied, now; "not found" when it has no such
/// record.
pub async fn patched<R: Patched>(
    auth: &Auth<'_, Teacher, impl Sync>,
    id: &Id,
    patch: &R::Patch,
) -> ApiResult<R> {
    let (state, teacher) = (auth.state, &auth.who.id);
    R::update(state, teacher, id, patch, state.clock.now())
        .await?
        .ok_or_else(not_found::<R>)
}
