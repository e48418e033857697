//! What every login route shares: brute-force limits, password verification, and the session it
//! opens (an access token in `data`, a refresh token beside it).

use std::net::{IpAddr, Ipv4Addr};

use crate::http::Json;
use poem::Request;

use crate::domain::password::Verified;
use crate::domain::{AccountStatus, Id, Role, Teacher};
use crate::http::client_ip::client_ip;
use crate::http::{ApiError, ApiResult, Envelope};
use crate::ops::metrics;
use crate::state::AppState;
use crate::store::{self, Accounts};

pub type TokenResponse = Json<Envelope<String>>;

pub fn caller_ip(state: &AppState, req: &Request) -> IpAddr {
    client_ip(req, &state.config.trusted_proxies).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The answer to a caller whose account was deleted while its token was still valid.
pub fn account_gone() -> ApiError {
    ApiError::Unauthorized("This account no longer exists.".into())
}

pub fn wrong_credentials() -> ApiError {
    ApiError::Unauthorized("The email or password is incorrect.".into())
}

/// Checks `password` for the account with `email` (whose hash is `stored`, `None` if there is no
/// such account) under the password limits (`auth::limits::LoginLimits::password`), reserved
/// before the hash is checked. Returns whether the hash should be upgraded. Unknown accounts cost
/// the same time and get the same answer as wrong passwords. `wrong` is the answer to a wrong
/// password (login and change-password word it differently).
pub async fn verify_password(
    state: &AppState,
    req: &Request,
    kind: &'static str,
    email: &str,
    password: &str,
    stored: Option<&str>,
    wrong: fn() -> ApiError,
) -> ApiResult<bool> {
    let attempt = state
        .auth
        .limits
        .password(caller_ip(state, req), email)
        .await?;
    let verified = match state.auth.passwords.verify(password, stored).await {
        Ok(v) => v,
        Err(busy) => {
            attempt.abandon().await?;
            return Err(busy.into());
        }
    };
    match verified {
        Verified::Yes { rehash } => {
            attempt.succeeded().await?;
            Ok(rehash)
        }
        Verified::No => {
            metrics::get()
                .login_failures
                .with_label_values(&[kind])
                .inc();
            attempt.failed();
            Err(wrong())
        }
    }
}

/// Stores `password`, just verified, under the hash parameters in force now (what
/// [`verify_password`]'s `true` asks for), without ending the account's sessions.
pub async fn rehash<A: store::Account>(
    state: &AppState,
    accounts: &(impl Accounts<A> + ?Sized),
    id: &Id,
    password: &str,
) -> ApiResult<()> {
    let hash = state.auth.passwords.hash(password).await?;
    accounts
        .set_password_hash(id, &hash, state.clock.now())
        .await?;
    Ok(())
}

/// Opens a session: the access token as `data`, a new refresh-token family beside it. `epoch` is
/// the account's `token_epoch` as read before the password was checked, so that a password change
/// racing this login ends the token it issues.
pub async fn open(
    state: &AppState,
    id: &Id,
    role: Role,
    email: Option<&str>,
    epoch: i64,
    message: &str,
) -> ApiResult<TokenResponse> {
    let refresh = state.auth.refresh.issue(id, role, None).await?;
    Ok(with_refresh(
        state.auth.access.issue_for_epoch(id, role, email, epoch),
        refresh,
        message,
    ))
}

/// A teacher's session, once its credentials (password or Google) are checked.
pub async fn open_teacher(state: &AppState, teacher: &Teacher) -> ApiResult<TokenResponse> {
    open(
        state,
        &teacher.id,
        Role::Teacher,
        Some(&teacher.email),
        teacher.token_epoch,
        LOGGED_IN,
    )
    .await
}

/// A blocked teacher gets no session, whichever way it signs in.
pub fn unblocked(teacher: &Teacher) -> ApiResult<()> {
    if teacher.status == AccountStatus::Blocked {
        return Err(ApiError::Forbidden(
            "This account has been blocked. Please contact support.".into(),
        ));
    }
    Ok(())
}

/// The message of every login's answer.
pub const LOGGED_IN: &str = "Logged in successfully";

pub fn with_refresh(access: String, refresh: String, message: &str) -> TokenResponse {
    let mut envelope = Envelope::ok(message, access);
    envelope.0.refresh_token = Some(refresh);
    envelope
}
