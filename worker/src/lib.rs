//! Why this exists: the privileged half of dyndns as a library, so `dyndns-worker` stays a thin `main`
//! and `dyndns demo` can run the same worker in-process.

mod apply;
pub mod backend;
mod batch;
pub mod cli;
pub mod clock;
pub mod command;
mod finish;
mod intake;
mod pending;
pub mod run;
pub mod shown;
mod startup;
mod watch;
mod worker;

pub use apply::{backoff, MAX_BACKOFF};
pub use clock::{Clock, SystemClock};
pub use dyndns_queue::MAX_FUTURE;
pub use run::{run, run_with_clock, Mode, Report};
pub use startup::WorkerError;
