//! Why this exists: `abuse` answers for scripts gone wild and password guessers, without ever touching
//! the `nochg` path (only accepted changes and failed logins are counted), and without locking out a
//! router whose credential was already verified.
//!
//! A source is an IPv4 address or an IPv6 network of `ipv6_source_prefix` bits: a subscriber gets a
//! whole /64 (or more) and can send from any address in it, so counting single IPv6 addresses would
//! give one guesser 2^64 budgets. Requests through the unix socket whose web server named no
//! address are one source of their own: counting nothing for them would leave guessing unlimited.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use dyndns_config::Limits;

use crate::client_addr::canonical;

/// How long a source (or a user at a source) stays locked out once over its failed-login budget.
const LOCKOUT: Duration = Duration::from_secs(60);

/// The one per-source key every name that is not configured is counted under (no configured name is
/// empty). Counting made-up names one by one would let a guesser fill memory; not counting them
/// made a refused request for a real name do more work, and so take measurably longer, than one
/// for a made-up name, telling a locked-out guesser which names exist.
const UNKNOWN_USERS: &str = "";

/// Where the limits count a client: its IPv4 address, or its IPv6 network; `Unnamed` for every
/// request the unix socket's web server sent without a (usable) client address header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Ip(IpAddr),
    Unnamed,
}

/// Whether credentials from a source may be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginGate {
    Open,
    /// The source is locked out: only a credential verified before (the remembered check) passes;
    /// nothing else is checked, so guessing costs no password hash.
    RememberedOnly,
    /// This user's credentials failed too often from this source: even a remembered one is refused,
    /// so the remembered check cannot become a fast oracle for a guesser sharing the router's source.
    Closed,
}

pub struct RateLimits {
    ipv6_prefix: u8,
    per_user: Option<DefaultKeyedRateLimiter<String>>,
    per_source: Option<DefaultKeyedRateLimiter<Source>>,
    auth_failures: Option<DefaultKeyedRateLimiter<Source>>,
    /// Failed logins of one configured user from one source.
    user_failures: Option<DefaultKeyedRateLimiter<(Source, String)>>,
    /// Sources over their failed-login budget, until when.
    blocked: RwLock<HashMap<Source, Instant>>,
    /// Users over their failed-login budget at a source, until when. A user is only blocked at a
    /// source that is blocked too (its failures count for both).
    blocked_users: RwLock<HashMap<(Source, String), Instant>>,
    /// Whether `blocked` may hold anything: every login checks, so the usual answer (no) costs one
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
            ipv6_prefix: limits.ipv6_source_prefix.min(128),
            per_user: limiter(limits.per_user_per_minute),
            per_source: limiter(limits.per_source_per_minute),
            auth_failures: limiter(limits.auth_failures_per_source_per_minute),
            user_failures: limiter(limits.auth_failures_per_source_per_minute),
            blocked: RwLock::new(HashMap::new()),
            blocked_users: RwLock::new(HashMap::new()),
            any_blocked: AtomicBool::new(false),
        }
    }

    /// Limits on new budgets (a reload changed `[frontend.limits]`): the rate limiters start full
    /// at the new rates (governor's counters cannot be moved to another quota), but every lockout
    /// in force stays until it ends, so a reload never frees a guesser.
    pub fn with_new_budgets(&self, limits: Limits) -> RateLimits {
        let fresh = RateLimits::new(limits);
        let blocked = self
            .blocked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let blocked_users = self
            .blocked_users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        fresh
            .any_blocked
            .store(!blocked.is_empty(), Ordering::Relaxed);
        RateLimits {
            blocked: RwLock::new(blocked),
            blocked_users: RwLock::new(blocked_users),
            ..fresh
        }
    }

    /// The source `client` is counted as: IPv4-mapped IPv6 as IPv4, IPv6 masked to the prefix.
    pub fn source(&self, client: Option<IpAddr>) -> Source {
        let Some(client) = client else {
            return Source::Unnamed;
        };
        match canonical(client) {
            IpAddr::V4(v4) => Source::Ip(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.ipv6_prefix))
                    .unwrap_or(0);
                Source::Ip(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)))
            }
        }
    }

    /// Counts one accepted change; false when the user or the source is over its budget.
    pub fn allow_change(&self, user: &str, client: Option<IpAddr>) -> bool {
        if let Some(limiter) = &self.per_user {
            if limiter.check_key(&user.to_string()).is_err() {
                return false;
            }
        }
        match &self.per_source {
            Some(limiter) => limiter.check_key(&self.source(client)).is_ok(),
            None => true,
        }
    }

    /// Whether credentials for `user` sent from `client` may be checked, and how.
    pub fn login_gate(&self, client: Option<IpAddr>, user: &str) -> LoginGate {
        if !self.any_blocked.load(Ordering::Relaxed) {
            return LoginGate::Open;
        }
        let source = self.source(client);
        let now = Instant::now();
        let source_blocked = self
            .blocked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&source)
            .is_some_and(|until| *until > now);
        if !source_blocked {
            return LoginGate::Open;
        }
        let user_blocked = self
            .blocked_users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(source, user.to_string()))
            .is_some_and(|until| *until > now);
        if user_blocked {
            LoginGate::Closed
        } else {
            LoginGate::RememberedOnly
        }
    }

    /// Counts a failed (or, while locked out, a refused) login; a source over its budget is locked
    /// out for a minute, and so is a configured user over its budget at that source. `known_user`
    /// is `None` for names that are not configured: they are never a working router, and are
    /// counted together under [`UNKNOWN_USERS`].
    pub fn record_auth_failure(&self, client: Option<IpAddr>, known_user: Option<&str>) {
        let Some(limiter) = &self.auth_failures else {
            return;
        };
        let source = self.source(client);
        let until = Instant::now() + LOCKOUT;
        if limiter.check_key(&source).is_err() {
            self.blocked
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(source, until);
            self.any_blocked.store(true, Ordering::Relaxed);
        }
        if let Some(limiter) = &self.user_failures {
            let key = (source, known_user.unwrap_or(UNKNOWN_USERS).to_string());
            if limiter.check_key(&key).is_err() {
                self.blocked_users
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key, until);
            }
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
        if let Some(limiter) = &self.user_failures {
            limiter.retain_recent();
        }
        let now = Instant::now();
        self.blocked_users
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, until| *until > now);
        let mut blocked = self.blocked.write().unwrap_or_else(PoisonError::into_inner);
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
            ipv6_source_prefix: 64,
        })
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn changes_over_the_budget_are_refused() {
        let source = ip("203.0.113.7");
        let limits = limits(3, 0, 0);
        for _ in 0..3 {
            assert!(limits.allow_change("router", source));
        }
        assert!(!limits.allow_change("router", source));
        assert!(limits.allow_change("other", source), "budgets are per user");
    }

    #[test]
    fn changes_from_one_source_are_limited_across_users() {
        let busy = ip("198.51.100.7");
        let limits = limits(0, 2, 0);
        assert!(limits.allow_change("a", busy));
        assert!(limits.allow_change("b", busy));
        assert!(
            !limits.allow_change("c", busy),
            "the source is over its budget"
        );
        assert!(limits.allow_change("c", ip("203.0.113.7")));
    }

    #[test]
    fn changes_from_one_ipv6_prefix_share_a_budget() {
        let limits = limits(0, 2, 0);
        assert!(limits.allow_change("a", ip("2001:db8:1:2::1")));
        assert!(limits.allow_change("a", ip("2001:db8:1:2:ffff::9")));
        assert!(!limits.allow_change("a", ip("2001:db8:1:2::3")));
        assert!(
            limits.allow_change("a", ip("2001:db8:1:3::1")),
            "another /64"
        );
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let limits = limits(0, 0, 0);
        for _ in 0..1000 {
            assert!(limits.allow_change("router", None));
            limits.record_auth_failure(ip("203.0.113.7"), Some("router"));
        }
        assert_eq!(
            limits.login_gate(ip("203.0.113.7"), "router"),
            LoginGate::Open
        );
    }

    #[test]
    fn failed_logins_lock_the_source_out() {
        let guesser = ip("198.51.100.66");
        let limits = limits(0, 0, 2);
        limits.record_auth_failure(guesser, None);
        limits.record_auth_failure(guesser, None);
        assert_eq!(limits.login_gate(guesser, "router"), LoginGate::Open);
        limits.record_auth_failure(guesser, None);
        assert_eq!(
            limits.login_gate(guesser, "router"),
            LoginGate::RememberedOnly
        );
        assert_eq!(
            limits.login_gate(ip("203.0.113.7"), "router"),
            LoginGate::Open
        );
    }

    #[test]
    fn failed_logins_from_one_ipv6_prefix_lock_the_prefix_out() {
        let limits = limits(0, 0, 29);
        for host in 1..=30 {
            limits.record_auth_failure(ip(&format!("2001:db8:1:2::{host:x}")), None);
        }
        assert_eq!(
            limits.login_gate(ip("2001:db8:1:2:abcd::1"), "router"),
            LoginGate::RememberedOnly,
            "30 addresses of one /64 are one source"
        );
        assert_eq!(
            limits.login_gate(ip("2001:db8:1:3::1"), "router"),
            LoginGate::Open
        );
    }

    #[test]
    fn ipv4_mapped_sources_are_their_ipv4_address() {
        let limits = limits(0, 0, 1);
        limits.record_auth_failure(ip("::ffff:198.51.100.66"), None);
        limits.record_auth_failure(ip("198.51.100.66"), None);
        assert_eq!(
            limits.login_gate(ip("198.51.100.66"), "router"),
            LoginGate::RememberedOnly
        );
        assert_eq!(
            limits.source(ip("::ffff:198.51.100.66")),
            Source::Ip(ip("198.51.100.66").unwrap())
        );
    }

    #[test]
    fn guessing_one_users_password_closes_that_user_at_that_source() {
        let shared = ip("198.51.100.66");
        let limits = limits(0, 0, 2);
        for _ in 0..3 {
            limits.record_auth_failure(shared, Some("router"));
        }
        assert_eq!(limits.login_gate(shared, "router"), LoginGate::Closed);
        assert_eq!(
            limits.login_gate(shared, "other"),
            LoginGate::RememberedOnly
        );
    }

    #[test]
    fn made_up_names_are_counted_under_one_key() {
        let guesser = ip("198.51.100.66");
        let limits = limits(0, 0, 2);
        for attempt in 0..50 {
            limits.record_auth_failure(guesser, None);
            limits.record_auth_failure(guesser, Some(&format!("user{}", attempt % 2)));
        }
        let keys = limits.user_failures.as_ref().map(|limiter| limiter.len());
        assert_eq!(
            keys,
            Some(3),
            "one key for every made-up name, one per real user"
        );
        assert_eq!(limits.login_gate(guesser, "user0"), LoginGate::Closed);
        assert_eq!(
            limits.login_gate(guesser, "made-up"),
            LoginGate::RememberedOnly
        );
    }

    #[test]
    fn prefix_lengths_mask_as_configured() {
        let mut config = Limits::DEFAULT;
        config.ipv6_source_prefix = 128;
        let exact = RateLimits::new(config);
        let address: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(exact.source(Some(address)), Source::Ip(address));
        config.ipv6_source_prefix = 48;
        let wide = RateLimits::new(config);
        assert_eq!(
            wide.source(ip("2001:db8:7:ffff::1")),
            Source::Ip("2001:db8:7::".parse().unwrap())
        );
    }
}
