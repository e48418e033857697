//! `/class/*`: a teacher's classes. Students belong to a class by its name, so a rename carries to
//! them and a class with students cannot be deleted.

use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::owned::{by_path, not_found, taught, teacher_page};
use super::views::ClassView;
use crate::domain::classroom::{self, ClassChange};
use crate::domain::{Class, Id, Millis, Name, Teacher, student};
use crate::http::auth::{Auth, ById};
use crate::http::fields::{Required, Text};
use crate::http::input::{optional, parse, parse_optional};
use crate::http::paged::Paged;
use crate::http::{ApiError, ApiResult, Done, Reply, done, ok};
use crate::store::{ClassDelete, ClassUpdate, OwnerWrite, StoreError};

pub struct ClassApi;

#[derive(Object)]
struct CreateClassBody {
    #[oai(rename = "className")]
    class_name: Required<Text>,
    /// `2025-01-31` or an ISO-8601 timestamp.
    #[oai(rename = "startDate")]
    start_date: Required<Text>,
    /// Optional; not before `startDate`.
    #[oai(rename = "endDate")]
    end_date: Option<Text>,
}

/// The app echoes the whole class back; only these fields are read, the rest is ignored.
#[derive(Object)]
struct UpdateClassBody {
    #[oai(rename = "className")]
    class_name: Option<Text>,
    #[oai(rename = "startDate")]
    start_date: Option<Text>,
    #[oai(rename = "endDate")]
    end_date: Option<Text>,
}

/// How often a rename that raced another change of the same class is retried.
const UPDATE_ATTEMPTS: usize = 3;

fn date(field: &str, raw: Option<&str>) -> ApiResult<Option<Millis>> {
    match optional(raw) {
        None => Ok(None),
        Some(d) => student::parse_date(&d).map(Some).ok_or_else(|| {
            ApiError::field(
                field,
                format!("{field} must be a date like 2025-01-31 or an ISO-8601 timestamp"),
            )
        }),
    }
}

fn check_dates(start: Millis, end: Option<Millis>) -> ApiResult<()> {
    classroom::check_dates(start, end).map_err(|m| ApiError::field("endDate", m))
}

fn duplicate_name(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { .. } => {
            ApiError::Conflict("You already have a class with this name.".into())
        }
        other => other.into(),
    }
}

#[OpenApi(tag = "ApiTags::Class")]
impl ClassApi {
    /// The teacher's classes, newest first, 10 a page.
    #[oai(path = "/class", method = "get")]
    async fn list(&self, page: Paged<'_, Teacher>) -> Reply<Vec<ClassView>> {
        let q = page.query(None);
        teacher_page::<Class, _>(&page.auth, &q, "Classes retrieved successfully").await
    }

    /// Creates a class; its name is unique among the teacher's classes (409 otherwise).
    #[oai(path = "/class/create-class", method = "post")]
    async fn create(&self, auth: Auth<'_, Teacher, CreateClassBody>) -> Reply<ClassView> {
        let (state, body) = (auth.state, &auth.body);
        let class_name = parse::<Name>("className", body.class_name.as_deref())?.into_inner();
        let start_date = date("startDate", body.start_date.as_deref())?
            .ok_or_else(|| ApiError::field("startDate", "startDate is required"))?;
        let end_date = date("endDate", body.end_date.as_deref())?;
        check_dates(start_date, end_date)?;
        let now = state.clock.now();
        let class = Class {
            id: Id::generate(),
            class_name,
            start_date,
            end_date,
            teacher: auth.who.id.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        state
            .store
            .classes
            .insert(&class)
            .await
            .map_err(duplicate_name)?;
        ok("Class created successfully", &class)
    }

    /// One of the teacher's classes.
    #[oai(path = "/class/:id", method = "get")]
    async fn one(&self, id: ById<'_, Teacher, Class>) -> Reply<ClassView> {
        let class = by_path(&id).await?;
        ok("Class retrieved successfully", &class)
    }

    /// Edits `className`, `startDate` and `endDate` (the rest of an echoed class is ignored). A new
    /// name carries to the class's students.
    #[oai(path = "/class/:id", method = "patch")]
    async fn update(&self, id: ById<'_, Teacher, Class, UpdateClassBody>) -> Reply<ClassView> {
        let ById { auth, id, .. } = id;
        let (state, body) = (auth.state, &auth.body);
        let class_name =
            parse_optional::<Name>("className", body.class_name.as_deref())?.map(String::from);
        let start_date = date("startDate", body.start_date.as_deref())?;
        let end_date = date("endDate", body.end_date.as_deref())?;
        for _ in 0..UPDATE_ATTEMPTS {
            let current = taught::<Class>(&auth, &id).await?;
            let change = ClassChange {
                class_name: class_name.clone().unwrap_or(current.class_name),
                start_date: start_date.unwrap_or(current.start_date),
                end_date: end_date.or(current.end_date),
                expected_version: current.version,
            };
            check_dates(change.start_date, change.end_date)?;
            let write = OwnerWrite {
                owner: &auth.who.id,
                id: &id,
                now: state.clock.now(),
            };
            match state
                .store
                .classes
                .update(write, &change)
                .await
                .map_err(duplicate_name)?
            {
                ClassUpdate::Updated(k) => {
                    return ok("Class updated successfully", &k);
                }
                ClassUpdate::NotFound => return Err(not_found::<Class>()),
                ClassUpdate::Stale => continue,
            }
        }
        Err(ApiError::Conflict(
            "The class was changed by another request at the same time. Please try again.".into(),
        ))
    }

    /// Deletes a class that has no students (409 while it has some).
    #[oai(path = "/class/:id", method = "delete")]
    async fn delete(&self, id: ById<'_, Teacher, Class>) -> ApiResult<Done> {
        let ById { auth, id, .. } = id;
        let state = auth.state;
        let write = OwnerWrite {
            owner: &auth.who.id,
            id: &id,
            now: state.clock.now(),
        };
        match state.store.classes.delete_if_empty(write).await? {
            ClassDelete::Deleted => Ok(done("Class deleted successfully")),
            ClassDelete::NotFound => Err(not_found::<Class>()),
            ClassDelete::HasStudents(n) => Err(ApiError::Conflict(format!(
                "This class still has {n} student{}. A class can only be deleted when no student is in it.",
                if n == 1 { "" } else { "s" }
            ))),
        }
    }
}
