//! Password hashing off the async workers, with bounded concurrency and bounded waiting: argon2 is
//! CPU-bound by design, so at most one hash per core but one runs at a time, each in a memory block
//! kept for its slot, and a request that cannot get a slot within `wait` is answered 503 with
//! `Retry-After` instead of queueing behind a guessing storm.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::Block;
use tokio::sync::Semaphore;

use crate::domain::password::{self, Verified};

/// No hashing slot came free in time; the request may be retried after `retry_after`.
#[derive(Debug, Clone, Copy)]
pub struct Busy {
    pub retry_after: Duration,
}

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// One argon2 working memory per permit, reused by every hash (see `domain::password::memory`).
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    wait: Duration,
}

impl Passwords {
    /// One hash at a time per core, leaving one core for serving everything else.
    pub fn new(wait: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_slots(cores.saturating_sub(1).max(1), wait)
    }

    pub fn with_slots(slots: usize, wait: Duration) -> Self {
        Passwords {
            permits: Arc::new(Semaphore::new(slots)),
            memory: Arc::new(Mutex::new((0..slots).map(|_| password::memory()).collect())),
            wait,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = match tokio::time::timeout(self.wait, self.permits.acquire()).await {
            Ok(p) => p.expect("the semaphore is never closed"),
            Err(_) => {
                return Err(Busy {
                    retry_after: self.wait.max(Duration::from_secs(1)),
                });
            }
        };
        // A permit guarantees a block is free; a block lost to a panic is replaced here.
        let mut block = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(password::memory);
        let (value, block) = tokio::task::spawn_blocking(move || {
            let value = f(&mut block);
            (value, block)
        })
        .await
        .expect("password hashing does not panic");
        self.memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(block);
        drop(permit);
        Ok(value)
    }

    pub async fn hash(&self, password: &str) -> Result<String, Busy> {
        let password = password.to_owned();
        self.run(move |mem| password::hash_in(&password, mem)).await
    }

    /// Verifies against `stored`, or against a dummy hash when there is no account (or it has no
    /// password), so that both cost the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verified, Busy> {
        let (password, stored) = (password.to_owned(), stored.map(str::to_owned));
        self.run(move |mem| match stored {
            Some(hash) => password::verify_in(&password, &hash, mem),
            None => {
                password::verify_dummy_in(&password, mem);
                Verified::No
            }
        })
        .await
    }
}
