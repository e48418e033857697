//! Who a token names: verifies an access token and loads its account. The one check behind every
//! route (through `http::auth`'s extractor) and the Socket.IO handshake (through
//! `realtime::Authenticator`). It knows no transport: failures are [`AuthError`]s that carry the
//! status the contract gives them (CLIENT-CONTRACT §1: the app drops its login on ANY 401), and
//! each edge maps them to its own answer.

use std::sync::Arc;

use super::tokens::{AccessTokens, Claims, TokenError};
use crate::domain::{AccountStatus, Admin, Id, Role, Student, Teacher};
use crate::store::{Store, StoreError};

/// The account behind a valid token.
#[derive(Clone, Debug)]
pub enum Account {
    Admin(Admin),
    Teacher(Teacher),
    Student(Student),
}

/// An authenticated caller: the account and the token's claims.
#[derive(Clone, Debug)]
pub struct Principal {
    pub account: Account,
    pub claims: Claims,
}

/// Every role: what a Socket.IO connection admits (any signed-in account hears its own events).
pub const ALL_ROLES: &[Role] = &[Role::SuperAdmin, Role::Admin, Role::Teacher, Role::Student];

/// Why a caller is not let in. The messages are the contract's sentences.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("You are not logged in. Please log in.")]
    Missing,
    #[error("The Authorization header is not readable text.")]
    Unreadable,
    /// Not a JWT (`Bearer undefined`): a client bug.
    #[error("The access token is malformed. Please log in again.")]
    Malformed,
    #[error("Your session has expired. Please log in again.")]
    Expired,
    #[error("The access token is not valid. Please log in again.")]
    Invalid,
    #[error("You do not have permission to do this.")]
    Forbidden,
    #[error("This account no longer exists. Please log in again.")]
    Gone,
    #[error("This account has been blocked.")]
    Blocked,
    #[error(
        "Your session has ended because the account's password or access changed. Please log in again."
    )]
    EpochChanged,
    /// The account could not be loaded. The sentence is the client's; the detail stays in the
    /// source, for the logs.
    #[error("{}", store_message(.0))]
    Store(#[from] StoreError),
}

fn store_message(e: &StoreError) -> &'static str {
    match e {
        StoreError::Unavailable(_) => {
            "The service is temporarily unavailable. Please try again shortly."
        }
        _ => "Something went wrong on our side. Please try again.",
    }
}

impl AuthError {
    /// The HTTP status the contract gives this failure.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Unreadable | AuthError::Malformed => 400,
            AuthError::Missing
            | AuthError::Expired
            | AuthError::Invalid
            | AuthError::Gone
            | AuthError::Blocked
            | AuthError::EpochChanged => 401,
            AuthError::Forbidden => 403,
            AuthError::Store(StoreError::Unavailable(_)) => 503,
            AuthError::Store(StoreError::Conflict { .. }) => 409,
            AuthError::Store(_) => 500,
        }
    }
}

/// The token of an `Authorization` value: `Bearer <jwt>` (either case), or the bare value.
pub fn bearer_value(value: &str) -> &str {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or(value)
        .trim()
}

/// Verifies access tokens and loads the accounts they name: what authentication needs (the
/// token keys, the accounts, the time), and nothing else of the application.
#[derive(Clone)]
pub struct TokenAuthenticator {
    access: Arc<AccessTokens>,
    store: Store,
}

impl TokenAuthenticator {
    pub fn new(access: Arc<AccessTokens>, store: Store) -> Self {
        TokenAuthenticator { access, store }
    }

    /// Not a JWT → 400; expired, foreign, deleted or blocked account → 401; a role outside
    /// `roles` → 403.
    pub async fn authenticate(&self, token: &str, roles: &[Role]) -> Result<Principal, AuthError> {
        let claims = self.access.verify(token).map_err(|e| match e {
            TokenError::Malformed => AuthError::Malformed,
            TokenError::Expired => AuthError::Expired,
            TokenError::Invalid => AuthError::Invalid,
        })?;
        if !roles.contains(&claims.role) {
            return Err(AuthError::Forbidden);
        }
        let id: Id = claims.account_id().ok_or(AuthError::Invalid)?;
        // A password change, reset or block moves the account to a new epoch: tokens of an older
        // one (or, after a restore from backup, a newer one) are over. Students have no epoch:
        // nothing changes their credentials.
        let check_epoch = |current: i64| {
            if claims.epoch == current {
                Ok(())
            } else {
                Err(AuthError::EpochChanged)
            }
        };
        let account = match claims.role {
            Role::Admin | Role::SuperAdmin => {
                let admin = self.store.admins.by_id(&id).await?.ok_or(AuthError::Gone)?;
                // A demoted admin's old super-admin token must not keep its powers.
                if admin.role.role() != claims.role {
                    return Err(AuthError::Gone);
                }
                check_epoch(admin.token_epoch)?;
                Account::Admin(admin)
            }
            Role::Teacher => {
                let teacher = self
                    .store
                    .teachers
                    .by_id(&id)
                    .await?
                    .ok_or(AuthError::Gone)?;
                if teacher.status == AccountStatus::Blocked {
                    return Err(AuthError::Blocked);
                }
                check_epoch(teacher.token_epoch)?;
                Account::Teacher(teacher)
            }
            Role::Student => Account::Student(
                self.store
                    .students
                    .by_id(&id)
                    .await?
                    .ok_or(AuthError::Gone)?,
            ),
        };
        Ok(Principal { account, claims })
    }
}
