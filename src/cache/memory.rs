//! The in-process cache: correct for exactly one server process. With several replicas each would
//! count and publish alone, so the server warns at start when it runs on this adapter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::{Cache, CacheResult, FANOUT_CAPACITY, Message, WindowCount};

struct Entry {
    value: String,
    expires_at: Instant,
}

pub struct MemoryCache {
    entries: Mutex<HashMap<String, Entry>>,
    fanout: broadcast::Sender<Message>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Above this many entries, expired ones are swept on the next write (bounded memory under a
/// flood of distinct rate-limit keys).
const SWEEP_THRESHOLD: usize = 10_000;

impl MemoryCache {
    pub fn new() -> Self {
        MemoryCache {
            entries: Mutex::new(HashMap::new()),
            fanout: broadcast::channel(FANOUT_CAPACITY).0,
        }
    }

    fn with_entries<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T) -> T {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.len() > SWEEP_THRESHOLD {
            entries.retain(|_, e| e.expires_at > now);
        }
        f(&mut entries, now)
    }
}

fn live(entries: &HashMap<String, Entry>, key: &str, now: Instant) -> Option<String> {
    entries
        .get(key)
        .filter(|e| e.expires_at > now)
        .map(|e| e.value.clone())
}

#[async_trait::async_trait]
impl Cache for MemoryCache {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> CacheResult<()> {
        Ok(())
    }

    async fn hit(&self, key: &str, window: Duration) -> CacheResult<WindowCount> {
        Ok(self.with_entries(|entries, now| {
            let entry = entries
                .entry(key.to_owned())
                .and_modify(|e| {
                    if e.expires_at <= now {
                        *e = Entry {
                            value: "0".into(),
                            expires_at: now + window,
                        };
                    }
                })
                .or_insert_with(|| Entry {
                    value: "0".into(),
                    expires_at: now + window,
                });
            let count = entry.value.parse::<u64>().unwrap_or(0) + 1;
            entry.value = count.to_string();
            WindowCount {
                count,
                resets_in: entry.expires_at - now,
            }
        }))
    }

    async fn peek(&self, key: &str) -> CacheResult<Option<WindowCount>> {
        Ok(self.with_entries(|entries, now| {
            entries
                .get(key)
                .filter(|e| e.expires_at > now)
                .map(|e| WindowCount {
                    count: e.value.parse().unwrap_or(0),
                    resets_in: e.expires_at - now,
                })
        }))
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()> {
        self.with_entries(|entries, now| {
            entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_owned(),
                    expires_at: now + ttl,
                },
            );
        });
        Ok(())
    }

    async fn get(&self, key: &str) -> CacheResult<Option<String>> {
        Ok(self.with_entries(|entries, now| live(entries, key, now)))
    }

    async fn take(&self, key: &str) -> CacheResult<Option<String>> {
        Ok(self.with_entries(|entries, now| {
            let value = live(entries, key, now);
            entries.remove(key);
            value
        }))
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        self.with_entries(|entries, _| entries.remove(key));
        Ok(())
    }

    async fn publish(&self, channel: &str, payload: &str) -> CacheResult<()> {
        // No subscriber is not an error: nobody is connected to hear it.
        let _ = self.fanout.send(Message {
            channel: channel.to_owned(),
            payload: payload.to_owned(),
        });
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.fanout.subscribe()
    }
}
