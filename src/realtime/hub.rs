//! Who is connected to this process: the Socket.IO sockets by user, so that an event reaches only
//! its recipient's sockets. It also keeps the `realtime_sockets_connected` gauge: the gauge moves
//! only when a socket is really added or removed here, so it counts each socket exactly once.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ops::metrics;

/// The sockets of this process. `S` is what delivers to a socket (its Engine.IO session).
pub struct Hub<S> {
    inner: Mutex<Inner<S>>,
    max_per_user: usize,
}

struct Inner<S> {
    sockets: HashMap<String, Entry<S>>,
    /// Socket ids of each signed-in user, oldest first.
    by_user: HashMap<String, Vec<String>>,
}

struct Entry<S> {
    user: Option<String>,
    target: S,
}

impl<S: Clone> Hub<S> {
    /// A hub that keeps at most `max_per_user` sockets of one user (at least one).
    pub fn new(max_per_user: usize) -> Self {
        Hub {
            inner: Mutex::new(Inner {
                sockets: HashMap::new(),
                by_user: HashMap::new(),
            }),
            max_per_user: max_per_user.max(1),
        }
    }

    /// Adds socket `id` of `user` (`None`: an anonymous socket, legacy broadcast only). When the
    /// user already has the maximum, the oldest of their sockets are removed and returned, so that
    /// the caller tells them they were disconnected.
    pub fn register(&self, id: &str, user: Option<&str>, target: S) -> Vec<(String, S)> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut evicted = Vec::new();
        if let Some(user) = user {
            let ids = inner.by_user.entry(user.to_owned()).or_default();
            let excess = (ids.len() + 1).saturating_sub(self.max_per_user);
            let old: Vec<String> = ids.drain(..excess).collect();
            ids.push(id.to_owned());
            for old_id in old {
                if let Some(entry) = inner.sockets.remove(&old_id) {
                    metrics::get().sockets_connected.dec();
                    evicted.push((old_id, entry.target));
                }
            }
        }
        let previous = inner.sockets.insert(
            id.to_owned(),
            Entry {
                user: user.map(str::to_owned),
                target,
            },
        );
        if previous.is_none() {
            metrics::get().sockets_connected.inc();
        }
        evicted
    }

    /// Removes socket `id`; `false` when it was not registered (already removed).
    pub fn unregister(&self, id: &str) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = inner.sockets.remove(id) else {
            return false;
        };
        metrics::get().sockets_connected.dec();
        if let Some(user) = entry.user
            && let Some(ids) = inner.by_user.get_mut(&user)
        {
            ids.retain(|x| x != id);
            if ids.is_empty() {
                inner.by_user.remove(&user);
            }
        }
        true
    }

    /// The sockets of `user` on this process.
    pub fn of_user(&self, user: &str) -> Vec<S> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.sockets.get(id).map(|e| e.target.clone()))
            .collect()
    }

    /// Every socket on this process, signed in or not.
    pub fn everyone(&self) -> Vec<S> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.sockets.values().map(|e| e.target.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sockets
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_reach_only_the_recipients_sockets() {
        let hub = Hub::new(8);
        assert!(hub.register("a1", Some("alice"), "A1").is_empty());
        assert!(hub.register("a2", Some("alice"), "A2").is_empty());
        assert!(hub.register("b1", Some("bob"), "B1").is_empty());
        assert!(hub.register("x1", None, "X1").is_empty());
        let mut alice = hub.of_user("alice");
        alice.sort();
        assert_eq!(alice, ["A1", "A2"]);
        assert_eq!(hub.of_user("bob"), ["B1"]);
        assert!(hub.of_user("carol").is_empty());
        let mut all = hub.everyone();
        all.sort();
        assert_eq!(all, ["A1", "A2", "B1", "X1"]);
        assert_eq!(hub.len(), 4);
    }

    #[test]
    fn unregistering_is_exactly_once_and_forgets_empty_users() {
        let hub = Hub::new(8);
        hub.register("a1", Some("alice"), ());
        assert!(hub.unregister("a1"));
        assert!(!hub.unregister("a1"));
        assert!(hub.of_user("alice").is_empty());
        assert!(hub.is_empty());
        assert!(hub.inner.lock().unwrap().by_user.is_empty());
    }

    #[test]
    fn a_user_over_the_limit_loses_their_oldest_sockets() {
        let hub = Hub::new(2);
        hub.register("a1", Some("alice"), "A1");
        hub.register("a2", Some("alice"), "A2");
        let evicted = hub.register("a3", Some("alice"), "A3");
        assert_eq!(evicted, [("a1".to_owned(), "A1")]);
        let mut alice = hub.of_user("alice");
        alice.sort();
        assert_eq!(alice, ["A2", "A3"]);
        assert_eq!(hub.len(), 2);
        // The evicted socket is gone: removing it again changes nothing.
        assert!(!hub.unregister("a1"));
        assert_eq!(hub.len(), 2);
    }
}
