//! Short-lived shared state: rate-limit counters, single-use codes, and pub/sub for realtime fan-out.
//! Redis when several replicas must agree; in-process memory for a single instance.

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::sync::broadcast;

use crate::clock::SharedClock;
use crate::config::CacheConfig;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("the cache is unavailable: {0}")]
    Unavailable(String),
}

pub type CacheResult<T> = Result<T, CacheError>;

/// The state of a fixed-window counter after one hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowCount {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// Time until the window resets.
    pub resets_in: Duration,
}

/// A message on a pub/sub channel, delivered to every subscriber of every replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub channel: String,
    pub payload: String,
}

#[async_trait::async_trait]
pub trait Cache: Send + Sync {
    fn name(&self) -> &'static str;
    async fn ping(&self) -> CacheResult<()>;
    /// Counts one hit on `key` in a fixed window of `window` starting at the first hit.
    async fn hit(&self, key: &str, window: Duration) -> CacheResult<WindowCount>;
    /// Takes back one hit on `key` (never below zero), keeping its window; nothing when there is
    /// no open window. A reservation made with `hit` before checking a secret is released this way
    /// when the secret was right or was never checked.
    async fn release(&self, key: &str) -> CacheResult<()>;
    /// The open window of `key` without counting a hit; `None` when there is none.
    async fn peek(&self, key: &str) -> CacheResult<Option<WindowCount>>;
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()>;
    async fn get(&self, key: &str) -> CacheResult<Option<String>>;
    /// Reads and deletes in one step, so a single-use value is used once even under races.
    async fn take(&self, key: &str) -> CacheResult<Option<String>>;
    async fn delete(&self, key: &str) -> CacheResult<()>;
    async fn publish(&self, channel: &str, payload: &str) -> CacheResult<()>;
    /// Every message published from now on, on any channel.
    fn subscribe(&self) -> broadcast::Receiver<Message>;
    /// Whether messages published by other replicas reach this one now (readiness reports it).
    fn subscribed(&self) -> bool {
        true
    }
}

/// `clock` times the in-process cache's entries; Redis keeps time itself.
pub async fn open(
    config: &CacheConfig,
    key_prefix: &str,
    clock: SharedClock,
) -> anyhow::Result<Arc<dyn Cache>> {
    Ok(match config {
        CacheConfig::Memory => Arc::new(memory::MemoryCache::new(clock)),
        CacheConfig::Redis { url } => {
            Arc::new(redis::RedisCache::open(url.expose_secret(), key_prefix)?)
        }
    })
}

/// Capacity of the local fan-out of pub/sub messages; a subscriber that lags further loses the
/// oldest messages (and is told so by `RecvError::Lagged`).
const FANOUT_CAPACITY: usize = 1024;
