//! The in-process cache: correct for exactly one server process. With several replicas each would
//! count and publish alone, so the server warns at start when it runs on this adapter.
//!
//! Keys come from clients (addresses, emails), so the map is bounded: `moka` evicts by size (its
//! TinyLFU admission keeps frequently hit counters over a flood of one-off keys) and expires each
//! entry at its own deadline, with no sweep of the whole map under one lock.

use std::time::{Duration, Instant};

use moka::ops::compute::Op;
use moka::policy::Expiry;
use tokio::sync::broadcast;

use super::{Cache, CacheResult, FANOUT_CAPACITY, Message, WindowCount};
use crate::clock::SharedClock;

#[derive(Clone)]
struct Entry {
    value: String,
    expires_at: Instant,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

/// Each entry lives until its own `expires_at`; an update (a counted hit) keeps the window's end.
struct UntilDeadline;

impl Expiry<String, Entry> for UntilDeadline {
    fn expire_after_create(&self, _: &String, e: &Entry, created_at: Instant) -> Option<Duration> {
        Some(e.expires_at.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _: &String,
        e: &Entry,
        updated_at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(e.expires_at.saturating_duration_since(updated_at))
    }
}

/// Entries kept at most. A counter or a code is ~200 bytes with moka's bookkeeping, so this
/// bounds the cache near 40 MiB however many distinct keys clients make up.
pub const MAX_ENTRIES: u64 = 200_000;

pub struct MemoryCache {
    entries: moka::sync::Cache<String, Entry>,
    fanout: broadcast::Sender<Message>,
    /// Decides when an entry is over. moka evicts on its own real-time clock too, which only
    /// frees memory: an entry past the clock's deadline reads as absent before that.
    clock: SharedClock,
}

impl MemoryCache {
    pub fn new(clock: SharedClock) -> Self {
        Self::with_capacity(MAX_ENTRIES, clock)
    }

    pub fn with_capacity(max_entries: u64, clock: SharedClock) -> Self {
        MemoryCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(UntilDeadline)
                .build(),
            fanout: broadcast::channel(FANOUT_CAPACITY).0,
            clock,
        }
    }

    /// Entries held now (after pending evictions are applied); for tests of the bound.
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn live(&self, key: &str, now: Instant) -> Option<Entry> {
        self.entries.get(key).filter(|e| e.live(now))
    }
}

fn count_of(e: &Entry) -> u64 {
    e.value.parse().unwrap_or(0)
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
        let now = self.clock.instant();
        // `and_compute_with` runs one closure at a time per key: concurrent hits never lose a count.
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let next = match current.map(|e| e.into_value()).filter(|e| e.live(now)) {
                    Some(e) => Entry {
                        value: (count_of(&e) + 1).to_string(),
                        expires_at: e.expires_at,
                    },
                    None => Entry {
                        value: "1".into(),
                        expires_at: now + window,
                    },
                };
                Op::Put(next)
            });
        let entry = result
            .into_entry()
            .expect("a Put always leaves an entry")
            .into_value();
        Ok(WindowCount {
            count: count_of(&entry),
            resets_in: entry.expires_at.saturating_duration_since(now),
        })
    }

    async fn release(&self, key: &str) -> CacheResult<()> {
        let now = self.clock.instant();
        self.entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                match current.map(|e| e.into_value()).filter(|e| e.live(now)) {
                    Some(e) if count_of(&e) > 0 => Op::Put(Entry {
                        value: (count_of(&e) - 1).to_string(),
                        expires_at: e.expires_at,
                    }),
                    _ => Op::Nop,
                }
            });
        Ok(())
    }

    async fn peek(&self, key: &str) -> CacheResult<Option<WindowCount>> {
        let now = self.clock.instant();
        Ok(self.live(key, now).map(|e| WindowCount {
            count: count_of(&e),
            resets_in: e.expires_at.saturating_duration_since(now),
        }))
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()> {
        self.entries.insert(
            key.to_owned(),
            Entry {
                value: value.to_owned(),
                expires_at: self.clock.instant() + ttl,
            },
        );
        Ok(())
    }

    async fn get(&self, key: &str) -> CacheResult<Option<String>> {
        Ok(self.live(key, self.clock.instant()).map(|e| e.value))
    }

    async fn take(&self, key: &str) -> CacheResult<Option<String>> {
        let now = self.clock.instant();
        Ok(self
            .entries
            .remove(key)
            .filter(|e| e.live(now))
            .map(|e| e.value))
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        self.entries.invalidate(key);
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
