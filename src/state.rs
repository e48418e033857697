//! What handlers share: the application's parts, built once from the configuration. A leaf under
//! the handlers: it knows the parts (store, cache, auth, mail, realtime, clock), not the routes
//! that use them (those are the composition root's, `app.rs`).

use std::sync::Arc;

use crate::auth::Auth;
use crate::cache::Cache;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::mail::Mailer;
use crate::payments::stripe::StripeClient;
use crate::push::{Fcm, ServiceAccount};
use crate::readiness::Readiness;
use crate::realtime::Realtime;
use crate::store::Store;

/// Cloning is one reference count: the state is attached to every request (`http::middleware::
/// Guard`), and a count per part (about thirty, shared by every worker thread) was as many atomic
/// increments and decrements per request on cache lines that both cores write (issue 13).
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Parts {
    pub config: Arc<Config>,
    pub store: Store,
    pub cache: Arc<dyn Cache>,
    pub readiness: Arc<Readiness>,
    pub auth: Arc<Auth>,
    pub mailer: Arc<Mailer>,
    pub realtime: Arc<Realtime>,
    /// The time every handler, token and job reads (`SystemClock` in production).
    pub clock: SharedClock,
    /// `None` when Stripe is not configured (payment routes answer 503).
    pub stripe: Option<Arc<StripeClient>>,
    /// FCM, when a usable service-account key is configured (`None`: push is off).
    pub push: Option<Arc<Fcm>>,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        cache: Arc<dyn Cache>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        Ok(AppState(Arc::new(Parts {
            push: fcm(&config, &clock),
            readiness: Arc::new(Readiness::new(store.clone(), cache.clone())),
            auth: Arc::new(Auth::new(&config, &store, cache.clone(), clock.clone())?),
            mailer: Arc::new(Mailer::new(
                config.email.as_ref(),
                config.environment.is_production(),
            )?),
            realtime: Arc::new(Realtime::new(
                cache.clone(),
                config.realtime_legacy_broadcast,
                &config.realtime_sessions,
                clock.clone(),
            )),
            stripe: match &config.stripe {
                Some(c) => Some(Arc::new(StripeClient::new(c)?)),
                None => None,
            },
            config,
            store,
            cache,
            clock,
        })))
    }
}

/// FCM from the configured key. An unusable key turns push off with a warning: the server still
/// starts (push is optional), and the warning names the problem, never the key.
fn fcm(config: &Config, clock: &SharedClock) -> Option<Arc<Fcm>> {
    let key = config.push.service_account_key.as_ref()?;
    let built = ServiceAccount::from_base64(key).and_then(|account| {
        Fcm::new(
            account,
            &config.push.api_base,
            config.push.token_uri.as_deref(),
            clock.clone(),
        )
        .map_err(|e| e.to_string())
    });
    match built {
        Ok(fcm) => Some(Arc::new(fcm)),
        Err(problem) => {
            tracing::warn!(
                problem = %problem,
                "FIREBASE_SERVICE_ACCOUNT_KEY_BASE64 is not a usable service-account key: push is off"
            );
            None
        }
    }
}
