//! `/auth/*`: admin login and password reset by email, password change for everyone, refresh and
//! logout.

use poem::Request;
use poem::http::header;
use poem_openapi::types::Any;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::sessions::{self, TokenResponse, account_gone};
use crate::auth::limits::Key;
use crate::auth::limits::address_bucket;
use crate::auth::otp::{self, CodeCheck};
use crate::auth::refresh::RefreshError;
use crate::domain::{AccountStatus, Email, Id, NewPassword, Role};
use crate::http::auth::Public;
use crate::http::auth::{Account, Auth};
use crate::http::error::{capitalize, chain};
use crate::http::fields::{Required, Text};
use crate::http::input::{digit_code, parse, refused, required};
use crate::http::{ApiError, ApiResult, Done, Reply, done, ok};
use crate::revocation;

pub struct AuthApi;

#[derive(Object)]
struct LoginBody {
    email: Required<Text>,
    /// Text (a number is taken as its digits: the dashboard may send a 6-digit code as one).
    password: Required<String>,
    /// Accepted and ignored: sessions last `JWT_REFRESH_EXPIRE_IN` anyway.
    remember: Option<bool>,
}

#[derive(Object)]
struct ForgetBody {
    email: Required<Text>,
}

#[derive(Object)]
struct VerifyBody {
    email: Required<Text>,
    /// The 4-digit code from the email (a number or a string).
    #[oai(rename = "oneTimeCode")]
    one_time_code: Required<Any<serde_json::Value>>,
}

#[derive(Object)]
struct ResetBody {
    /// Text (a number is taken as its digits: the dashboard may send a 6-digit code as one).
    #[oai(rename = "newPassword")]
    new_password: Required<String>,
    #[oai(rename = "confirmPassword")]
    confirm_password: Required<String>,
}

#[derive(Object)]
struct ChangeBody {
    /// Text (a number is taken as its digits: the dashboard may send a 6-digit code as one).
    #[oai(rename = "currentPassword")]
    current_password: Required<String>,
    /// Text (a number is taken as its digits: the dashboard may send a 6-digit code as one).
    #[oai(rename = "newPassword")]
    new_password: Required<String>,
    #[oai(rename = "confirmPassword")]
    confirm_password: Required<String>,
}

#[derive(Object)]
struct RefreshBody {
    #[oai(rename = "refreshToken")]
    refresh_token: Required<Text>,
}

/// The new password, checked against the policy and its confirmation.
pub(crate) fn new_password(
    new: Option<&str>,
    confirm: Option<&str>,
    confirm_field: &str,
) -> ApiResult<NewPassword> {
    let new = new.unwrap_or_default();
    if new.is_empty() {
        return Err(ApiError::field("newPassword", "newPassword is required"));
    }
    let password = NewPassword::parse(new).map_err(|why| refused("newPassword", why))?;
    if confirm != Some(new) {
        return Err(ApiError::field(confirm_field, "The passwords do not match"));
    }
    Ok(password)
}

const SENT: &str = "If an account exists for this email, a code has been sent to it.";

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Admin login (dashboard). `data` is the access token; `refreshToken` opens `/auth/refresh-token`.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(&self, call: Public<'_, LoginBody>) -> ApiResult<TokenResponse> {
        let Public { state, req, body } = call;
        let email: Email = parse("email", body.email.as_deref())?;
        let password = required("password", body.password.as_deref())?;
        let _ = body.remember;
        let admin = state.store.admins.by_email(&email).await?;
        let rehash = sessions::verify_password(
            state,
            req,
            "admin",
            &email,
            &password,
            admin.as_ref().map(|a| a.password_hash.as_str()),
            sessions::wrong_credentials,
        )
        .await?;
        let admin = admin.ok_or_else(sessions::wrong_credentials)?;
        if rehash {
            sessions::rehash(state, &*state.store.admins, &admin.id, &password).await?;
        }
        sessions::open(
            state,
            &admin.id,
            admin.role.role(),
            Some(&admin.email),
            admin.token_epoch,
            sessions::LOGGED_IN,
        )
        .await
    }

    /// Emails a 4-digit code (valid 3 minutes) to an admin. The answer is the same whether or not
    /// the account exists; requests are limited per email (a few per 15 minutes, 6 a day).
    #[oai(path = "/auth/forget-password", method = "post")]
    async fn forget_password(&self, call: Public<'_, ForgetBody>) -> ApiResult<Done> {
        let Public { state, body, .. } = call;
        let email = parse::<Email>("email", body.email.as_deref())?.into_inner();
        state.mailer.ensure_enabled()?;
        state
            .auth
            .limits
            .count(&[
                Key::ResetRequests(email.clone()),
                Key::ResetRequestsDaily(email.clone()),
            ])
            .await?;
        if state.store.admins.by_email(&email).await?.is_some() {
            let code = state.auth.otp.issue_code(&email).await?;
            // Sent in the background: the answer's timing must not reveal that the account exists.
            let mailer = state.mailer.clone();
            tokio::spawn(async move {
                let minutes = otp::CODE_TTL.as_secs() / 60;
                if let Err(e) = mailer.send_reset_code(&email, &code, minutes).await {
                    tracing::error!(error = %chain(&e), "could not send the password-reset code");
                }
            });
        }
        Ok(done(SENT))
    }

    /// Exchanges the emailed code for a single-use reset token (valid 5 minutes), sent as the raw
    /// `Authorization` header of `/auth/reset-password`. Wrong codes are limited per address and
    /// per email (10 a day, then the email is locked until the day ends), counted before the code
    /// is checked; a wrong, expired or never-requested code, for any email, gets the same answer.
    #[oai(path = "/auth/verify-email", method = "post")]
    async fn verify_email(&self, call: Public<'_, VerifyBody>) -> Reply<String> {
        let Public { state, req, body } = call;
        let email = parse::<Email>("email", body.email.as_deref())?.into_inner();
        let code = digit_code("oneTimeCode", body.one_time_code.as_ref(), 4)?
            .ok_or_else(|| ApiError::field("oneTimeCode", "oneTimeCode is required"))?;
        let attempt = state
            .auth
            .limits
            .reserve(&[
                Key::CodeAddress(address_bucket(sessions::caller_ip(state, req))),
                Key::CodeFailures(email.clone()),
            ])
            .await?;
        let admin = match state.auth.otp.check_code(&email, &code).await? {
            CodeCheck::Valid => state.store.admins.by_email(&email).await?,
            CodeCheck::Wrong | CodeCheck::Expired => None,
        };
        let Some(admin) = admin else {
            attempt.failed();
            return Err(ApiError::field(
                "oneTimeCode",
                "The code is not correct or has expired. Please request a new one.",
            ));
        };
        attempt.succeeded().await?;
        let token = state.auth.otp.issue_reset_token(&admin.id).await?;
        let view = token;
        ok("The code is correct. You can now set a new password.", view)
    }

    /// Sets a new admin password with the reset token from `/auth/verify-email` (raw, no `Bearer`).
    #[oai(path = "/auth/reset-password", method = "post")]
    async fn reset_password(&self, call: Public<'_, ResetBody>) -> ApiResult<Done> {
        let Public { state, req, body } = call;
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "The reset token is missing. Please verify your email again.".into(),
                )
            })?;
        let password = new_password(
            body.new_password.as_deref(),
            body.confirm_password.as_deref(),
            "confirmPassword",
        )?;
        let id = state
            .auth
            .otp
            .redeem_reset_token(&token)
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "The reset token is not valid or has expired. Please start again.".into(),
                )
            })?;
        let hash = state.auth.passwords.hash(password.expose()).await?;
        let Some(epoch) = state
            .store
            .admins
            .change_password(&id, &hash, state.clock.now())
            .await?
        else {
            return Err(account_gone());
        };
        revocation::credentials_changed(state, &id, epoch).await?;
        Ok(done("Your password has been reset. Please log in."))
    }

    /// Changes the caller's password. Every session ends, this one included: access and refresh
    /// tokens and sockets (the app logs in again with the new password). Wrong current passwords
    /// count against the same limits as failed logins.
    #[oai(path = "/auth/change-password", method = "post")]
    async fn change_password(
        &self,
        req: &Request,
        auth: Auth<'_, Account, ChangeBody>,
    ) -> ApiResult<Done> {
        let (state, body) = (auth.state, &auth.body);
        let current = required("currentPassword", body.current_password.as_deref())?;
        let password = new_password(
            body.new_password.as_deref(),
            body.confirm_password.as_deref(),
            "confirmPassword",
        )?;
        let (id, email, stored): (Id, String, Option<String>) = match &auth.who {
            Account::Admin(a) => (a.id.clone(), a.email.clone(), Some(a.password_hash.clone())),
            Account::Teacher(t) => {
                if t.password_hash.is_none() {
                    return Err(ApiError::BadRequest(
                        "This account signs in with Google and has no password to change.".into(),
                    ));
                }
                (t.id.clone(), t.email.clone(), t.password_hash.clone())
            }
            Account::Student(_) => {
                // Letting a student pick a passcode would tell it which codes other students use.
                return Err(ApiError::Forbidden(
                    "A student's passcode is set by its teacher.".into(),
                ));
            }
        };
        sessions::verify_password(
            state,
            req,
            "change_password",
            &email,
            &current,
            stored.as_deref(),
            || ApiError::field("currentPassword", "The current password is incorrect."),
        )
        .await?;
        let hash = state.auth.passwords.hash(password.expose()).await?;
        let epoch = match auth.claims.role {
            Role::Teacher => {
                state
                    .store
                    .teachers
                    .change_password(&id, &hash, state.clock.now())
                    .await?
            }
            _ => {
                state
                    .store
                    .admins
                    .change_password(&id, &hash, state.clock.now())
                    .await?
            }
        };
        if let Some(epoch) = epoch {
            revocation::credentials_changed(state, &id, epoch).await?;
        }
        Ok(done("Your password has been changed."))
    }

    /// Exchanges a refresh token for a new access token and a new refresh token (rotation). A
    /// refresh token used twice ends every session of its login.
    #[oai(path = "/auth/refresh-token", method = "post")]
    async fn refresh_token(&self, call: Public<'_, RefreshBody>) -> ApiResult<TokenResponse> {
        let Public { state, body, .. } = call;
        let presented = required("refreshToken", body.refresh_token.as_deref())?;
        let rotated = state
            .auth
            .refresh
            .rotate(&presented)
            .await
            .map_err(|e| match e {
                RefreshError::Store(s) => s.into(),
                other => ApiError::Unauthorized(format!(
                    "{}. Please log in again.",
                    capitalize(&other.to_string())
                )),
            })?;
        // The account as it is now: one that was removed or blocked since the login gets no new
        // token, and its whole login ends (the successor just issued included).
        let id = &rotated.account_id;
        let current = match rotated.role {
            Role::Admin | Role::SuperAdmin => state
                .store
                .admins
                .by_id(id)
                .await?
                .filter(|a| a.role.role() == rotated.role)
                .map(|a| Ok((Some(a.email), a.token_epoch))),
            Role::Teacher => state.store.teachers.by_id(id).await?.map(|t| {
                if t.status == AccountStatus::Blocked {
                    Err("This account has been blocked.")
                } else {
                    Ok((Some(t.email), t.token_epoch))
                }
            }),
            Role::Student => state.store.students.by_id(id).await?.map(|_| Ok((None, 0))),
        }
        .unwrap_or(Err("This account no longer exists. Please log in again."));
        let (email, epoch) = match current {
            Ok(found) => found,
            Err(why) => {
                state.auth.refresh.revoke_family(&rotated.family).await?;
                return Err(ApiError::Unauthorized(why.into()));
            }
        };
        let access = state
            .auth
            .access
            .issue_for_epoch(id, rotated.role, email.as_deref(), epoch);
        Ok(sessions::with_refresh(
            access,
            rotated.token,
            "Token refreshed",
        ))
    }

    /// Ends the session of this refresh token (and every token rotated from it).
    #[oai(path = "/auth/logout", method = "post")]
    async fn logout(&self, call: Public<'_, RefreshBody>) -> ApiResult<Done> {
        let Public { state, body, .. } = call;
        if let Some(token) = body.refresh_token.as_deref().filter(|t| !t.is_empty())
            && let Some(account) = state.auth.refresh.revoke(token).await?
        {
            // A signed-out account gets no more push (issue 15).
            state.store.push.forget_account(&account).await?;
        }
        Ok(done("Logged out"))
    }
}
