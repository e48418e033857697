//! Loading the records a list refers to, as the clients read them populated: one query per
//! related collection whatever the length of the list (`by_ids`), and only the categories the
//! page's tasks reference. A record of another teacher is never populated.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::owned::Many;
use super::views::{CategoryView, RewardView, StudentView, TaskView, TeacherSummary};
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
/// rows that show it (a list of 50 assignments of a few tasks copied a task view per row), each
/// category view by the tasks that show it.
pub async fn tasks<'a>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, Arc<TaskView>>> {
    let found = owned::<Task>(state, teacher, ids).await?;
    let categories = categories(state, teacher, found.values().map(|t| &t.category)).await?;
    let categories = viewed(categories, |c| Arc::new(CategoryView::from(c)));
    Ok(viewed(found, |t| {
        Arc::new(TaskView::new(t, categories.get(&t.category).cloned()))
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

/// A record populated as is, one query for the page: a reward, or a student without its passcode
/// (not needed where it is populated).
pub trait Populated: Many {
    type View;
    fn view(&self) -> Self::View;
}

impl Populated for Reward {
    type View = RewardView;
    fn view(&self) -> RewardView {
        self.into()
    }
}

impl Populated for Student {
    type View = StudentView;
    fn view(&self) -> StudentView {
        StudentView::new(self, None)
    }
}

/// `teacher`'s records of type `R` among `ids`, as their views: one query.
pub async fn views<'a, R: Populated>(
    state: &AppState,
    teacher: &Id,
    ids: impl IntoIterator<Item = &'a Id>,
) -> ApiResult<HashMap<Id, R::View>> {
    Ok(viewed(owned::<R>(state, teacher, ids).await?, R::view))
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
