//! Loading the records a list refers to, as the clients read them populated: one query per
//! related collection whatever the length of the list (`by_ids`), and only the categories the
//! page's tasks reference. A record of another teacher is never populated.

use std::collections::{HashMap, HashSet};

use super::views::{RewardView, StudentView, TaskView, TeacherSummary};
use crate::domain::{Category, Id, Teacher};
use crate::http::ApiResult;
use crate::state::AppState;

fn distinct<'a>(ids: impl IntoIterator<Item = &'a Id>) -> Vec<Id> {
    ids.into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .cloned()
        .collect()
}

/// `teacher`'s tasks among `ids`, with their categories: two queries.
pub async fn tasks<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, TaskView>> {
    let found: Vec<_> = state
        .store
        .tasks
        .by_ids(&distinct(ids))
        .await?
        .into_iter()
        .filter(|t| &t.teacher == teacher)
        .collect();
    let categories = categories(state, teacher, found.iter().map(|t| &t.category)).await?;
    Ok(found
        .iter()
        .map(|t| (t.id.clone(), TaskView::new(t, categories.get(&t.category))))
        .collect())
}

/// `teacher`'s categories among `ids`: one query.
pub async fn categories<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, Category>> {
    let found = state.store.categories.by_ids(&distinct(ids)).await?;
    Ok(found
        .into_iter()
        .filter(|c| &c.teacher == teacher)
        .map(|c| (c.id.clone(), c))
        .collect())
}

/// `teacher`'s rewards among `ids`: one query.
pub async fn rewards<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, RewardView>> {
    let found = state.store.rewards.by_ids(&distinct(ids)).await?;
    Ok(found
        .iter()
        .filter(|r| &r.teacher == teacher)
        .map(|r| (r.id.clone(), RewardView::from(r)))
        .collect())
}

/// `teacher`'s students among `ids`, without their passcodes (not needed where they are
/// populated): one query.
pub async fn students<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, StudentView>> {
    let found = state.store.students.by_ids(&distinct(ids)).await?;
    Ok(found
        .iter()
        .filter(|s| &s.teacher == teacher)
        .map(|s| (s.id.clone(), StudentView::new(s, None)))
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
