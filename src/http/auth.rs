//! The `Authorization: Bearer <jwt>` extractor. It classifies failures the way the mobile app needs
//! (CLIENT-CONTRACT §1: it drops its stored login on ANY 401): missing header → 401, not a JWT
//! (`Bearer undefined`, `Bearer `) → 400, expired / foreign / deleted or blocked account → 401,
//! valid but the wrong role → 403. poem-openapi's own security schemes answer a missing header with a
//! plain-text 401 before our code runs, so this implements the extractor itself and only borrows the
//! scheme for the OpenAPI document. The check itself is `auth::principal`; this file only reads the
//! header and maps its `AuthError` (through `http::error`).

use poem::http::header;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaRequest, MetaSecurityScheme, Registry};
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::{ApiError, Json};
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

/// `Auth<'_, Teacher>` as a handler parameter: the caller, authenticated and of an admitted role,
/// with the state it was checked against; `Auth<'_, Teacher, CreateClassBody>` also reads the
/// route's JSON body, after the caller (so a wrong role is 403 whatever the body: the role
/// matrix relies on that order, and one extractor keeps it).
pub struct Auth<'a, G: Guard, B = NoBody> {
    pub who: G,
    pub claims: Claims,
    pub state: &'a AppState,
    pub body: B,
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

/// A route without a request body.
pub struct NoBody;

fn register_scheme(registry: &mut Registry) {
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

fn app_state(req: &Request) -> poem::Result<&AppState> {
    Ok(req
        .data::<AppState>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?)
}

/// The caller as guard `G` admits it (401/400/403 otherwise), and the state.
async fn caller<G: Guard>(req: &Request) -> poem::Result<(G, Claims, &AppState)> {
    let state = app_state(req)?;
    let Principal { account, claims } = authenticate(state, req, G::ROLES)
        .await
        .map_err(ApiError::from)?;
    let who = G::from_account(account).ok_or_else(|| ApiError::from(AuthError::Forbidden))?;
    crate::telemetry::record_role(claims.role.as_str());
    Ok((who, claims, state))
}

/// The JSON body, read as poem-openapi's `Json` parameter reads it (same errors).
async fn json<'a, T: ParseFromJSON>(req: &'a Request, body: &mut RequestBody) -> poem::Result<T> {
    Ok(
        <Json<T> as ApiExtractor<'a>>::from_request(req, body, Default::default())
            .await?
            .0,
    )
}

impl<'a, G: Guard + 'static> ApiExtractor<'a> for Auth<'a, G> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_scheme(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let (who, claims, state) = caller(req).await?;
        let body = NoBody;
        Ok(Auth {
            who,
            claims,
            state,
            body,
        })
    }
}

impl<'a, G: Guard + 'static, T: ParseFromJSON + Send> ApiExtractor<'a> for Auth<'a, G, T> {
    const TYPES: &'static [ApiExtractorType] = &[
        ApiExtractorType::SecurityScheme,
        ApiExtractorType::RequestObject,
    ];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_scheme(registry);
        <Json<T> as ApiExtractor>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        <Json<T> as ApiExtractor>::request_meta()
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // The caller first: a wrong role is 403 whatever the body.
        let (who, claims, state) = caller(req).await?;
        let body = json(req, body).await?;
        Ok(Auth {
            who,
            claims,
            state,
            body,
        })
    }
}

/// The counterpart of [`Auth`] for the routes anyone may call (logins, sign-up, password reset,
/// the payment intent): the state, the request (for the caller's address and headers) and the
/// JSON body.
pub struct Public<'a, B> {
    pub state: &'a AppState,
    pub req: &'a Request,
    pub body: B,
}

impl<'a, B: ParseFromJSON + Send> ApiExtractor<'a> for Public<'a, B> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Json<B> as ApiExtractor>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        <Json<B> as ApiExtractor>::request_meta()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
        let body = <Json<B> as ApiExtractor>::from_request(req, body, opts)
            .await?
            .0;
        Ok(Public { state, req, body })
    }
}
