//! Password hashing off the async workers, with bounded concurrency and bounded waiting: argon2 is
//! CPU-bound by design, so at most one hash per core but one runs at a time, each on a thread of
//! its own that keeps its memory block, and a request that cannot get a slot within `wait` is
//! answered 503 with `Retry-After` instead of queueing behind a guessing storm.
//!
//! The hashing threads are not tokio's blocking pool but threads of their own under `SCHED_BATCH`
//! (Linux): the scheduler takes them for CPU-bound, keeps their fair share of the CPU, and
//! mildly disfavours them at wakeups (sched(7)), so a request worker woken during a login storm
//! is not kept waiting behind a hash (issue 13: health's p99 during the storm). They start with
//! `Passwords` and end when its last clone is dropped.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::Block;
use tokio::sync::{Semaphore, oneshot};

use crate::domain::password::{self, Verified};

/// No hashing slot came free in time; the request may be retried after `retry_after`.
#[derive(Debug, Clone, Copy)]
pub struct Busy {
    pub retry_after: Duration,
}

/// One hash to run, in the block of the thread that takes it.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Taken by the first thread free; a permit guarantees one is free.
    jobs: mpsc::Sender<Job>,
    wait: Duration,
}

impl Passwords {
    /// One hash at a time per core, leaving one core for serving everything else.
    pub fn new(wait: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_slots(cores.saturating_sub(1).max(1), wait)
    }

    pub fn with_slots(slots: usize, wait: Duration) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..slots {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("educoin-hash-{i}"))
                .spawn(move || hashing_thread(&queue))
                .expect("a hashing thread starts");
        }
        Passwords {
            permits: Arc::new(Semaphore::new(slots)),
            jobs,
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
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |mem| {
            let _ = reply.send(f(mem));
        });
        self.jobs
            .send(job)
            .expect("the hashing threads live as long as a sender");
        let value = answer.await.expect("password hashing does not panic");
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

/// Runs jobs until every sender is gone. The block is allocated at the first job and reused by
/// every later one (see `domain::password::memory`); a job that panics loses nothing but its
/// answer (the caller's `expect` reports it), and the thread goes on.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    batch_priority();
    let mut block: Option<Vec<Block>> = None;
    loop {
        let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(mpsc::RecvError) => return,
        };
        let mem = block.get_or_insert_with(password::memory);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(mem)));
    }
}

/// `SCHED_BATCH` for the calling thread (same nice value, so the same share of the CPU). Needs no
/// privilege; where it is refused the thread stays as it was.
fn batch_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain syscall on the calling thread (pid 0) with a valid, initialised param.
        let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn hashes_and_verifies_on_its_own_threads() {
        let p = Passwords::with_slots(1, WAIT);
        let stored = p.hash("correct horse").await.unwrap();
        assert_eq!(
            p.verify("correct horse", Some(&stored)).await.unwrap(),
            Verified::Yes { rehash: false }
        );
        assert_eq!(
            p.verify("wrong horse", Some(&stored)).await.unwrap(),
            Verified::No
        );
        assert_eq!(p.verify("anything", None).await.unwrap(), Verified::No);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_are_batch_scheduled() {
        let p = Passwords::with_slots(1, WAIT);
        // SAFETY: queries the calling thread's policy; no memory is passed.
        let policy = p
            .run(|_| unsafe { libc::sched_getscheduler(0) })
            .await
            .unwrap();
        assert_eq!(policy, libc::SCHED_BATCH);
    }

    #[tokio::test]
    async fn a_panicking_job_leaves_the_slot_usable() {
        let p = Passwords::with_slots(1, WAIT);
        let q = p.clone();
        let failed = tokio::spawn(async move { q.run(|_| -> u8 { panic!("boom") }).await }).await;
        assert!(failed.is_err(), "the caller sees the panic");
        // The one slot's thread and permit are back.
        assert_eq!(
            p.run(|mem| mem.len()).await.unwrap(),
            password::MEMORY_KIB as usize
        );
    }
}
