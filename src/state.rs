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
use crate::readiness::Readiness;
use crate::realtime::Realtime;
use crate::store::Store;

/// Cloning is cheap.
#[derive(Clone)]
pub struct AppState {
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
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        cache: Arc<dyn Cache>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        Ok(AppState {
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
        })
    }
}
