//! The `Authorization: Bearer <jwt>` extractor. It classifies failures the way the mobile app needs
//! (CLIENT-CONTRACT §1: it drops its stored login on ANY 401): missing header → 401, not a JWT
//! (`Bearer undefined`, `Bearer `) → 400, expired / foreign / deleted or blocked account → 401,
//! valid but the wrong role → 403. poem-openapi's own security schemes answer a missing header with a
//! plain-text 401 before our code runs, so this implements the extractor itself and only borrows the
//! scheme for the OpenAPI document. The check itself is `auth::principal`; this file only reads the
//! header and maps its `AuthError` (through `http::error`).

use std::marker::PhantomData;

use poem::http::header;
use poem::{Request, RequestBody};
use poem_openapi::param::Path;
use poem_openapi::registry::{
    MetaParamIn, MetaRequest, MetaSchemaRef, MetaSecurityScheme, Registry,
};
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::input::{PathName, path_id};
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

/// What a route reads after its caller: nothing ([`NoBody`]) or a JSON object, and how that shows
/// in the document (a request body or none).
pub trait Body: Sized + Send {
    /// The extractor's kinds: the security scheme, and the request body when there is one.
    const TYPES: &'static [ApiExtractorType];
    /// The same for [`ById`], which is also the path parameter.
    const BY_ID_TYPES: &'static [ApiExtractorType];
    fn register(registry: &mut Registry);
    fn request_meta() -> Option<MetaRequest>;
    fn read(
        req: &Request,
        body: &mut RequestBody,
    ) -> impl Future<Output = poem::Result<Self>> + Send;
}

impl Body for NoBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    const BY_ID_TYPES: &'static [ApiExtractorType] = &[
        ApiExtractorType::Parameter,
        ApiExtractorType::SecurityScheme,
    ];

    fn register(_registry: &mut Registry) {}

    fn request_meta() -> Option<MetaRequest> {
        None
    }

    async fn read(_req: &Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(NoBody)
    }
}

/// A JSON body, read as poem-openapi's `Json` parameter reads it (same errors, same document).
impl<T: ParseFromJSON + Send> Body for T {
    const TYPES: &'static [ApiExtractorType] = &[
        ApiExtractorType::SecurityScheme,
        ApiExtractorType::RequestObject,
    ];
    const BY_ID_TYPES: &'static [ApiExtractorType] = &[
        ApiExtractorType::Parameter,
        ApiExtractorType::SecurityScheme,
        ApiExtractorType::RequestObject,
    ];

    fn register(registry: &mut Registry) {
        <Json<T> as ApiExtractor>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        <Json<T> as ApiExtractor>::request_meta()
    }

    async fn read(req: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let opts = Default::default();
        Ok(<Json<T> as ApiExtractor>::from_request(req, body, opts)
            .await?
            .0)
    }
}

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

impl<'a, G: Guard + 'static, B: Body> ApiExtractor<'a> for Auth<'a, G, B> {
    const TYPES: &'static [ApiExtractorType] = B::TYPES;
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_scheme(registry);
        B::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        B::request_meta()
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
        let body = B::read(req, body).await?;
        Ok(Auth {
            who,
            claims,
            state,
            body,
        })
    }
}

/// `id: ById<'_, Teacher, Class, UpdateClassBody>` as a handler parameter, on a route
/// `/class/:id`: the [`Auth`] (caller, state and body, checked and read in that order) and then
/// the path's `id` parsed as an ObjectId (400 "`\"x\" is not a valid class id`" otherwise), so the
/// handler starts from a parsed id and the checks keep their order: 401/400/403, body, id.
/// poem-openapi names a path parameter after the handler's argument, which is why that argument
/// is `id` and the handler destructures it (`let ById { auth, id, .. } = id;`).
pub struct ById<'a, G: Guard, R, B = NoBody> {
    pub auth: Auth<'a, G, B>,
    pub id: Id,
    record: PhantomData<fn() -> R>,
}

impl<'a, G: Guard + 'static, R: PathName, B: Body> ApiExtractor<'a> for ById<'a, G, R, B> {
    const TYPES: &'static [ApiExtractorType] = B::BY_ID_TYPES;
    const PARAM_IS_REQUIRED: bool = <Path<String> as ApiExtractor<'a>>::PARAM_IS_REQUIRED;
    type ParamType = String;
    type ParamRawType = String;

    fn register(registry: &mut Registry) {
        <Auth<'a, G, B> as ApiExtractor>::register(registry);
        <Path<String> as ApiExtractor>::register(registry);
    }

    fn param_in() -> Option<MetaParamIn> {
        <Path<String> as ApiExtractor>::param_in()
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        <Path<String> as ApiExtractor>::param_schema_ref()
    }

    fn request_meta() -> Option<MetaRequest> {
        <Auth<'a, G, B> as ApiExtractor>::request_meta()
    }

    fn security_schemes() -> Vec<&'static str> {
        <Auth<'a, G, B> as ApiExtractor>::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let auth = Auth::from_request(req, body, Default::default()).await?;
        // The route's one path parameter, by position: poem-openapi routes it under a generated
        // name (`param0`) that only a parameter typed `Path` is told.
        let (raw,) = req
            .path_params::<(String,)>()
            .map_err(|_| ApiError::Internal("a route by id without one path id".into()))?;
        let id = path_id(R::PATH_NAME, &raw)?;
        let record = PhantomData;
        Ok(ById { auth, id, record })
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
        <B as Body>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        <B as Body>::request_meta()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = app_state(req)?;
        let body = <B as Body>::read(req, body).await?;
        Ok(Public { state, req, body })
    }
}
