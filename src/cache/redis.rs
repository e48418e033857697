//! Redis: counters and codes shared by every replica, and pub/sub so that a realtime event
//! published on one replica reaches sockets connected to all of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, Script};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::{Cache, CacheError, CacheResult, FANOUT_CAPACITY, Message, WindowCount};
use crate::ops::breaker::{Breaker, Probing};
use crate::ops::metrics;
use crate::ops::timed::{Families, timed};

const NAME: &str = "redis";

/// Times one Redis call and counts its failures.
async fn observe<T>(op: &'static str, fut: impl Future<Output = CacheResult<T>>) -> CacheResult<T> {
    let m = metrics::get();
    let families = Families {
        duration: &m.cache_duration,
        errors: &m.cache_errors,
    };
    timed(families, (NAME, op), fut, |_| true).await
}

/// A command answers in well under a millisecond on a healthy Redis: one that takes longer than
/// this finds it down or hung, and opens the breaker instead of holding the request.
const OP_TIMEOUT: Duration = Duration::from_millis(500);
/// Connecting and subscribing the pub/sub connection, past which it is retried.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest pause between two attempts to resubscribe; the breaker closing (Redis answers
/// again) ends the pause at once.
const RESUBSCRIBE_MAX_DELAY: Duration = Duration::from_secs(1);

/// One round trip: count the hit, start the window on the first one, report the time left.
const HIT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
";

/// Decrements only a live counter above zero: DECR on a missing key would create it without a TTL.
const RELEASE_SCRIPT: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n and n > 0 and redis.call('PTTL', KEYS[1]) > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
";

pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    hit_script: Script,
    release_script: Script,
    fanout: broadcast::Sender<Message>,
    subscriber: JoinHandle<()>,
    subscribed: Arc<AtomicBool>,
    breaker: Arc<Breaker>,
}

fn unavailable(e: redis::RedisError) -> CacheError {
    CacheError::Unavailable(e.to_string())
}

impl RedisCache {
    /// Connects lazily: a Redis that is down at start does not stop the server, and the
    /// connection manager reconnects by itself when it returns.
    pub fn open(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a usable Redis URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let breaker = Breaker::new(NAME, Probing::WhileOpen, {
            let conn = conn.clone();
            Arc::new(move || {
                let mut conn = conn.clone();
                Box::pin(async move { ping(&mut conn).await.is_ok() })
            })
        });
        let fanout = broadcast::channel(FANOUT_CAPACITY).0;
        let subscribed = Arc::new(AtomicBool::new(false));
        let subscriber = tokio::spawn(subscribe_forever(
            client,
            format!("{prefix}events:"),
            fanout.clone(),
            subscribed.clone(),
            breaker.clone(),
        ));
        Ok(RedisCache {
            conn,
            prefix: prefix.to_owned(),
            hit_script: Script::new(HIT_SCRIPT),
            release_script: Script::new(RELEASE_SCRIPT),
            fanout,
            subscriber,
            subscribed,
            breaker,
        })
    }

    /// Runs one command unless Redis is known to be down, within `OP_TIMEOUT`; a failure opens
    /// the breaker.
    async fn call<T>(
        &self,
        op: &'static str,
        fut: impl std::future::Future<Output = CacheResult<T>>,
    ) -> CacheResult<T> {
        if self.breaker.is_open() {
            return Err(CacheError::Unavailable(
                "redis is down (circuit open)".into(),
            ));
        }
        let result = observe(op, async move {
            tokio::time::timeout(OP_TIMEOUT, fut)
                .await
                .unwrap_or_else(|_| Err(CacheError::Unavailable("redis timed out".into())))
        })
        .await;
        if result.is_err() {
            self.breaker.report(false);
        }
        result
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

impl Drop for RedisCache {
    fn drop(&mut self) {
        self.subscriber.abort();
    }
}

/// A dedicated pub/sub connection (the connection manager cannot carry subscriptions without RESP3),
/// re-established with backoff whenever it drops. Messages published while it is down are lost:
/// realtime events are a push convenience, the stored notifications stay the source of truth.
async fn subscribe_forever(
    client: Client,
    channel_prefix: String,
    fanout: broadcast::Sender<Message>,
    subscribed: Arc<AtomicBool>,
    breaker: Arc<Breaker>,
) {
    let pattern = format!("{channel_prefix}*");
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = tokio::time::timeout(SUBSCRIBE_TIMEOUT, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.psubscribe(&pattern).await.map(|()| pubsub)
        })
        .await;
        match connected {
            Ok(Ok(mut pubsub)) => {
                subscribed.store(true, Ordering::Release);
                tracing::info!("redis pub/sub subscribed");
                backoff = Duration::from_millis(100);
                let mut stream = pubsub.on_message();
                while let Some(msg) = stream.next().await {
                    let Ok(payload) = msg.get_payload::<String>() else {
                        continue;
                    };
                    let channel = msg
                        .get_channel_name()
                        .strip_prefix(&channel_prefix)
                        .unwrap_or_default()
                        .to_owned();
                    let _ = fanout.send(Message { channel, payload });
                }
                subscribed.store(false, Ordering::Release);
                tracing::warn!("redis pub/sub connection closed; reconnecting");
                continue;
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "redis pub/sub connect failed"),
            Err(_) => tracing::debug!("redis pub/sub connect timed out"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = breaker.closed() => {}
        }
        backoff = (backoff * 2).min(RESUBSCRIBE_MAX_DELAY);
    }
}

async fn ping(conn: &mut ConnectionManager) -> CacheResult<()> {
    tokio::time::timeout(OP_TIMEOUT, redis::cmd("PING").query_async::<String>(conn))
        .await
        .map_err(|_| CacheError::Unavailable("redis timed out".into()))?
        .map(drop)
        .map_err(unavailable)
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Always asks Redis, open breaker or not, and tells the breaker what it found: the readiness
    /// probe feeds the breaker.
    async fn ping(&self) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let result = observe("ping", async move { ping(&mut conn).await }).await;
        self.breaker.report(result.is_ok());
        result
    }

    fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
    }

    async fn hit(&self, key: &str, window: Duration) -> CacheResult<WindowCount> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let window_ms = window.as_millis().max(1) as u64;
        self.call("hit", async move {
            let (count, ttl_ms): (u64, i64) = self
                .hit_script
                .key(key)
                .arg(window_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(WindowCount {
                count,
                resets_in: Duration::from_millis(ttl_ms.max(0) as u64),
            })
        })
        .await
    }

    async fn release(&self, key: &str) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        observe("release", async move {
            self.release_script
                .key(key)
                .invoke_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(unavailable)
        })
        .await
    }

    async fn peek(&self, key: &str) -> CacheResult<Option<WindowCount>> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.call("peek", async move {
            let (count, ttl_ms): (Option<u64>, i64) = redis::pipe()
                .get(&key)
                .pttl(&key)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(count.filter(|_| ttl_ms > 0).map(|count| WindowCount {
                count,
                resets_in: Duration::from_millis(ttl_ms as u64),
            }))
        })
        .await
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let ttl_ms = ttl.as_millis().max(1) as u64;
        self.call("put", async move {
            conn.pset_ex::<_, _, ()>(key, value, ttl_ms)
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn get(&self, key: &str) -> CacheResult<Option<String>> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.call(
            "get",
            async move { conn.get(key).await.map_err(unavailable) },
        )
        .await
    }

    async fn take(&self, key: &str) -> CacheResult<Option<String>> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.call("take", async move {
            redis::cmd("GETDEL")
                .arg(key)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.call("delete", async move {
            conn.del::<_, ()>(key).await.map_err(unavailable)
        })
        .await
    }

    async fn publish(&self, channel: &str, payload: &str) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let channel = format!("{}events:{channel}", self.prefix);
        self.call("publish", async move {
            conn.publish::<_, _, ()>(channel, payload)
                .await
                .map_err(unavailable)
        })
        .await
    }

    fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.fanout.subscribe()
    }
}
