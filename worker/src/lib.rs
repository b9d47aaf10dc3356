//! Why this exists: the privileged half of dyndns as a library, so `dyndns-worker` stays a thin `main`
//! and `dyndns demo` can run the same worker in-process.

pub mod backend;
mod batch;
pub mod cli;
pub mod command;
pub mod run;
mod watch;

pub use run::{run, Mode, Report, WorkerError};
