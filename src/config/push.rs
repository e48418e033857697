//! Push through FCM HTTP v1 (`src/push`).

use std::time::Duration;

use secrecy::SecretString;

use super::settings::Settings;

/// Push through FCM HTTP v1 (`src/push`). Without a service-account key push is off (a warning at
/// start); devices still register and notifications are still stored.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// The service-account JSON, base64 (parsed by `push::ServiceAccount`, which warns when unusable).
    pub service_account_key: Option<SecretString>,
    pub api_base: String,
    /// Overrides the key's `token_uri` (tests).
    pub token_uri: Option<String>,
    pub max_devices_per_account: usize,
    pub retry_deadline: Duration,
    pub initial_backoff: Duration,
    /// How long a claimed outbox row stays this replica's (at least 30 s of sending time).
    pub lease: Duration,
}

pub(super) fn push(s: &Settings) -> PushConfig {
    PushConfig {
        service_account_key: s.firebase_service_account_key_base64.clone(),
        api_base: s.fcm_api_base.trim_end_matches('/').to_owned(),
        token_uri: s.fcm_token_uri.clone(),
        max_devices_per_account: s.push_max_devices_per_account.max(1),
        retry_deadline: s.push_retry_deadline,
        initial_backoff: s.push_retry_initial_backoff,
        lease: s.push_lease.max(Duration::from_secs(1)),
    }
}
