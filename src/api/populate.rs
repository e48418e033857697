//! Loading the records an assignment refers to, as the clients read them populated. Each distinct
//! id is loaded once, concurrently; a record of another teacher is never populated.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use futures_util::future::try_join_all;

use super::task::categories_of;
use super::views::{RewardView, StudentView, TaskView, TeacherSummary};
use crate::domain::{Id, Student, Teacher};
use crate::http::ApiResult;
use crate::state::AppState;

fn distinct<'a, K: Eq + Hash + Clone + 'a>(ids: impl IntoIterator<Item = &'a K>) -> Vec<K> {
    ids.into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .cloned()
        .collect()
}

/// `teacher`'s tasks among `ids`, with their categories.
pub async fn tasks<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, TaskView>> {
    let ids = distinct(ids);
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let categories = categories_of(state, teacher).await?;
    let found = try_join_all(ids.iter().map(|id| state.store.tasks.by_id(id))).await?;
    Ok(found
        .into_iter()
        .flatten()
        .filter(|t| &t.teacher == teacher)
        .map(|t| (t.id.clone(), TaskView::new(&t, categories.get(&t.category))))
        .collect())
}

/// `teacher`'s rewards among `ids`.
pub async fn rewards<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, RewardView>> {
    let ids = distinct(ids);
    let found = try_join_all(ids.iter().map(|id| state.store.rewards.by_id(id))).await?;
    Ok(found
        .into_iter()
        .flatten()
        .filter(|r| &r.teacher == teacher)
        .map(|r| (r.id.clone(), RewardView::from(&r)))
        .collect())
}

/// `teacher`'s students among `ids`, without their passcodes (not needed where they are populated).
pub async fn students<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, StudentView>> {
    let ids = distinct(ids);
    let found = try_join_all(ids.iter().map(|id| state.store.students.by_id(id))).await?;
    Ok(found
        .into_iter()
        .flatten()
        .filter(|s: &Student| &s.teacher == teacher)
        .map(|s| (s.id.clone(), StudentView::new(&s, None)))
        .collect())
}

/// A student's teacher as `{_id, name, email, profile}`.
pub async fn teacher(state: &AppState, id: &Id) -> ApiResult<Option<TeacherSummary>> {
    Ok(state
        .store
        .teachers
        .by_id(id)
        .await?
        .map(|t: Teacher| TeacherSummary::from(&t)))
}
