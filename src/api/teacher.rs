//! `/teacher/*`: sign-up and login (password or Google), the teacher's profile and pass-code, and the
//! admin's teacher list and creation.

use poem_openapi::types::multipart::Upload;
use poem_openapi::{Multipart, Object, OpenApi};

use super::ApiTags;
use super::new_teacher::new_teacher;
use super::sessions::{self, TokenResponse, account_gone};
use super::views::TeacherView;
use crate::auth::limits::{Key, address_bucket};
use crate::domain::account::TeacherPatch;
use crate::domain::passcode::{self, Purpose};
use crate::domain::{Admin, Detail, Email, Name, NewPassword, Teacher};
use crate::http::auth::{Auth, Public};
use crate::http::fields::{Required, Text};
use crate::http::input::{QueryText, parse, parse_optional, refused, required};
use crate::http::paged::Paged;
use crate::http::{ApiError, ApiResult, Envelope, Pagination, Reply, ok};
use crate::state::AppState;
use crate::store::StoreError;

pub struct TeacherApi;

#[derive(Object)]
struct SignUpBody {
    name: Required<Text>,
    email: Required<Text>,
    /// Text (a number, such as a phone number, is taken as its digits).
    contact: Option<String>,
    location: Option<Text>,
    /// Text (a number is taken as its digits: the dashboard may send a 6-digit code as one).
    password: Required<String>,
    confirm_password: Required<String>,
}

#[derive(Object)]
struct CreateTeacherBody {
    name: Required<Text>,
    email: Required<Text>,
    /// Text (a number, such as a phone number, is taken as its digits).
    contact: Option<String>,
    location: Option<Text>,
    /// The first password, often a 6-digit code the admin hands over (a number is taken as its
    /// digits).
    password: Required<String>,
}

#[derive(Object)]
struct TeacherLoginBody {
    email: Required<Text>,
    /// Required unless `type` is `social`. Text (a number is taken as its digits).
    password: Option<String>,
    /// `social` for Google sign-in.
    #[oai(rename = "type")]
    kind: Option<Text>,
    name: Option<Text>,
    /// An image path or http(s) URL, used as the picture of a new account when Google has none.
    profile: Option<Text>,
    /// A Google ID token (required for `type: "social"`).
    #[oai(rename = "idToken")]
    id_token: Option<Text>,
}

/// `PATCH /teacher`: the app sends a form; a missing field stays as it is.
#[derive(Multipart)]
struct UpdateTeacherForm {
    name: Option<String>,
    location: Option<String>,
    /// A PNG or JPEG of at most 5 MB.
    image: Option<Upload>,
}

/// The account fields that sign-up and admin creation both read.
struct AccountFields<'a> {
    name: Option<&'a str>,
    email: Option<&'a str>,
    contact: Option<&'a str>,
    location: Option<&'a str>,
}

/// Reads [`AccountFields`] from each body that carries them.
macro_rules! account_fields {
    ($($body:ty),*) => {$(
        impl $body {
            fn fields(&self) -> AccountFields<'_> {
                AccountFields {
                    name: self.name.as_deref(),
                    email: self.email.as_deref(),
                    contact: self.contact.as_deref(),
                    location: self.location.as_deref(),
                }
            }
        }
    )*};
}
account_fields!(SignUpBody, CreateTeacherBody);

fn email_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { .. } => {
            ApiError::Conflict("An account with this email already exists.".into())
        }
        other => other.into(),
    }
}

async fn view(state: &AppState, t: &Teacher) -> ApiResult<TeacherView> {
    Ok(TeacherView::new(
        t,
        state.store.students.count_for_teacher(&t.id).await?,
    ))
}

/// Validates the shared fields of sign-up and admin creation and stores the teacher.
async fn create(
    state: &AppState,
    fields: AccountFields<'_>,
    password: &str,
    signed_up_from: Option<std::net::IpAddr>,
) -> ApiResult<Teacher> {
    let name: Name = parse("name", fields.name)?;
    let email: Email = parse("email", fields.email)?;
    let contact = parse_optional::<Detail>("contact", fields.contact)?;
    let location = parse_optional::<Detail>("location", fields.location)?;
    let password = NewPassword::parse(password).map_err(|why| refused("password", why))?;
    if state
        .store
        .teachers
        .by_email(email.as_str())
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(
            "An account with this email already exists.".into(),
        ));
    }
    // Sign-ups are public and each costs a hash in the queue logins use: they have a budget of
    // their own, counted only once the input is valid.
    if let Some(ip) = signed_up_from {
        state
            .auth
            .limits
            .count(&[Key::SignUps(address_bucket(ip))])
            .await?;
    }
    let hash = state.auth.passwords.hash(password.expose()).await?;
    let teacher = new_teacher(
        state,
        name.into(),
        email.into(),
        contact.map(String::from).unwrap_or_default(),
        location.map(String::from).unwrap_or_default(),
        Some(hash),
        None,
    );
    state
        .store
        .teachers
        .insert(&teacher)
        .await
        .map_err(email_taken)?;
    Ok(teacher)
}

#[OpenApi(tag = "ApiTags::Teacher")]
impl TeacherApi {
    /// A teacher signs up with email and password and can log in at once.
    #[oai(path = "/teacher/sign-up", method = "post")]
    async fn sign_up(&self, call: Public<'_, SignUpBody>) -> Reply<TeacherView> {
        let Public { state, req, body } = call;
        let password = required("password", body.password.as_deref())?;
        if body.confirm_password.as_deref() != Some(password.as_str()) {
            return Err(ApiError::field(
                "confirm_password",
                "The passwords do not match",
            ));
        }
        let from = sessions::caller_ip(state, req);
        let t = create(state, body.fields(), &password, Some(from)).await?;
        let view = view(state, &t).await?;
        ok("Account created. You can log in now.", view)
    }

    /// Email and password, or Google (`type: "social"` with a verified `idToken`).
    #[oai(path = "/teacher/login", method = "post")]
    async fn login(&self, call: Public<'_, TeacherLoginBody>) -> ApiResult<TokenResponse> {
        let Public { state, req, body } = call;
        if body.kind.as_deref() == Some("social") {
            return super::google_login::login(
                state,
                body.email.as_deref(),
                body.name.as_deref(),
                body.profile.as_deref(),
                body.id_token.as_deref(),
            )
            .await;
        }
        let email: Email = parse("email", body.email.as_deref())?;
        let password = required("password", body.password.as_deref())?;
        let teacher = state.store.teachers.by_email(&email).await?;
        let stored = teacher.as_ref().and_then(|t| t.password_hash.as_deref());
        let rehash = sessions::verify_password(
            state,
            req,
            "teacher",
            &email,
            &password,
            stored,
            sessions::wrong_credentials,
        )
        .await?;
        let teacher = teacher.ok_or_else(sessions::wrong_credentials)?;
        sessions::unblocked(&teacher)?;
        if rehash {
            sessions::rehash(state, &*state.store.teachers, &teacher.id, &password).await?;
        }
        sessions::open_teacher(state, &teacher).await
    }

    /// The signed-in teacher (the app calls it with a trailing slash; both forms work).
    #[oai(path = "/teacher/profile", method = "get")]
    async fn profile(&self, auth: Auth<'_, Teacher>) -> Reply<TeacherView> {
        ok("Profile retrieved", view(auth.state, &auth.who).await?)
    }

    /// A teacher changes its name, location or picture.
    #[oai(path = "/teacher", method = "patch")]
    async fn update(&self, auth: Auth<'_, Teacher>, form: UpdateTeacherForm) -> Reply<TeacherView> {
        let state = auth.state;
        let mut patch = TeacherPatch {
            name: parse_optional::<Name>("name", form.name.as_deref())?.map(String::from),
            location: parse_optional::<Detail>("location", form.location.as_deref())?
                .map(String::from),
            ..Default::default()
        };
        if let Some(image) = form.image {
            patch.profile =
                Some(super::profile::store_own_image(state, &auth.who.id, image).await?);
        }
        let updated = state
            .store
            .teachers
            .update(&auth.who.id, &patch, state.clock.now())
            .await?
            .ok_or_else(account_gone)?;
        if patch.profile.is_some() {
            super::profile::forget_old_image(state, &auth.who.id, auth.who.profile.as_deref())
                .await;
        }
        ok("Profile updated", view(state, &updated).await?)
    }

    /// The teacher's own 6-digit pass-code (generated once, stored encrypted).
    #[oai(path = "/teacher/pass-code", method = "get")]
    async fn pass_code(&self, auth: Auth<'_, Teacher>) -> Reply<String> {
        let state = auth.state;
        let mut teacher = auth.who;
        if teacher.passcode_sealed.is_none() {
            let sealed = state
                .auth
                .passcodes
                .seal(Purpose::Teacher, &passcode::generate());
            state
                .store
                .teachers
                .set_passcode_if_missing(&teacher.id, &sealed)
                .await?;
            // Re-read: a concurrent request may have set it first, and both must show the same code.
            teacher = state
                .store
                .teachers
                .by_id(&teacher.id)
                .await?
                .ok_or_else(account_gone)?;
        }
        let sealed = teacher.passcode_sealed.ok_or_else(|| {
            ApiError::Internal("teacher pass-code missing after it was set".into())
        })?;
        let code = state
            .auth
            .passcodes
            .open(Purpose::Teacher, &sealed)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        ok("Pass-code retrieved", code)
    }

    /// Every teacher, newest first, 10 a page (admins).
    #[oai(path = "/teacher", method = "get")]
    async fn list(&self, page: Paged<'_, Admin>, search: QueryText) -> Reply<Vec<TeacherView>> {
        let state = page.auth.state;
        let q = page.query(search.as_deref());
        let found = state.store.teachers.list(&q).await?;
        let mut items = Vec::with_capacity(found.items.len());
        for t in &found.items {
            items.push(view(state, t).await?);
        }
        Ok(Envelope::page(
            "Teachers retrieved",
            items,
            Pagination::new(q.page, q.limit, found.total),
        ))
    }

    /// An admin creates a teacher account.
    #[oai(path = "/teacher/create-teacher", method = "post")]
    async fn create_teacher(&self, auth: Auth<'_, Admin, CreateTeacherBody>) -> Reply<TeacherView> {
        let (state, body) = (auth.state, &auth.body);
        let password = required("password", body.password.as_deref())?;
        let t = create(state, body.fields(), &password, None).await?;
        ok("Teacher created", view(state, &t).await?)
    }
}
