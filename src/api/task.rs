//! `/task/*`: what a teacher's students earn or lose points for, and how often it repeats.

use poem_openapi::types::Any;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::listing::listed_as;
use super::owned::{patched, taught};
use super::populate;
use super::views::TaskView;
use crate::domain::classroom::{Repeat, TaskPatch, TaskType};
use crate::domain::{Category, Id, Name, Task, TaskPoints, Teacher};
use crate::http::auth::{Auth, ById};
use crate::http::fields::{Required, Text};
use crate::http::input::{QueryText, body_id, optional, parse, parse_optional, ranged, required};
use crate::http::paged::Paged;
use crate::http::{ApiError, ApiResult, Reply, ok};

pub struct TaskApi;

#[derive(Object)]
struct CreateTaskBody {
    name: Required<Text>,
    /// A whole number from -500 to 500 (a number or a numeric string).
    points: Required<Any<serde_json::Value>>,
    /// The id of one of the teacher's categories.
    category: Required<Text>,
    /// `good` or `bad` (any case).
    #[oai(rename = "type")]
    kind: Required<Text>,
    /// `everyday`, `weekly` or `monthly` (any case).
    repeat: Required<Text>,
}

/// Every field is optional; a given `category` must be one of the teacher's (404 otherwise).
#[derive(Object)]
struct UpdateTaskBody {
    name: Option<Text>,
    points: Option<Any<serde_json::Value>>,
    /// A category id (an echoed, populated category object is accepted and its `_id` used).
    category: Option<Any<serde_json::Value>>,
    #[oai(rename = "type")]
    kind: Option<Text>,
    repeat: Option<Text>,
}

fn points(value: Option<&Any<serde_json::Value>>) -> ApiResult<Option<TaskPoints>> {
    ranged("points", value)
}

fn kind(raw: Option<&str>) -> ApiResult<Option<TaskType>> {
    optional(raw)
        .map(|k| {
            TaskType::parse(&k.to_lowercase())
                .ok_or_else(|| ApiError::field("type", "type must be good or bad"))
        })
        .transpose()
}

fn repeat(raw: Option<&str>) -> ApiResult<Option<Repeat>> {
    optional(raw)
        .map(|r| {
            Repeat::parse(&r.to_lowercase()).ok_or_else(|| {
                ApiError::field("repeat", "repeat must be everyday, weekly or monthly")
            })
        })
        .transpose()
}

/// A category reference in a PATCH body: an id, or the populated object the app read (`_id`).
fn category_ref(value: Option<&Any<serde_json::Value>>) -> ApiResult<Option<Id>> {
    let raw = match value.map(|v| &v.0) {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(serde_json::Value::String(s)) => s.as_str(),
        Some(serde_json::Value::Object(o)) => match o.get("_id") {
            Some(serde_json::Value::String(s)) => s.as_str(),
            _ => return Err(ApiError::field("category", "category must be a valid id")),
        },
        Some(_) => return Err(ApiError::field("category", "category must be a valid id")),
    };
    body_id("category", raw).map(Some)
}

#[OpenApi(tag = "ApiTags::Task")]
impl TaskApi {
    /// The teacher's tasks, newest first, 10 a page, with `category` populated.
    #[oai(path = "/task", method = "get")]
    async fn list(&self, page: Paged<'_, Teacher>, search: QueryText) -> Reply<Vec<TaskView>> {
        let (state, me) = (page.auth.state, &page.auth.who.id);
        let q = page.query(search.as_deref());
        let found = state.store.tasks.list_for_teacher(me, &q).await?;
        let categories =
            populate::categories(state, me, found.items.iter().map(|t| &t.category)).await?;
        listed_as("Tasks retrieved successfully", &q, &found, |t| {
            TaskView::new(t, categories.get(&t.category))
        })
    }

    /// Creates a task in one of the teacher's categories; `data` is the new task.
    #[oai(path = "/task/create-task", method = "post")]
    async fn create(&self, auth: Auth<'_, Teacher, CreateTaskBody>) -> Reply<TaskView> {
        let (state, body) = (auth.state, &auth.body);
        let name: Name = parse("name", body.name.as_deref())?;
        let points = points(body.points.as_ref())?
            .ok_or_else(|| ApiError::field("points", "points is required"))?;
        let category = body_id("category", &required("category", body.category.as_deref())?)?;
        let kind = kind(body.kind.as_deref())?
            .ok_or_else(|| ApiError::field("type", "type is required"))?;
        let repeat = repeat(body.repeat.as_deref())?
            .ok_or_else(|| ApiError::field("repeat", "repeat is required"))?;
        let category = taught::<Category>(&auth, &category).await?;
        let now = state.clock.now();
        let task = Task {
            id: Id::generate(),
            name: name.into(),
            points: points.get(),
            category: category.id.clone(),
            kind,
            repeat,
            teacher: auth.who.id.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        state.store.tasks.insert(&task).await?;
        let view = TaskView::new(&task, Some(&category));
        ok("Task created successfully", view)
    }

    /// Edits `category`, `name`, `points`, `type` and `repeat`; anything else is ignored.
    #[oai(path = "/task/:id", method = "patch")]
    async fn update(&self, id: ById<'_, Teacher, Task, UpdateTaskBody>) -> Reply<TaskView> {
        let ById { auth, id, .. } = id;
        let body = &auth.body;
        let patch = TaskPatch {
            name: parse_optional::<Name>("name", body.name.as_deref())?.map(String::from),
            points: points(body.points.as_ref())?.map(TaskPoints::get),
            category: category_ref(body.category.as_ref())?,
            kind: kind(body.kind.as_deref())?,
            repeat: repeat(body.repeat.as_deref())?,
        };
        // The task first, so that someone else's task is "Task not found" whatever the body says.
        taught::<Task>(&auth, &id).await?;
        if let Some(category) = &patch.category {
            taught::<Category>(&auth, category).await?;
        }
        let updated = patched::<Task>(&auth, &id, &patch).await?;
        let category = auth
            .state
            .store
            .categories
            .by_id(&updated.category)
            .await?
            .filter(|c| c.teacher == auth.who.id);
        let view = TaskView::new(&updated, category.as_ref());
        ok("Task updated successfully", view)
    }
}
