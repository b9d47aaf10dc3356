//! The bad days of an installation (issue 14 §5), each end to end with the real `dyndns`,
//! `dyndns-worker` and `dyndns-notify` binaries: the disk fills while spooling, the spool goes
//! missing or read-only, the DNS server is down for a while, the clock steps back an hour, the
//! worker is killed while notifications are under way, the notifier is down for a day. README's
//! "Bad days" section lists them with what an operator sees.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../util/mod.rs"]
mod util;
// The servers and receivers the other packages' tests start, shared by path so every test starts
// them alike.
#[allow(dead_code)]
#[path = "../../worker/tests/backends/dns_server.rs"]
mod dns_server;
#[path = "../../notify/tests/util/receiver.rs"]
mod notify_util;

mod backend_down;
mod clock_step;
mod day;
mod notifier_down;
mod spool_full;
mod spool_gone;
mod state_full;
mod worker_killed;
