//! Brute-force limits on everything guessable (passwords, passcodes, reset codes), counted in the
//! cache so that every replica enforces the same budget. They fail closed: when the cache is down
//! the guarded route answers 503 rather than letting guesses through unmetered.
//!
//! Every attempt *reserves* its place in the counters (one atomic increment each) before the
//! secret is checked, so 200 parallel guesses see the counts 1..=200 and only those within budget
//! are checked. A right secret gives its reservation back; a wrong one keeps it. The policy and its
//! figures are in docs/decisions.md ("Brute-force limits").

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::{Cache, CacheError, WindowCount};
use crate::config::RateLimitConfig;
use crate::ops::metrics;

/// Why an attempt is not let through. The HTTP edge answers 429 with `Retry-After`, or 503.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("Too many requests. Please wait and try again.")]
    RateLimited { retry_after: Duration },
    /// The counters cannot be read: limits fail closed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// The unit a per-address limit counts: an IPv4 address, or an IPv6 /64 (one subscriber's
/// network: a client can pick any of its 2^64 addresses).
pub fn address_bucket(ip: IpAddr) -> String {
    address_key("", ip)
}

/// `prefix` followed by the address's bucket, built in one allocation: the general rate limit
/// builds one per request.
pub fn address_key(prefix: &str, ip: IpAddr) -> String {
    use std::fmt::Write;
    // "ffff:ffff:ffff:ffff::/64" is the longest bucket.
    let mut key = String::with_capacity(prefix.len() + 24);
    key.push_str(prefix);
    let _ = match canonical(ip) {
        IpAddr::V4(v4) => write!(key, "{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            write!(key, "{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    };
    key
}

/// The network around an address: IPv4 /24, IPv6 /48 (one site).
pub fn network_bucket(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// `::ffff:a.b.c.d` is the IPv4 address it carries, not an IPv6 network of its own.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What an attempt is counted against. Address keys hold an [`address_bucket`] or
/// [`network_bucket`].
#[derive(Clone, Debug)]
pub enum Key {
    /// Failed password logins from one address (any account).
    AddressFailures(String),
    /// Failed password logins on one account (an email, any address).
    AccountFailures(String),
    /// The slow lane of an address past its password budget: one attempt per period.
    AddressSlowLane(String),
    /// Failed passcodes from one address.
    PasscodeAddress(String),
    /// Failed passcodes from one network.
    PasscodeNetwork(String),
    /// The slow lane of an address past its passcode budget.
    PasscodeSlowLane(String),
    /// Failed passcodes from anywhere: past this the platform is under attack (see `passcode`).
    PasscodeFailures,
    /// Taken-passcode answers (409) one teacher got at create-student.
    TakenPasscodes(String),
    /// Teacher sign-ups from one address.
    SignUps(String),
    /// Password-reset emails requested for one email, short and daily budgets.
    ResetRequests(String),
    ResetRequestsDaily(String),
    /// Wrong reset codes for one email per day: past it the email is locked until the day ends.
    CodeFailures(String),
    /// Wrong reset codes from one address.
    CodeAddress(String),
    /// Payment intents created from one address.
    PaymentAddress(String),
    /// Payment intents created toward one project (any address).
    PaymentProject(String),
}

impl Key {
    /// The key's row: its metric label, the prefix of its cache key, and what it counts (an address,
    /// a network, an email, a teacher or a project; nothing for the global count). One table, so a
    /// new key cannot get a cache key without a label.
    fn row(&self) -> (&'static str, &'static str, &str) {
        match self {
            Key::AddressFailures(a) => ("login_address", "login:fail:ip:", a),
            Key::AccountFailures(email) => ("login_account", "login:fail:acct:", email),
            Key::AddressSlowLane(a) => ("login_address", "login:slow:ip:", a),
            Key::PasscodeAddress(a) => ("passcode_address", "login:passcode:ip:", a),
            Key::PasscodeNetwork(n) => ("passcode_network", "login:passcode:net:", n),
            Key::PasscodeSlowLane(a) => ("passcode_address", "login:passcode:slow:", a),
            Key::PasscodeFailures => ("passcode_global", "login:passcode:fail:global", ""),
            Key::TakenPasscodes(teacher) => ("passcode_taken", "passcode:taken:", teacher),
            Key::SignUps(a) => ("signup", "signup:ip:", a),
            Key::ResetRequests(email) => ("password_reset", "reset:req:", email),
            Key::ResetRequestsDaily(email) => ("password_reset", "reset:req:day:", email),
            Key::CodeFailures(email) => ("reset_code_account", "reset:code:fail:", email),
            Key::CodeAddress(a) => ("reset_code_address", "reset:code:ip:", a),
            Key::PaymentAddress(a) => ("payment_address", "payment:ip:", a),
            Key::PaymentProject(p) => ("payment_project", "payment:project:", p),
        }
    }

    fn cache_key(&self) -> String {
        let (_, prefix, subject) = self.row();
        format!("{prefix}{subject}")
    }

    fn label(&self) -> &'static str {
        self.row().0
    }
}

const DAY: Duration = Duration::from_secs(24 * 3600);
/// Password-reset emails per email per login window: enough for a typo or two, not for mail bombing.
const RESET_REQUESTS: u64 = 3;
/// Reset codes per email per day: each code allows 5 tries, so this alone would allow 30 a day.
const RESET_REQUESTS_DAILY: u64 = 6;
/// Wrong reset codes per email per day before it is locked for the rest of the day: 10 guesses
/// at a 4-digit code are a 0.1% chance a day.
const CODE_FAILURES_DAILY: u64 = 10;
/// Wrong reset codes from one address per login window (any email).
const CODE_FAILURES_PER_ADDRESS: u64 = 10;
/// Taken-passcode answers per teacher per login window: a teacher picking codes by hand rarely
/// collides twice; each collision tells that some student has that code.
const TAKEN_PASSCODES_PER_TEACHER: u64 = 5;

#[derive(Clone)]
pub struct LoginLimits {
    cache: Arc<dyn Cache>,
    config: RateLimitConfig,
}

/// Counts held for one attempt until its secret has been checked.
#[must_use = "a reservation is settled with succeeded(), failed() or abandon()"]
pub struct Reservation {
    limits: LoginLimits,
    /// Given back when the secret was right or never checked.
    held: Vec<Key>,
    /// Forgotten altogether when the secret was right (an account's failures).
    cleared_on_success: Vec<Key>,
}

impl Reservation {
    /// The secret was right: its attempt is not a failure, and the account's failures are forgotten.
    pub async fn succeeded(self) -> Result<(), LimitError> {
        for key in &self.cleared_on_success {
            self.limits.cache.delete(&key.cache_key()).await?;
        }
        self.abandon().await
    }

    /// The secret was wrong: the reservation stays counted as a failure.
    pub fn failed(self) {}

    /// The secret was never checked (the hashing queue was full): nothing is counted.
    pub async fn abandon(self) -> Result<(), LimitError> {
        self.limits.release(&self.held).await
    }
}

/// The counts one reservation saw, by key.
struct Counts(Vec<(Key, WindowCount)>);

impl LoginLimits {
    pub fn new(cache: Arc<dyn Cache>, config: RateLimitConfig) -> Self {
        LoginLimits { cache, config }
    }

    fn budget(&self, key: &Key) -> (u64, Duration) {
        let c = &self.config;
        let w = c.login_window;
        match key {
            Key::AddressFailures(_) => (c.login_failures_per_address, w),
            Key::AccountFailures(_) => (c.login_failures_per_account, w),
            Key::AddressSlowLane(_) => (1, c.login_slow_down),
            Key::PasscodeAddress(_) => (c.passcode_failures_per_address, w),
            Key::PasscodeNetwork(_) => (c.passcode_failures_per_network, w),
            Key::PasscodeSlowLane(_) => (1, c.passcode_slow_down),
            Key::PasscodeFailures => (c.passcode_failures_global, w),
            Key::TakenPasscodes(_) => (TAKEN_PASSCODES_PER_TEACHER, w),
            Key::SignUps(_) => (c.signups_per_address, w),
            Key::ResetRequests(_) => (RESET_REQUESTS, w),
            Key::ResetRequestsDaily(_) => (RESET_REQUESTS_DAILY, DAY),
            Key::CodeFailures(_) => (CODE_FAILURES_DAILY, DAY),
            Key::CodeAddress(_) => (CODE_FAILURES_PER_ADDRESS, w),
            Key::PaymentAddress(_) => (c.payment_intents_per_address, w),
            Key::PaymentProject(_) => (c.payment_intents_per_project, w),
        }
    }

    fn refuse(&self, key: &Key, retry_after: Duration) -> LimitError {
        metrics::get()
            .rate_limited
            .with_label_values(&[key.label()])
            .inc();
        LimitError::RateLimited { retry_after }
    }

    async fn hit_all(&self, keys: &[Key]) -> Result<Counts, LimitError> {
        let mut counts = Vec::with_capacity(keys.len());
        for key in keys {
            match self.cache.hit(&key.cache_key(), self.budget(key).1).await {
                Ok(w) => counts.push((key.clone(), w)),
                Err(e) => {
                    // Give back what was already counted: this attempt is answered 503, unchecked.
                    let done: Vec<Key> = counts.into_iter().map(|(k, _)| k).collect();
                    let _ = self.release(&done).await;
                    return Err(e.into());
                }
            }
        }
        Ok(Counts(counts))
    }

    async fn release(&self, keys: &[Key]) -> Result<(), LimitError> {
        for key in keys {
            self.cache.release(&key.cache_key()).await?;
        }
        Ok(())
    }

    /// Gives back every count of a refused attempt and answers 429 for `key`.
    async fn refused(&self, counts: Counts, key: &Key, retry_after: Duration) -> LimitError {
        let keys: Vec<Key> = counts.0.into_iter().map(|(k, _)| k).collect();
        if let Err(e) = self.release(&keys).await {
            return e;
        }
        self.refuse(key, retry_after)
    }

    /// The first key over its budget, if any.
    fn over(&self, counts: &Counts) -> Option<(Key, Duration)> {
        counts
            .0
            .iter()
            .find(|(k, w)| w.count > self.budget(k).0)
            .map(|(k, w)| (k.clone(), w.resets_in))
    }

    /// One attempt against plain budgets: counted on every key, refused (and given back) when any
    /// is spent. `succeeded()` gives the counts back, so only failures use the budget.
    pub async fn reserve(&self, keys: &[Key]) -> Result<Reservation, LimitError> {
        let counts = self.hit_all(keys).await?;
        if let Some((key, retry)) = self.over(&counts) {
            return Err(self.refused(counts, &key, retry).await);
        }
        Ok(Reservation {
            limits: self.clone(),
            held: keys.to_vec(),
            cleared_on_success: Vec::new(),
        })
    }

    /// Counts an event that is never given back (a sign-up, a reset email); refuses past budget.
    pub async fn count(&self, keys: &[Key]) -> Result<(), LimitError> {
        let counts = self.hit_all(keys).await?;
        match self.over(&counts) {
            Some((key, retry)) => Err(self.refuse(&key, retry)),
            None => Ok(()),
        }
    }

    /// Past its budget an address is slowed down, not shut out: one attempt per `slot` period.
    async fn slow_lane(&self, slot: Key) -> Result<Result<(), Duration>, LimitError> {
        let w = self
            .cache
            .hit(&slot.cache_key(), self.budget(&slot).1)
            .await?;
        Ok(if w.count <= 1 {
            Ok(())
        } else {
            Err(w.resets_in)
        })
    }

    /// A password attempt on `account` from `ip`.
    ///
    /// - Each address has a budget of failures per window; past it, one attempt per slow-down
    ///   period (a school's shared address is slowed, never shut out).
    /// - Each account has a budget of failures per window; past it, only an address with no
    ///   failure in the window gets its password checked, so attackers cannot lock the owner out
    ///   while each of their addresses gets one guess per window at that account.
    pub async fn password(&self, ip: IpAddr, account: &str) -> Result<Reservation, LimitError> {
        let address = address_bucket(ip);
        let by_address = Key::AddressFailures(address.clone());
        let by_account = Key::AccountFailures(account.to_owned());
        let counts = self
            .hit_all(&[by_address.clone(), by_account.clone()])
            .await?;
        let (a, c) = (counts.0[0].1, counts.0[1].1);
        let clean_address = a.count == 1;
        if c.count > self.budget(&by_account).0 && !clean_address {
            return Err(self.refused(counts, &by_account, c.resets_in).await);
        }
        if a.count > self.budget(&by_address).0
            && let Err(wait) = self.slow_lane(Key::AddressSlowLane(address)).await?
        {
            return Err(self.refused(counts, &by_address, wait).await);
        }
        Ok(Reservation {
            limits: self.clone(),
            held: vec![by_address],
            cleared_on_success: vec![by_account],
        })
    }

    /// A student passcode attempt from `ip` (the passcode alone identifies the student).
    ///
    /// - A budget of failures per address; past it, one attempt per slow-down period.
    /// - Past the network's budget or the global one, only addresses with no failure in their
    ///   window are checked (one guess per attacking address): a right passcode from a clean
    ///   address is never refused because of other people's failures.
    pub async fn passcode(&self, ip: IpAddr) -> Result<Reservation, LimitError> {
        let address = address_bucket(ip);
        let keys = [
            Key::PasscodeAddress(address.clone()),
            Key::PasscodeNetwork(network_bucket(ip)),
            Key::PasscodeFailures,
        ];
        let counts = self.hit_all(&keys).await?;
        let (a, n, g) = (counts.0[0].1, counts.0[1].1, counts.0[2].1);
        let under_attack = g.count > self.budget(&keys[2]).0;
        let clean_address = a.count == 1;
        if n.count > self.budget(&keys[1]).0 && !clean_address {
            return Err(self.refused(counts, &keys[1], a.resets_in).await);
        }
        if under_attack && !clean_address {
            return Err(self.refused(counts, &keys[2], a.resets_in).await);
        }
        if a.count > self.budget(&keys[0]).0
            && let Err(wait) = self.slow_lane(Key::PasscodeSlowLane(address)).await?
        {
            return Err(self.refused(counts, &keys[0], wait).await);
        }
        Ok(Reservation {
            limits: self.clone(),
            held: keys.to_vec(),
            cleared_on_success: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache keys and labels are those Redis and the metrics have held since the keys were
    /// introduced (a change would reset every running count at a deploy).
    #[test]
    fn keys_and_labels() {
        use Key::*;
        let x = || "x".to_owned();
        let keys = [
            AddressFailures(x()),
            AccountFailures(x()),
            AddressSlowLane(x()),
            PasscodeAddress(x()),
            PasscodeNetwork(x()),
            PasscodeSlowLane(x()),
            PasscodeFailures,
            TakenPasscodes(x()),
            SignUps(x()),
            ResetRequests(x()),
            ResetRequestsDaily(x()),
            CodeFailures(x()),
            CodeAddress(x()),
            PaymentAddress(x()),
            PaymentProject(x()),
        ];
        let rows: Vec<String> = keys
            .iter()
            .map(|k| format!("{} {}", k.cache_key(), k.label()))
            .collect();
        assert_eq!(
            rows.join(", "),
            "login:fail:ip:x login_address, login:fail:acct:x login_account, \
             login:slow:ip:x login_address, login:passcode:ip:x passcode_address, \
             login:passcode:net:x passcode_network, login:passcode:slow:x passcode_address, \
             login:passcode:fail:global passcode_global, passcode:taken:x passcode_taken, \
             signup:ip:x signup, reset:req:x password_reset, reset:req:day:x password_reset, \
             reset:code:fail:x reset_code_account, reset:code:ip:x reset_code_address, \
             payment:ip:x payment_address, payment:project:x payment_project"
        );
    }

    #[test]
    fn buckets() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(address_bucket(ip("10.1.2.3")), "10.1.2.3");
        assert_eq!(address_bucket(ip("::ffff:10.1.2.3")), "10.1.2.3");
        assert_eq!(
            address_bucket(ip("2001:db8:1:2:aaaa::1")),
            address_bucket(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_eq!(address_bucket(ip("2001:db8:1:2::9")), "2001:db8:1:2::/64");
        assert_ne!(
            address_bucket(ip("2001:db8:1:2::1")),
            address_bucket(ip("2001:db8:1:3::1"))
        );
        assert_eq!(network_bucket(ip("10.1.2.3")), "10.1.2.0/24");
        assert_eq!(network_bucket(ip("2001:db8:1:2::1")), "2001:db8:1::/48");
    }
}
