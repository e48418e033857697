//! The in-process cache: correct for exactly one server process. With several replicas each would
//! count and publish alone, so the server warns at start when it runs on this adapter.
//!
//! Keys come from clients (addresses, emails), so the map is bounded: `moka` evicts by size (its
//! TinyLFU admission keeps frequently hit counters over a flood of one-off keys) and expires each
//! entry at its own deadline, with no sweep of the whole map under one lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::ops::compute::Op;
use moka::policy::Expiry;
use tokio::sync::broadcast;

use super::{Cache, CacheResult, FANOUT_CAPACITY, Message, WindowCount};
use crate::clock::SharedClock;

#[derive(Clone)]
struct Entry {
    value: Value,
    expires_at: Instant,
}

/// A counter is an atomic shared by the clones of its entry, so that a hit on an open window is a
/// read of the map and an increment: no write to the map, no per-key lock, no allocation (the
/// general rate limit counts every request; moka's `and_compute_with` and the count kept as text
/// were 7% of an authenticated read, issue 13). Text values are shared the same way, so that a
/// read copies a pointer, not the text.
#[derive(Clone)]
enum Value {
    Count(Arc<AtomicU64>),
    Text(Arc<str>),
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at > now
    }

    fn count(&self) -> u64 {
        match &self.value {
            Value::Count(n) => n.load(Ordering::Relaxed),
            Value::Text(t) => t.parse().unwrap_or(0),
        }
    }

    fn counter(count: u64, expires_at: Instant) -> Entry {
        Entry {
            value: Value::Count(Arc::new(AtomicU64::new(count))),
            expires_at,
        }
    }

    fn text(&self) -> String {
        match &self.value {
            Value::Count(n) => n.load(Ordering::Relaxed).to_string(),
            Value::Text(t) => t.to_string(),
        }
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
        if let Some(e) = self.live(key, now)
            && let Value::Count(n) = &e.value
        {
            return Ok(WindowCount {
                count: n.fetch_add(1, Ordering::Relaxed) + 1,
                resets_in: e.expires_at.saturating_duration_since(now),
            });
        }
        // No open window (or a text value): `and_compute_with` runs one closure at a time per
        // key, so two first hits make one window and both count.
        let mut counted = 1;
        let result = self.entries.entry_by_ref(key).and_compute_with(|current| {
            match current.map(|e| e.into_value()).filter(|e| e.live(now)) {
                Some(Entry {
                    value: Value::Count(n),
                    ..
                }) => {
                    counted = n.fetch_add(1, Ordering::Relaxed) + 1;
                    Op::Nop
                }
                Some(e) => {
                    counted = e.count() + 1;
                    Op::Put(Entry::counter(counted, e.expires_at))
                }
                None => Op::Put(Entry::counter(1, now + window)),
            }
        });
        let entry = result
            .into_entry()
            .expect("a live entry or a Put leaves an entry")
            .into_value();
        Ok(WindowCount {
            count: counted,
            resets_in: entry.expires_at.saturating_duration_since(now),
        })
    }

    async fn release(&self, key: &str) -> CacheResult<()> {
        let now = self.clock.instant();
        if let Some(e) = self.live(key, now)
            && let Value::Count(n) = &e.value
        {
            // Never below zero.
            let _ = n.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_sub(1));
            return Ok(());
        }
        self.entries.entry_by_ref(key).and_compute_with(|current| {
            match current.map(|e| e.into_value()).filter(|e| e.live(now)) {
                Some(e) if matches!(e.value, Value::Text(_)) && e.count() > 0 => {
                    Op::Put(Entry::counter(e.count() - 1, e.expires_at))
                }
                Some(Entry {
                    value: Value::Count(n),
                    ..
                }) => {
                    let _ =
                        n.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_sub(1));
                    Op::Nop
                }
                _ => Op::Nop,
            }
        });
        Ok(())
    }

    async fn peek(&self, key: &str) -> CacheResult<Option<WindowCount>> {
        let now = self.clock.instant();
        Ok(self.live(key, now).map(|e| WindowCount {
            count: e.count(),
            resets_in: e.expires_at.saturating_duration_since(now),
        }))
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()> {
        self.entries.insert(
            key.to_owned(),
            Entry {
                value: Value::Text(value.into()),
                expires_at: self.clock.instant() + ttl,
            },
        );
        Ok(())
    }

    async fn get(&self, key: &str) -> CacheResult<Option<String>> {
        Ok(self.live(key, self.clock.instant()).map(|e| e.text()))
    }

    async fn take(&self, key: &str) -> CacheResult<Option<String>> {
        let now = self.clock.instant();
        Ok(self
            .entries
            .remove(key)
            .filter(|e| e.live(now))
            .map(|e| e.text()))
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
