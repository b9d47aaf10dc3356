//! Why this exists: the worker's decisions that depend on the wall clock (is a job dated in the
//! future, when was a change applied, how long did a request wait) go through one injected
//! [`Clock`], so tests can set the time instead of waiting for it.
//!
//! Durations the worker waits (backoff, rescans, `--timeout`) use tokio's monotonic
//! `tokio::time::Instant` and `sleep` instead: a stepped wall clock cannot stretch or skip them,
//! and tests drive them with tokio's paused time.

use std::time::SystemTime;

/// Where the worker reads the wall-clock time.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
