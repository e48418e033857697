//! Loading the records a list refers to, as the clients read them populated: one query per
//! related collection whatever the length of the list (`by_ids`), and only the categories the
//! page's tasks reference. A record of another teacher is never populated.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::owned::Many;
use super::views::{RewardView, StudentView, TaskView, TeacherSummary};
use crate::domain::{Category, Id, Reward, Student, Task, Teacher};
use crate::http::ApiResult;
use crate::state::AppState;

/// `teacher`'s records of type `R` among `ids` (each asked for once), by id: one query.
async fn owned<'a, R: Many>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, R>> {
    let distinct: Vec<Id> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .cloned()
        .collect();
    Ok(R::load_many(state, &distinct)
        .await?
        .into_iter()
        .filter(|r| r.teacher() == teacher)
        .map(|r| (r.id().clone(), r))
        .collect())
}

/// Each loaded record as the clients read it.
fn viewed<R, V>(found: HashMap<Id, R>, view: impl Fn(&R) -> V) -> HashMap<Id, V> {
    found.into_iter().map(|(id, r)| (id, view(&r))).collect()
}

/// `teacher`'s tasks among `ids`, with their categories: two queries. Each view is shared by the
/// rows that show it (a list of 50 assignments of a few tasks copied a task view per row).
pub async fn tasks<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, Arc<TaskView>>> {
    let found = owned::<Task>(state, teacher, ids).await?;
    let categories = categories(state, teacher, found.values().map(|t| &t.category)).await?;
    Ok(viewed(found, |t| {
        Arc::new(TaskView::new(t, categories.get(&t.category)))
    }))
}

/// `teacher`'s categories among `ids`: one query.
pub async fn categories<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, Category>> {
    owned(state, teacher, ids).await
}

/// `teacher`'s rewards among `ids`: one query.
pub async fn rewards<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, RewardView>> {
    let found = owned::<Reward>(state, teacher, ids).await?;
    Ok(viewed(found, |r| RewardView::from(r)))
}

/// `teacher`'s students among `ids`, without their passcodes (not needed where they are
/// populated): one query.
pub async fn students<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, StudentView>> {
    let found = owned::<Student>(state, teacher, ids).await?;
    Ok(viewed(found, |s| StudentView::new(s, None)))
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
