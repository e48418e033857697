//! Loading one record by its id for the caller: the one sequence (load, check whose it is, else
//! "not found") that every route taking the id of a teacher's or student's record runs. Another
//! account's record is "not found", never "forbidden", so that an id does not reveal that it
//! exists.

use crate::domain::assignment::{RewardAssignment, TaskAssignment};
use crate::domain::classroom::{CategoryPatch, RewardPatch, TaskPatch};
use crate::domain::{Category, Class, Id, Millis, Reward, Student, Task, Teacher};
use crate::http::auth::Auth;
use crate::http::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::StoreResult;

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

/// Each record: its store port and its 404 message.
macro_rules! records {
    ($($record:ty => $port:ident, $missing:literal;)*) => {$(
        impl Record for $record {
            const NOT_FOUND: &'static str = $missing;
            async fn load(state: &AppState, id: &Id) -> StoreResult<Option<Self>> {
                state.store.$port.by_id(id).await
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
                state.store.$port.update(teacher, id, patch, now).await
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
    Class => classes, "Class not found.";
    Category => categories, "Category not found.";
    Task => tasks, "Task not found.";
    Reward => rewards, "Reward not found.";
    Student => students, "Student not found.";
    TaskAssignment => task_assignments, "Assigned task not found.";
    RewardAssignment => reward_assignments, "Assigned reward not found.";
}

records! {
    @many
    Category => categories;
    Task => tasks;
    Reward => rewards;
    Student => students;
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

/// One of the calling teacher's own records.
pub async fn taught<R: Record>(auth: &Auth<'_, Teacher, impl Sync>, id: &Id) -> ApiResult<R> {
    mine(auth.state, id, |r: &R| r.teacher() == &auth.who.id).await
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
