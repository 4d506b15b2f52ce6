//! Rate limits with bounded memory, for what anyone may ask without signing in (a chat, a
//! wallet challenge, a `/verify` lookup) and for second-factor codes.
//!
//! Each key (a client address, an agent) is a token bucket in its GCRA form: one instant per
//! key, the time at which its bucket is full again. Keys live in two generations; when the
//! newer one fills, keys whose bucket is full again are dropped, and if that frees too little
//! the older generation is dropped whole. So a flood of new keys (addresses rotated by an
//! attacker) costs at most `max_keys` entries, and what is forgotten is the least recently
//! seen.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ServiceError;

/// At most `max` in any `window_secs` (bursts up to `max`, then one every window/max).
/// `max = 0` turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub max: u32,
    pub window_secs: u64,
}

impl Rule {
    pub const fn new(max: u32, window_secs: u64) -> Self {
        Self { max, window_secs }
    }

    /// Time between two requests at the sustained rate.
    fn interval(&self) -> Duration {
        Duration::from_secs(self.window_secs.max(1)) / self.max.max(1)
    }

    /// How far ahead of now a key's full-again instant may be before a request is refused.
    fn tolerance(&self) -> Duration {
        Duration::from_secs(self.window_secs.max(1)).saturating_sub(self.interval())
    }
}

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<String, Instant>,
    previous: HashMap<String, Instant>,
}

/// A rate limit per key.
#[derive(Debug)]
pub struct KeyedLimiter {
    rule: Rule,
    max_keys: usize,
    keys: Mutex<Generations>,
}

impl KeyedLimiter {
    pub fn new(rule: Rule, max_keys: usize) -> Self {
        Self {
            rule,
            max_keys: max_keys.max(2),
            keys: Mutex::new(Generations::default()),
        }
    }

    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Counts one request for `key`, or refuses it (counting nothing) when over the limit.
    pub fn hit(&self, key: &str) -> Result<(), ServiceError> {
        self.hit_at(key, Instant::now())
    }

    /// Whether one more would be allowed, counting nothing: for limits on failures, checked
    /// before the attempt and counted with [`KeyedLimiter::fail`] after a failure.
    pub fn check(&self, key: &str) -> Result<(), ServiceError> {
        self.check_at(key, Instant::now())
    }

    /// Counts one failure for `key`, allowed or not.
    pub fn fail(&self, key: &str) {
        self.fail_at(key, Instant::now());
    }

    /// Forgets `key` (a success ends a run of failures).
    pub fn reset(&self, key: &str) {
        let mut g = self.lock();
        g.current.remove(key);
        g.previous.remove(key);
    }

    /// Keys remembered now, for tests and metrics.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.current.len() + g.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hit_at(&self, key: &str, now: Instant) -> Result<(), ServiceError> {
        if self.rule.max == 0 {
            return Ok(());
        }
        let mut g = self.lock();
        let full_at = Self::full_at(&g, key, now);
        let answer = self.allowed(full_at, now);
        let next = if answer.is_ok() {
            full_at + self.rule.interval()
        } else {
            full_at
        };
        // Stored even when refused: a key being refused is in use, not to be forgotten.
        self.store(&mut g, key, next, now);
        answer
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), ServiceError> {
        if self.rule.max == 0 {
            return Ok(());
        }
        let mut g = self.lock();
        let full_at = Self::full_at(&g, key, now);
        let answer = self.allowed(full_at, now);
        if answer.is_err() {
            self.store(&mut g, key, full_at, now);
        }
        answer
    }

    fn fail_at(&self, key: &str, now: Instant) {
        if self.rule.max == 0 {
            return;
        }
        let mut g = self.lock();
        let full_at = Self::full_at(&g, key, now);
        // Failures past the limit do not push the wait further than one window.
        let cap = now + self.rule.tolerance() + self.rule.interval() + self.rule.interval();
        self.store(&mut g, key, (full_at + self.rule.interval()).min(cap), now);
    }

    /// When the key's bucket is full again, never before now.
    fn full_at(g: &Generations, key: &str, now: Instant) -> Instant {
        g.current
            .get(key)
            .or_else(|| g.previous.get(key))
            .map_or(now, |t| (*t).max(now))
    }

    fn allowed(&self, full_at: Instant, now: Instant) -> Result<(), ServiceError> {
        let ahead = full_at.saturating_duration_since(now);
        let tolerance = self.rule.tolerance();
        if ahead > tolerance {
            let wait = ahead - tolerance;
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(ServiceError::RateLimited {
                retry_after_secs: secs.max(1),
            });
        }
        Ok(())
    }

    fn store(&self, g: &mut Generations, key: &str, full_at: Instant, now: Instant) {
        let half = self.max_keys / 2;
        if !g.current.contains_key(key) && g.current.len() >= half {
            // Keys whose bucket is full again are as good as new: drop them first.
            g.current.retain(|_, t| *t > now);
            g.previous.retain(|_, t| *t > now);
            if g.current.len() >= half * 3 / 4 {
                g.previous = std::mem::take(&mut g.current);
            }
        }
        g.previous.remove(key);
        g.current.insert(key.to_owned(), full_at);
        if g.current.len() + g.previous.len() > self.max_keys {
            // Only reachable when `previous` was kept: it is the older half.
            g.previous.clear();
        }
    }
}

/// The limits of one server, from configuration (`[limits]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// New chats opened by visitors the exchange did not vouch for, per client address.
    pub chat_tickets: Rule,
    /// Files uploaded into chats, per client address.
    pub chat_uploads: Rule,
    /// Wallet sign-in challenges (each writes a row), per client address.
    pub wallet_challenges: Rule,
    /// `/verify` lookups (API and page), per client address.
    pub verify: Rule,
    /// Wrong step-up codes before an action on a customer's account, per agent.
    pub step_up_failures: Rule,
    /// Keys each limit remembers at most.
    pub max_keys: usize,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            chat_tickets: Rule::new(30, 3600),
            chat_uploads: Rule::new(60, 600),
            wallet_challenges: Rule::new(30, 600),
            verify: Rule::new(60, 60),
            step_up_failures: Rule::new(5, 15 * 60),
            max_keys: 50_000,
        }
    }
}

/// The limiters, one per kind of request.
#[derive(Debug)]
pub struct RateLimits {
    pub chat_tickets: KeyedLimiter,
    pub chat_uploads: KeyedLimiter,
    pub wallet_challenges: KeyedLimiter,
    pub verify: KeyedLimiter,
    pub step_up_failures: KeyedLimiter,
}

impl RateLimits {
    pub fn new(s: &RateLimitSettings) -> Self {
        let l = |r: Rule| KeyedLimiter::new(r, s.max_keys);
        Self {
            chat_tickets: l(s.chat_tickets),
            chat_uploads: l(s.chat_uploads),
            wallet_challenges: l(s.wallet_challenges),
            verify: l(s.verify),
            step_up_failures: l(s.step_up_failures),
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(&RateLimitSettings::default())
    }
}

/// The key for a client address: the address itself, or for IPv6 its /64 network (one
/// subscriber's allocation, which holds more addresses than anyone could count).
pub fn client_key(ip: Option<&str>) -> String {
    use std::net::IpAddr;
    match ip
        .and_then(|s| s.parse::<IpAddr>().ok())
        .map(|a| a.to_canonical())
    {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(IpAddr::V4(v4)) => format!("ip:{v4}"),
        // No address (never so over HTTP): everyone without one shares a key.
        None => "ip:unknown".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn retry(r: Result<(), ServiceError>) -> u64 {
        match r {
            Err(ServiceError::RateLimited { retry_after_secs }) => retry_after_secs,
            other => panic!("expected a limit, got {other:?}"),
        }
    }

    #[test]
    fn allows_a_burst_then_one_per_interval() {
        let l = KeyedLimiter::new(Rule::new(3, 60), 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.hit_at("a", t0).unwrap();
        }
        assert_eq!(retry(l.hit_at("a", t0)), 20);
        // Another key is not affected.
        l.hit_at("b", t0).unwrap();
        // One interval (60 s / 3) later, one more.
        assert!(l.hit_at("a", t0 + Duration::from_secs(19)).is_err());
        l.hit_at("a", t0 + Duration::from_secs(20)).unwrap();
        assert!(l.hit_at("a", t0 + Duration::from_secs(21)).is_err());
        // A whole window later, the whole burst again.
        for _ in 0..3 {
            l.hit_at("a", t0 + Duration::from_secs(100)).unwrap();
        }
    }

    #[test]
    fn refused_requests_do_not_count() {
        let l = KeyedLimiter::new(Rule::new(1, 10), 100);
        let t0 = Instant::now();
        l.hit_at("a", t0).unwrap();
        for _ in 0..100 {
            assert!(l.hit_at("a", t0).is_err());
        }
        l.hit_at("a", t0 + Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn failures_block_until_they_age_and_success_resets() {
        let l = KeyedLimiter::new(Rule::new(5, 900), 100);
        let t0 = Instant::now();
        for _ in 0..5 {
            l.check_at("agent:1", t0).unwrap();
            l.fail_at("agent:1", t0);
        }
        assert_eq!(retry(l.check_at("agent:1", t0)), 180);
        // Hammering while blocked keeps it blocked but not for ever.
        for _ in 0..50 {
            l.fail_at("agent:1", t0);
        }
        assert!(retry(l.check_at("agent:1", t0)) <= 900);
        assert!(l.check_at("agent:1", t0 + Duration::from_secs(901)).is_ok());
        l.reset("agent:1");
        l.check_at("agent:1", t0).unwrap();
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let l = KeyedLimiter::new(Rule::new(0, 60), 100);
        for _ in 0..1000 {
            l.hit("a").unwrap();
        }
        assert!(l.is_empty());
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_keys() {
        let l = KeyedLimiter::new(Rule::new(2, 3600), 1000);
        let t0 = Instant::now();
        for i in 0..100_000 {
            l.hit_at(&format!("ip:{i}"), t0).unwrap();
            assert!(l.len() <= 1000, "{} keys after {i}", l.len());
        }
    }

    #[test]
    fn keys_seen_again_survive_eviction_and_idle_ones_go_first() {
        let l = KeyedLimiter::new(Rule::new(2, 3600), 100);
        let t0 = Instant::now();
        // The attacker spends its burst.
        l.hit_at("attacker", t0).unwrap();
        l.hit_at("attacker", t0).unwrap();
        // Many others come and go; the attacker keeps trying, and stays limited.
        for i in 0..10_000 {
            l.hit_at(&format!("ip:{i}"), t0).unwrap();
            if i % 20 == 0 {
                assert!(l.hit_at("attacker", t0).is_err(), "forgotten after {i}");
            }
        }
        // Keys whose bucket is full again are dropped before anyone active.
        let l = KeyedLimiter::new(Rule::new(1, 10), 10);
        l.hit_at("active", t0 + Duration::from_secs(100)).unwrap();
        for i in 0..4 {
            l.hit_at(&format!("old{i}"), t0).unwrap();
        }
        l.hit_at("new", t0 + Duration::from_secs(100)).unwrap();
        assert_eq!(l.len(), 2);
        assert!(l.hit_at("active", t0 + Duration::from_secs(100)).is_err());
    }

    #[test]
    fn client_keys_group_ipv6_by_network() {
        assert_eq!(client_key(Some("203.0.113.7")), "ip:203.0.113.7");
        assert_eq!(
            client_key(Some("2001:db8:1:2:aaaa::1")),
            client_key(Some("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            client_key(Some("2001:db8:1:2::1")),
            client_key(Some("2001:db8:1:3::1"))
        );
        assert_eq!(client_key(Some("::ffff:198.51.100.1")), "ip:198.51.100.1");
        assert_eq!(client_key(None), "ip:unknown");
        assert_eq!(client_key(Some("garbage")), "ip:unknown");
    }
}
