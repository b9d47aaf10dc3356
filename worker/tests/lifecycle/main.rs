//! Why this exists: the worker's life cycle tested in-process, with a scripted fake backend and the
//! clock in the test's hands (tokio's paused time for waits, a wall clock derived from it), so
//! settlement, superseding, stale and future jobs, backoff and a failing state save are each
//! checked exactly instead of by sleeping.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admission;
mod batches;
mod broken;
mod deletes;
mod fake;
mod history;
mod hostile;
mod in_flight;
mod outage;
mod settlement;
mod state;
mod timing;
mod util;
mod zones;
