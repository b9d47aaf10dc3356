//! Why this exists: `abuse` answers for scripts gone wild and password guessers, without ever touching
//! the `nochg` path (only accepted changes and failed logins are counted).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use dyndns_config::Limits;

pub struct RateLimits {
    per_user: Option<DefaultKeyedRateLimiter<String>>,
    per_source: Option<DefaultKeyedRateLimiter<IpAddr>>,
    auth_failures: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Sources over their failed-login budget, until when.
    blocked: RwLock<HashMap<IpAddr, Instant>>,
    /// Whether `blocked` may hold anything: every request checks, so the usual answer (no) costs one
    /// uncontended load instead of a lock shared by all cores.
    any_blocked: AtomicBool,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    // The whole minute's budget may be used as a burst: a router with several hosts sends them at once.
    NonZeroU32::new(per_minute).map(|rate| RateLimiter::keyed(Quota::per_minute(rate)))
}

impl RateLimits {
    pub fn new(limits: Limits) -> RateLimits {
        RateLimits {
            per_user: limiter(limits.per_user_per_minute),
            per_source: limiter(limits.per_source_per_minute),
            auth_failures: limiter(limits.auth_failures_per_source_per_minute),
            blocked: RwLock::new(HashMap::new()),
            any_blocked: AtomicBool::new(false),
        }
    }

    /// Counts one accepted change; false when the user or the source is over its budget.
    pub fn allow_change(&self, user: &str, source: Option<IpAddr>) -> bool {
        if let Some(limiter) = &self.per_user {
            if limiter.check_key(&user.to_string()).is_err() {
                return false;
            }
        }
        match (&self.per_source, source) {
            (Some(limiter), Some(source)) => limiter.check_key(&source).is_ok(),
            _ => true,
        }
    }

    /// True while `source` is locked out for failed logins.
    pub fn is_blocked(&self, source: Option<IpAddr>) -> bool {
        let Some(source) = source else { return false };
        if !self.any_blocked.load(Ordering::Relaxed) {
            return false;
        }
        let blocked = self.blocked.read().expect("rate limit lock poisoned");
        blocked
            .get(&source)
            .is_some_and(|until| *until > Instant::now())
    }

    /// Counts a failed login; a source over its budget is locked out for a minute.
    pub fn record_auth_failure(&self, source: Option<IpAddr>) {
        let (Some(limiter), Some(source)) = (&self.auth_failures, source) else {
            return;
        };
        if limiter.check_key(&source).is_err() {
            let until = Instant::now() + Duration::from_secs(60);
            self.blocked
                .write()
                .expect("rate limit lock poisoned")
                .insert(source, until);
            self.any_blocked.store(true, Ordering::Relaxed);
        }
    }

    /// Forgets idle keys and expired lockouts so memory stays flat; called by a periodic task.
    pub fn housekeeping(&self) {
        for limiter in [&self.per_source, &self.auth_failures]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.per_user {
            limiter.retain_recent();
        }
        let now = Instant::now();
        let mut blocked = self.blocked.write().expect("rate limit lock poisoned");
        blocked.retain(|_, until| *until > now);
        self.any_blocked
            .store(!blocked.is_empty(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(user: u32, source: u32, failures: u32) -> RateLimits {
        RateLimits::new(Limits {
            per_user_per_minute: user,
            per_source_per_minute: source,
            auth_failures_per_source_per_minute: failures,
        })
    }

    #[test]
    fn changes_over_the_budget_are_refused() {
        let source = Some("203.0.113.7".parse().unwrap());
        let limits = limits(3, 0, 0);
        for _ in 0..3 {
            assert!(limits.allow_change("router", source));
        }
        assert!(!limits.allow_change("router", source));
        assert!(limits.allow_change("other", source), "budgets are per user");
    }

    #[test]
    fn changes_from_one_source_are_limited_across_users() {
        let busy = Some("198.51.100.7".parse().unwrap());
        let limits = limits(0, 2, 0);
        assert!(limits.allow_change("a", busy));
        assert!(limits.allow_change("b", busy));
        assert!(
            !limits.allow_change("c", busy),
            "the source is over its budget"
        );
        assert!(limits.allow_change("c", Some("203.0.113.7".parse().unwrap())));
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let limits = limits(0, 0, 0);
        for _ in 0..1000 {
            assert!(limits.allow_change("router", None));
            limits.record_auth_failure(Some("203.0.113.7".parse().unwrap()));
        }
        assert!(!limits.is_blocked(Some("203.0.113.7".parse().unwrap())));
    }

    #[test]
    fn failed_logins_lock_the_source_out() {
        let guesser = Some("198.51.100.66".parse().unwrap());
        let limits = limits(0, 0, 2);
        limits.record_auth_failure(guesser);
        limits.record_auth_failure(guesser);
        assert!(!limits.is_blocked(guesser));
        limits.record_auth_failure(guesser);
        assert!(limits.is_blocked(guesser));
        assert!(!limits.is_blocked(Some("203.0.113.7".parse().unwrap())));
    }
}
