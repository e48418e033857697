//! `/student/*`: passcode login, the student's own profile, a teacher's students, and the admin's
//! list (which never shows passcodes).

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::types::Any;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::listing::listed_as;
use super::owned::by_path;
use super::sessions::{self, TokenResponse, account_gone};
use super::views::StudentView;
use crate::auth::limits::{Key, address_bucket};
use crate::domain::passcode::Purpose;
use crate::domain::student::{self, StudentPatch};
use crate::domain::{Admin, Id, ImageRef, Millis, Name, Passcode, Role, Student, Teacher};
use crate::http::auth::{Auth, ById, Public};
use crate::http::fields::{Required, Text};
use crate::http::input::{
    QueryText, digit_code, list_query, optional, parse, parse_optional, refused,
};
use crate::http::paged::Paged;
use crate::http::{ApiError, ApiResult, Envelope, Pagination, Reply, ok};
use crate::ops::metrics;
use crate::state::AppState;
use crate::store::{ListQuery, StoreError};

pub struct StudentApi;

#[derive(Object)]
struct StudentLoginBody {
    /// The 6-digit passcode (a string or a number).
    password: Required<Any<serde_json::Value>>,
}

#[derive(Object)]
struct CreateStudentBody {
    name: Required<Text>,
    /// The 6-digit passcode the teacher chose (a string or a number).
    password: Required<Any<serde_json::Value>>,
    /// `2015-04-01` or an ISO-8601 timestamp.
    #[oai(rename = "dateOfBirth")]
    date_of_birth: Option<Text>,
    /// The name of one of the teacher's classes (404 when it has none of that name).
    class: Required<Text>,
    /// An image path (`/images/...`), file name or http(s) URL; at most 500 characters.
    profile: Option<Text>,
}

/// The app echoes the whole profile back; only these fields are read, the rest is ignored.
#[derive(Object)]
struct UpdateStudentBody {
    name: Option<Text>,
    /// An image path (`/images/...`), file name or http(s) URL; at most 500 characters.
    profile: Option<Text>,
    #[oai(rename = "dateOfBirth")]
    date_of_birth: Option<Text>,
}

/// `GET /student/statistics/:id`.
#[derive(Object, serde::Serialize)]
#[oai(rename = "StudentStatistics")]
struct StatisticsView {
    level: i64,
    points: i64,
    /// What the level is computed from: approved tasks' points, never lowered by claims.
    #[oai(rename = "earnedPoints")]
    #[serde(rename = "earnedPoints")]
    earned_points: i64,
    #[oai(rename = "totalAssignTask")]
    #[serde(rename = "totalAssignTask")]
    total_assign_task: u64,
    #[oai(rename = "totalCompletedTask")]
    #[serde(rename = "totalCompletedTask")]
    total_completed_task: u64,
    /// Assigned tasks not yet completed (not started or waiting for approval).
    #[oai(rename = "totalUnCompletedTask")]
    #[serde(rename = "totalUnCompletedTask")]
    total_un_completed_task: u64,
}

/// The student with the opened passcode: for the student itself and its own teacher only.
fn with_passcode(state: &AppState, s: &Student) -> ApiResult<StudentView> {
    let code = state
        .auth
        .passcodes
        .open(Purpose::Student, &s.passcode_sealed)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(StudentView::new(s, Some(code)))
}

/// Page `q` of the calling teacher's students (of one class, when given), with their passcodes.
async fn own_students(
    auth: &Auth<'_, Teacher>,
    class: Option<&str>,
    q: ListQuery,
) -> Reply<Vec<StudentView>> {
    let state = auth.state;
    let students = &state.store.students;
    let found = students.list_for_teacher(&auth.who.id, class, &q).await?;
    let items = found
        .items
        .iter()
        .map(|s| with_passcode(state, s))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Envelope::page(
        "Students retrieved",
        items,
        Pagination::new(q.page, q.limit, found.total),
    ))
}

fn date_of_birth(raw: Option<&str>) -> ApiResult<Option<Millis>> {
    match optional(raw) {
        None => Ok(None),
        Some(d) => student::parse_date(&d).map(Some).ok_or_else(|| {
            ApiError::field("dateOfBirth", "dateOfBirth must be a date like 2015-04-01")
        }),
    }
}

#[OpenApi(tag = "ApiTags::Student")]
impl StudentApi {
    /// A student logs in with its 6-digit passcode alone. Failures are limited per address and per
    /// network, and past a global budget only addresses without failures are checked, since six
    /// digits can be guessed (docs/decisions.md, "Brute-force limits").
    #[oai(path = "/student/login", method = "post")]
    async fn login(&self, call: Public<'_, StudentLoginBody>) -> ApiResult<TokenResponse> {
        let Public { state, req, body } = call;
        let code = digit_code("password", body.password.as_ref(), 6)?
            .ok_or_else(|| ApiError::field("password", "password is required"))?;
        let attempt = state
            .auth
            .limits
            .passcode(sessions::caller_ip(state, req))
            .await?;
        let found = match Passcode::parse(&code) {
            Ok(code) => {
                state
                    .store
                    .students
                    .by_passcode_lookup(&state.auth.passcodes.lookup_key(code.expose()))
                    .await?
            }
            Err(_) => None,
        };
        let Some(student) = found else {
            metrics::get()
                .login_failures
                .with_label_values(&["student"])
                .inc();
            attempt.failed();
            return Err(ApiError::Unauthorized("The passcode is incorrect.".into()));
        };
        attempt.succeeded().await?;
        sessions::open(
            state,
            &student.id,
            Role::Student,
            None,
            0,
            sessions::LOGGED_IN,
        )
        .await
    }

    /// The signed-in student, with its passcode.
    #[oai(path = "/student/profile", method = "get")]
    async fn profile(&self, auth: Auth<'_, Student>) -> Reply<StudentView> {
        ok("Profile retrieved", with_passcode(auth.state, &auth.who)?)
    }

    /// A student edits its `name`, `profile` and `dateOfBirth`; points, level, rewards, role and
    /// teacher in the echoed body are ignored.
    #[oai(path = "/student", method = "patch")]
    async fn update(&self, auth: Auth<'_, Student, UpdateStudentBody>) -> Reply<StudentView> {
        let (state, body) = (auth.state, &auth.body);
        let patch = StudentPatch {
            name: parse_optional::<Name>("name", body.name.as_deref())?.map(String::from),
            profile: parse_optional::<ImageRef>("profile", body.profile.as_deref())?
                .map(String::from),
            date_of_birth: date_of_birth(body.date_of_birth.as_deref())?,
        };
        let updated = state
            .store
            .students
            .update(&auth.who.id, &patch, state.clock.now())
            .await?
            .ok_or_else(account_gone)?;
        ok("Profile updated", with_passcode(state, &updated)?)
    }

    /// The teacher's own students, newest first, 10 a page, with passcodes.
    #[oai(path = "/student", method = "get")]
    async fn list_own(
        &self,
        page: Paged<'_, Teacher>,
        search: QueryText,
    ) -> Reply<Vec<StudentView>> {
        own_students(&page.auth, None, page.query(search.as_deref())).await
    }

    /// The teacher's students in one class (the name is free text, percent-encoded in the path).
    #[oai(path = "/student/class/:class_name", method = "get")]
    async fn list_class(
        &self,
        auth: Auth<'_, Teacher>,
        class_name: Path<String>,
        page: QueryText,
    ) -> Reply<Vec<StudentView>> {
        let q = list_query(page.as_deref(), None);
        own_students(&auth, Some(class_name.trim()), q).await
    }

    /// Every student on the platform, without passcodes (admins).
    #[oai(path = "/student/all", method = "get")]
    async fn list_all(&self, page: Paged<'_, Admin>, search: QueryText) -> Reply<Vec<StudentView>> {
        let q = page.query(search.as_deref());
        let found = page.auth.state.store.students.list_all(&q).await?;
        listed_as("Students retrieved", &q, &found, |s| {
            StudentView::new(s, None)
        })
    }

    /// An own student's level, points and how many of its assigned tasks are completed.
    #[oai(path = "/student/statistics/:id", method = "get")]
    async fn statistics(&self, id: ById<'_, Teacher, Student>) -> Reply<StatisticsView> {
        let s = by_path(&id).await?;
        let assignments = &id.auth.state.store.task_assignments;
        let counts = assignments.count_for_student(&s.id).await?;
        ok(
            "Student statistics retrieved",
            StatisticsView {
                level: s.level,
                points: s.points,
                earned_points: s.earned_points,
                total_assign_task: counts.total,
                total_completed_task: counts.completed,
                total_un_completed_task: counts.total.saturating_sub(counts.completed),
            },
        )
    }

    /// One of the teacher's own students.
    #[oai(path = "/student/:id", method = "get")]
    async fn one(&self, id: ById<'_, Teacher, Student>) -> Reply<StudentView> {
        let s = by_path(&id).await?;
        ok("Student retrieved", with_passcode(id.auth.state, &s)?)
    }

    /// A teacher adds a student, to one of its classes (by name; 404 otherwise), with a 6-digit
    /// passcode that no other student has.
    #[oai(path = "/student/create-student", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: Auth<'_, Teacher, CreateStudentBody>,
    ) -> Reply<StudentView> {
        let (state, body) = (auth.state, &auth.body);
        let name: Name = parse("name", body.name.as_deref())?;
        let code = digit_code("password", body.password.as_ref(), 6)?
            .ok_or_else(|| ApiError::field("password", "password is required"))?;
        let code = Passcode::parse(&code).map_err(|why| refused("password", why))?;
        let class: Name = parse("class", body.class.as_deref())?;
        let profile = parse_optional::<ImageRef>("profile", body.profile.as_deref())?;
        let date_of_birth = date_of_birth(body.date_of_birth.as_deref())?;
        // Students keep their class by name: it must be one of this teacher's classes.
        if state
            .store
            .classes
            .by_name(&auth.who.id, class.as_str())
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound("Class not found.".into()));
        }
        // A taken passcode answers 409, which tells the teacher that some student has it: those
        // answers spend the teacher's own budget and the address's passcode budget, so that
        // creating students is no faster a way to find passcodes than guessing them at the login.
        let attempt = state
            .auth
            .limits
            .reserve(&[
                Key::TakenPasscodes(auth.who.id.to_hex()),
                Key::PasscodeAddress(address_bucket(sessions::caller_ip(state, req))),
            ])
            .await?;
        let now = state.clock.now();
        let s = Student {
            id: Id::generate(),
            name: name.into(),
            passcode_sealed: state.auth.passcodes.seal(Purpose::Student, code.expose()),
            passcode_lookup: state.auth.passcodes.lookup_key(code.expose()),
            date_of_birth,
            profile: profile.map(String::from),
            class: class.into(),
            teacher: auth.who.id.clone(),
            points: 0,
            level: student::level_for(0),
            rewards: 0,
            pending_points: 0,
            earned_points: 0,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        match state.store.students.insert(&s).await {
            Ok(()) => {
                attempt.succeeded().await?;
                ok("Student created", with_passcode(state, &s)?)
            }
            Err(StoreError::Conflict { .. }) => {
                attempt.failed();
                Err(ApiError::Conflict(
                    "This passcode is already in use. Please choose another one.".into(),
                ))
            }
            Err(e) => {
                let _ = attempt.abandon().await;
                Err(e.into())
            }
        }
    }
}
