//! Why this exists: the one contract between the unprivileged frontend and the root worker, so
//! neither side can drift from the other's idea of a job file, the spool, or the applied state.
//!
//! Invariants kept here:
//! - The frontend only ever writes in `tmp/` and renames into `new/` ([`SpoolWriter`]).
//! - `submit` returns only after the job file and its `new/` entry are on disk.
//! - The worker treats every spool entry as hostile: no symlinks followed, no FIFOs opened for
//!   blocking reads, sizes capped before reading, and strict parsing ([`SpoolDirs::read_claimed`]).
//! - The frontend reads pending jobs with the same hostile-file rules ([`SpoolDirs::pending_jobs`]).
//! - A job leaves `cur/` only by [`SpoolDirs::complete`] or [`SpoolDirs::dead_letter`].
//! - Only one worker touches `cur/` and `failed/`: it holds [`SpoolLock`] (from
//!   [`SpoolDirs::lock`]) for as long as it calls the claim/read/complete/dead-letter methods.

mod durable;
mod job;
mod pending;
mod reader;
pub mod rfc3339;
mod spool;
mod state;
mod writer;

pub use job::{Job, JobError, JOB_VERSION, MAX_JOB_BYTES};
pub use pending::PendingJobs;
pub use reader::SpoolLock;
pub use spool::{SpoolDirs, SpoolError};
pub use state::{
    AppliedState, Family, FamilyState, HostState, StateError, STATE_FILE_NAME, STATE_VERSION,
};
pub use writer::SpoolWriter;
