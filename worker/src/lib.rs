//! Why this exists: the privileged half of dyndns as a library, so `dyndns-worker` stays a thin
//! `main` and tests drive the worker with their own backends, clock and shutdown.

mod apply;
pub mod backend;
mod batch;
pub mod check;
pub mod cli;
mod clock;
pub mod command;
mod counts;
pub mod failed_cmd;
mod finish;
mod heartbeat;
mod history;
mod in_flight;
mod intake;
mod pending;
pub mod reconcile;
mod reload;
mod run;
pub mod secret;
pub mod show_history;
mod shown;
mod startup;
pub mod status;
mod watch;
mod worker;

pub use clock::Clock;
pub use run::{run, run_reloading, run_with_clock, Mode, Report};
pub use startup::WorkerError;
