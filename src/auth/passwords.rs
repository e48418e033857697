//! Password hashing off the async workers, with bounded concurrency: argon2 is CPU-bound by design,
//! so a login storm queues here instead of taking every core from the rest of the server.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::domain::password::{self, Verified};

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

impl Passwords {
    /// One hash at a time per core, leaving one core for serving everything else.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Passwords {
            permits: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))),
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        tokio::task::spawn_blocking(f)
            .await
            .expect("password hashing does not panic")
    }

    pub async fn hash(&self, password: &str) -> String {
        let password = password.to_owned();
        self.run(move || password::hash(&password)).await
    }

    /// Verifies against `stored`, or against a dummy hash when there is no account (or it has no
    /// password), so that both cost the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Verified {
        let (password, stored) = (password.to_owned(), stored.map(str::to_owned));
        self.run(move || match stored {
            Some(hash) => password::verify(&password, &hash),
            None => {
                password::verify_dummy(&password);
                Verified::No
            }
        })
        .await
    }
}
