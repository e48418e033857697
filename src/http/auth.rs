//! The `Authorization: Bearer <jwt>` extractor. It classifies failures the way the mobile app needs
//! (CLIENT-CONTRACT §1: it drops its stored login on ANY 401): missing header → 401, not a JWT
//! (`Bearer undefined`, `Bearer `) → 400, expired / foreign / deleted or blocked account → 401,
//! valid but the wrong role → 403. poem-openapi's own security schemes answer a missing header with a
//! plain-text 401 before our code runs, so this implements the extractor itself and only borrows the
//! scheme for the OpenAPI document.

use std::marker::PhantomData;

use poem::Request;
use poem::http::header;
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::ApiError;
use crate::app::AppState;
use crate::auth::tokens::{Claims, TokenError};
use crate::domain::{AccountStatus, Admin, Id, Role, Student, Teacher};

pub const SCHEME: &str = "bearerAuth";

/// The account behind a valid token.
#[derive(Clone, Debug)]
pub enum Account {
    Admin(Admin),
    Teacher(Teacher),
    Student(Student),
}

/// Which roles a route admits, and what the handler receives.
pub trait Guard: Sized + Send {
    const ROLES: &'static [Role];
    fn from_account(account: Account) -> Option<Self>;
}

impl Guard for Admin {
    const ROLES: &'static [Role] = &[Role::Admin, Role::SuperAdmin];
    fn from_account(a: Account) -> Option<Self> {
        match a {
            Account::Admin(x) => Some(x),
            _ => None,
        }
    }
}

impl Guard for Teacher {
    const ROLES: &'static [Role] = &[Role::Teacher];
    fn from_account(a: Account) -> Option<Self> {
        match a {
            Account::Teacher(x) => Some(x),
            _ => None,
        }
    }
}

impl Guard for Student {
    const ROLES: &'static [Role] = &[Role::Student];
    fn from_account(a: Account) -> Option<Self> {
        match a {
            Account::Student(x) => Some(x),
            _ => None,
        }
    }
}

/// Any signed-in account.
impl Guard for Account {
    const ROLES: &'static [Role] = &[Role::SuperAdmin, Role::Admin, Role::Teacher, Role::Student];
    fn from_account(a: Account) -> Option<Self> {
        Some(a)
    }
}

/// A teacher or a student (the mobile app's routes shared by both).
#[derive(Clone, Debug)]
pub enum Member {
    Teacher(Teacher),
    Student(Student),
}

impl Member {
    pub fn id(&self) -> &Id {
        match self {
            Member::Teacher(t) => &t.id,
            Member::Student(s) => &s.id,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Member::Teacher(_) => Role::Teacher,
            Member::Student(_) => Role::Student,
        }
    }
}

impl Guard for Member {
    const ROLES: &'static [Role] = &[Role::Teacher, Role::Student];
    fn from_account(a: Account) -> Option<Self> {
        match a {
            Account::Teacher(t) => Some(Member::Teacher(t)),
            Account::Student(s) => Some(Member::Student(s)),
            Account::Admin(_) => None,
        }
    }
}

/// `Auth<Teacher>` as a handler parameter: the caller, authenticated and of an admitted role.
pub struct Auth<G: Guard> {
    pub who: G,
    pub claims: Claims,
    _guard: PhantomData<G>,
}

/// Every role: what a Socket.IO connection admits (any signed-in account hears its own events).
pub const ALL_ROLES: &[Role] = <Account as Guard>::ROLES;

/// The token of an `Authorization` value: `Bearer <jwt>` (either case), or the bare value.
pub fn bearer_value(value: &str) -> &str {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or(value)
        .trim()
}

fn bearer(req: &Request) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("You are not logged in. Please log in.".into()))?;
    let value = header.to_str().map_err(|_| {
        ApiError::BadRequest("The Authorization header is not readable text.".into())
    })?;
    Ok(bearer_value(value))
}

/// Authenticates the request and loads the account it names.
pub async fn authenticate(
    state: &AppState,
    req: &Request,
    roles: &[Role],
) -> Result<(Account, Claims), ApiError> {
    authenticate_token(state, bearer(req)?, roles).await
}

/// Verifies an access token and loads the account it names: the one check behind every route and
/// the Socket.IO handshake. Not a JWT → 400; expired, foreign, deleted or blocked account → 401;
/// a role outside `roles` → 403.
pub async fn authenticate_token(
    state: &AppState,
    token: &str,
    roles: &[Role],
) -> Result<(Account, Claims), ApiError> {
    let claims = state.auth.access.verify(token).map_err(|e| match e {
        TokenError::Malformed => {
            ApiError::BadRequest("The access token is malformed. Please log in again.".into())
        }
        TokenError::Expired => {
            ApiError::Unauthorized("Your session has expired. Please log in again.".into())
        }
        TokenError::Invalid => {
            ApiError::Unauthorized("The access token is not valid. Please log in again.".into())
        }
    })?;
    if !roles.contains(&claims.role) {
        return Err(ApiError::Forbidden(
            "You do not have permission to do this.".into(),
        ));
    }
    let id = claims.account_id().ok_or_else(|| {
        ApiError::Unauthorized("The access token is not valid. Please log in again.".into())
    })?;
    let gone =
        || ApiError::Unauthorized("This account no longer exists. Please log in again.".into());
    // A password change, reset or block moves the account to a new epoch: tokens of an older one
    // (or, after a restore from backup, a newer one) are over. Students have no epoch: nothing
    // changes their credentials.
    let check_epoch = |current: i64| {
        if claims.epoch == current {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "Your session has ended because the account's password or access changed. \
                 Please log in again."
                    .into(),
            ))
        }
    };
    let account = match claims.role {
        Role::Admin | Role::SuperAdmin => {
            let admin = state.store.admins.by_id(&id).await?.ok_or_else(gone)?;
            // A demoted admin's old super-admin token must not keep its powers.
            if admin.role.role() != claims.role {
                return Err(gone());
            }
            check_epoch(admin.token_epoch)?;
            Account::Admin(admin)
        }
        Role::Teacher => {
            let teacher = state.store.teachers.by_id(&id).await?.ok_or_else(gone)?;
            if teacher.status == AccountStatus::Blocked {
                return Err(ApiError::Unauthorized(
                    "This account has been blocked.".into(),
                ));
            }
            check_epoch(teacher.token_epoch)?;
            Account::Teacher(teacher)
        }
        Role::Student => Account::Student(state.store.students.by_id(&id).await?.ok_or_else(gone)?),
    };
    Ok((account, claims))
}

impl<'a, G: Guard + 'static> ApiExtractor<'a> for Auth<G> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "The access token from a login route. A missing header is 401, a token that is not a JWT 400, \
                     an expired or revoked one 401, the wrong role 403.",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
        let (account, claims) = authenticate(state, req, G::ROLES).await?;
        let who = G::from_account(account)
            .ok_or_else(|| ApiError::Forbidden("You do not have permission to do this.".into()))?;
        Ok(Auth {
            who,
            claims,
            _guard: PhantomData,
        })
    }
}
