//! The one source of time. Everything that stamps, expires or schedules by time asks the state's
//! `Clock`, so a test can move time instead of sleeping, and every replica's code reads the same
//! kind of time. I/O timeouts (sockets, drivers, drains) stay on tokio's timer: they bound waiting,
//! they are not business time.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::Millis;

/// Wall time for what is stored or sent (`createdAt`, token `iat`/`exp`), and a monotonic instant
/// for what only measures elapsed time in this process (cache TTLs, key-set freshness).
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Millis;
    fn instant(&self) -> Instant;
}

/// The clock shared through the state.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's clocks: production.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        Millis(chrono::Utc::now().timestamp_millis())
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock tests move: it follows the system clock (so a test that never touches it sees time pass
/// as usual) shifted by every [`advance`](TestClock::advance). [`set`](TestClock::set) stops wall
/// time at a value (moved only by `advance` from then on), so a test can predict a stamp exactly;
/// instants keep flowing, so nothing measured in this process ever runs backwards.
#[derive(Debug, Default)]
pub struct TestClock {
    state: Mutex<Shift>,
}

#[derive(Debug, Default)]
struct Shift {
    /// Added to the system's wall time and instants.
    ahead: Duration,
    /// Set: wall time stands still here.
    frozen: Option<Millis>,
}

impl TestClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves wall time and instants forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut s = self.lock();
        s.ahead += by;
        if let Some(wall) = s.frozen.as_mut() {
            *wall = Millis(wall.0.saturating_add(millis(by)));
        }
    }

    /// Stops wall time at `at`.
    pub fn set(&self, at: Millis) {
        self.lock().frozen = Some(at);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shift> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Clock for TestClock {
    fn now(&self) -> Millis {
        let s = self.lock();
        match s.frozen {
            Some(wall) => wall,
            None => Millis(SystemClock.now().0.saturating_add(millis(s.ahead))),
        }
    }

    fn instant(&self) -> Instant {
        Instant::now() + self.lock().ahead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_both_times_and_set_stops_wall_time() {
        let clock = TestClock::new();
        let (wall, instant) = (clock.now(), clock.instant());
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now().0 >= wall.0 + 3_600_000);
        assert!(clock.instant() >= instant + Duration::from_secs(3600));

        clock.set(Millis(1_000));
        assert_eq!(clock.now(), Millis(1_000));
        assert_eq!(clock.now(), Millis(1_000), "stands still");
        let before = clock.instant();
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.now(), Millis(1_250));
        assert!(clock.instant() >= before + Duration::from_millis(250));
    }
}
