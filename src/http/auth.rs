//! The `Authorization: Bearer <jwt>` extractor. It classifies failures the way the mobile app needs
//! (CLIENT-CONTRACT §1: it drops its stored login on ANY 401): missing header → 401, not a JWT
//! (`Bearer undefined`, `Bearer `) → 400, expired / foreign / deleted or blocked account → 401,
//! valid but the wrong role → 403. poem-openapi's own security schemes answer a missing header with a
//! plain-text 401 before our code runs, so this implements the extractor itself and only borrows the
//! scheme for the OpenAPI document. The check itself is `auth::principal`; this file only reads the
//! header and maps its `AuthError` (through `http::error`).

use std::marker::PhantomData;

use poem::Request;
use poem::http::header;
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::ApiError;
pub use crate::auth::principal::Account;
use crate::auth::principal::{ALL_ROLES, AuthError, Principal, bearer_value};
use crate::auth::tokens::Claims;
use crate::domain::{Admin, Id, Role, Student, Teacher};
use crate::state::AppState;

pub const SCHEME: &str = "bearerAuth";

/// Which roles a route admits, and what the handler receives.
pub trait Guard: Sized + Send {
    const ROLES: &'static [Role];
    fn from_account(account: Account) -> Option<Self>;
}

/// A guard that lets in one kind of account: its roles, and the account as that kind.
macro_rules! account_guard {
    ($kind:ident, $roles:expr) => {
        impl Guard for $kind {
            const ROLES: &'static [Role] = $roles;
            fn from_account(a: Account) -> Option<Self> {
                match a {
                    Account::$kind(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}

account_guard!(Admin, &[Role::Admin, Role::SuperAdmin]);
account_guard!(Teacher, &[Role::Teacher]);
account_guard!(Student, &[Role::Student]);

/// Any signed-in account.
impl Guard for Account {
    const ROLES: &'static [Role] = ALL_ROLES;
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

fn bearer(req: &Request) -> Result<&str, AuthError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?;
    let value = header.to_str().map_err(|_| AuthError::Unreadable)?;
    Ok(bearer_value(value))
}

/// Authenticates the request and loads the account it names.
pub async fn authenticate(
    state: &AppState,
    req: &Request,
    roles: &[Role],
) -> Result<Principal, AuthError> {
    state
        .auth
        .authenticator
        .authenticate(bearer(req)?, roles)
        .await
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
        let Principal { account, claims } = authenticate(state, req, G::ROLES)
            .await
            .map_err(ApiError::from)?;
        let who = G::from_account(account).ok_or_else(|| ApiError::from(AuthError::Forbidden))?;
        crate::telemetry::record_role(claims.role.as_str());
        Ok(Auth {
            who,
            claims,
            _guard: PhantomData,
        })
    }
}
