//! Teacher sign-in with Google. The old app sent `{type: "social", email, name, profile}` with no
//! proof, so anyone could sign in as any teacher (CLIENT-CONTRACT §2, Security). We require a Google
//! ID token and verify it; the legacy body is accepted only when `GOOGLE_ALLOW_LEGACY_LOGIN` is on,
//! with a warning on every such login.

use super::new_teacher::new_teacher;
use super::owned::created_or_winner;
use super::sessions::{self, TokenResponse};
use crate::auth::google::GoogleError;
use crate::domain::{Email, ImageRef, Name};
use crate::http::error::chain;
use crate::http::input::{optional, parse, parse_optional, refused};
use crate::http::{ApiError, ApiResult};
use crate::state::AppState;

/// Who Google says the caller is.
struct Identity {
    email: String,
    name: Option<String>,
    picture: Option<String>,
}

async fn identity(
    state: &AppState,
    claimed_email: String,
    id_token: Option<&str>,
) -> ApiResult<Identity> {
    match id_token.filter(|t| !t.trim().is_empty()) {
        Some(token) => verify(state, token, claimed_email).await,
        None if state.config.google.allow_legacy_login => {
            tracing::warn!(email = %claimed_email, "legacy Google login without idToken accepted (GOOGLE_ALLOW_LEGACY_LOGIN)");
            Ok(Identity {
                email: claimed_email,
                name: None,
                picture: None,
            })
        }
        None => Err(ApiError::field(
            "idToken",
            "Google sign-in needs the Google ID token: the app must send idToken. Please update the app.",
        )),
    }
}

async fn verify(state: &AppState, token: &str, email: String) -> ApiResult<Identity> {
    let id = state.auth.google.verify(token, &email).await.map_err(|e| match e {
        GoogleError::NotConfigured => ApiError::BadRequest(
            "Google sign-in is not configured on this server. Please log in with your email and password.".into(),
        ),
        GoogleError::Rejected(why) => ApiError::Unauthorized(why),
        e @ GoogleError::KeysUnavailable(_) => ApiError::Unavailable(chain(&e)),
    })?;
    Ok(Identity {
        // Google's spelling, normalised like every stored email.
        email: crate::domain::account::normalize_email(&id.email),
        name: id.name,
        picture: id.picture,
    })
}

pub async fn login(
    state: &AppState,
    email_raw: Option<&str>,
    name: Option<&str>,
    profile: Option<&str>,
    id_token: Option<&str>,
) -> ApiResult<TokenResponse> {
    let claimed: Email = parse("email", email_raw)?;
    // Checked before Google is asked, so that a bad `profile` is a 400 whatever the token.
    let profile = parse_optional::<ImageRef>("profile", profile)?;
    let who = identity(state, claimed.into(), id_token).await?;
    let teacher = match state.store.teachers.by_email(&who.email).await? {
        Some(t) => t,
        None => {
            // A blank name from Google counts as none (it used to be stored blank).
            let name = who
                .name
                .filter(|n| !n.trim().is_empty())
                .or_else(|| optional(name))
                .unwrap_or_else(|| who.email.split('@').next().unwrap_or_default().to_owned());
            let name = Name::parse(&name).map_err(|why| refused("name", why))?;
            // Google's picture is an https URL; one that fails our check is dropped, not fatal.
            let picture = who
                .picture
                .and_then(|p| ImageRef::parse(&p).ok())
                .or(profile)
                .map(String::from);
            let t = new_teacher(
                state,
                name.into(),
                who.email.clone(),
                String::new(),
                String::new(),
                None,
                picture,
            );
            let inserted = state.store.teachers.insert(&t).await;
            // Two first logins raced: the other one created the account.
            let winner = state.store.teachers.by_email(&who.email);
            created_or_winner(inserted, t, winner, "teacher vanished after a conflict").await?
        }
    };
    sessions::unblocked(&teacher)?;
    sessions::open_teacher(state, &teacher).await
}
