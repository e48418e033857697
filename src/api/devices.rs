//! `/devices`: a signed-in teacher or student registers the FCM token of a device for push, and
//! removes it on logout (issue 15). Tokens are unique: registering one again moves it to the
//! caller (a shared classroom tablet changes hands). Push itself may be off (no Firebase key):
//! devices register all the same, and push starts once it is configured.

use poem_openapi::param::Path;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use crate::http::auth::{Auth, Member};
use crate::http::fields::{Required, Text};
use crate::http::input::required;
use crate::http::{ApiError, ApiResult, Done, done};
use crate::store::{Device, Platform};

/// FCM registration tokens are about 160 characters; this leaves room and refuses junk.
const MAX_TOKEN: usize = 4096;

pub struct DevicesApi;

#[derive(Object)]
struct DeviceBody {
    /// The FCM registration token (letters, digits, `-`, `_`, `:` and `.`; at most 4096).
    token: Required<Text>,
    /// `android`, `ios` or `web`.
    platform: Required<Text>,
}

/// The token as given, if it looks like one.
fn token(raw: Option<&str>) -> Result<String, ApiError> {
    let token = required("token", raw)?;
    if token.len() > MAX_TOKEN {
        return Err(ApiError::field(
            "token",
            format!("token: at most {MAX_TOKEN} characters are allowed"),
        ));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
    {
        return Err(ApiError::field(
            "token",
            "token is not an FCM registration token",
        ));
    }
    Ok(token)
}

#[OpenApi(tag = "ApiTags::Devices")]
impl DevicesApi {
    /// Registers the caller's device for push (again is fine; another account's token moves to
    /// the caller). Beyond `PUSH_MAX_DEVICES_PER_ACCOUNT` devices the oldest is dropped.
    #[oai(path = "/devices", method = "post")]
    async fn register(&self, auth: Auth<'_, Member, DeviceBody>) -> ApiResult<Done> {
        let (state, body) = (auth.state, &auth.body);
        let token = token(body.token.as_deref())?;
        let platform = required("platform", body.platform.as_deref())?;
        let platform = Platform::parse(&platform)
            .ok_or_else(|| ApiError::field("platform", "platform must be android, ios or web"))?;
        let device = Device {
            token,
            account: auth.who.id().clone(),
            platform,
            registered_at: state.clock.now(),
        };
        state
            .store
            .push
            .register(&device, state.config.push.max_devices_per_account)
            .await?;
        Ok(done("Device registered"))
    }

    /// Removes one of the caller's devices (logout). Removing a token the caller does not hold
    /// changes nothing and is not an error.
    #[oai(path = "/devices/:token", method = "delete")]
    async fn remove(&self, auth: Auth<'_, Member>, token: Path<String>) -> ApiResult<Done> {
        let token = self::token(Some(&token))?;
        auth.state
            .store
            .push
            .unregister(auth.who.id(), &token)
            .await?;
        Ok(done("Device removed"))
    }
}
