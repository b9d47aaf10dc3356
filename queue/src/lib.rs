//! Why this exists: the one contract between the unprivileged frontend and the root worker, so
//! neither side can drift from the other's idea of a job file, the spool, or the applied state.
//!
//! Invariants kept here:
//! - The frontend only ever writes in `tmp/` and renames into `new/` ([`SpoolWriter`]).
//! - `submit` returns only after the job file and its `new/` entry are on disk.
//! - The worker treats every spool entry as hostile: no symlinks followed, no FIFOs opened for
//!   blocking reads, sizes capped before reading, and strict parsing; a job it took over is a
//!   copy it owns, which the frontend cannot change ([`SpoolLock::take_claimed`]).
//! - The frontend reads pending jobs with the same hostile-file rules ([`SpoolDirs::pending_jobs`]).
//! - A job leaves `cur/` only by [`SpoolLock::complete`], [`SpoolLock::dead_letter`] or
//!   [`SpoolLock::dead_letter_part`].
//! - The worker's history (`history.jsonl`, [`HistoryLog`]) is appended once per pass, fsynced
//!   before `applied.json` is saved, rotated by rename; readers skip and count bad lines.
//! - The heartbeat (`heartbeat.json`, [`Heartbeat`]) is replaced atomically while a worker runs,
//!   with the worker's counts since its start ([`WorkerCounts`]) and the number of dead letters.
//! - Only one worker touches `cur/` and `failed/`: claiming, reading, completing and
//!   dead-lettering are methods of [`SpoolLock`], which only [`SpoolDirs::lock`] returns. The
//!   operator's tools for `failed/` ([`SpoolDirs::dead_letters`] and the rest) run without the
//!   lock: each step is one rename or unlink the worker tolerates (see `dead_letters.rs`).

mod dead_letters;
mod depth;
mod durable;
mod failed;
mod heartbeat;
mod history;
mod hostile;
mod job;
mod last_error;
mod lock_probe;
mod pending;
mod probe;
mod reader;
pub mod rfc3339;
mod spool;
mod state;
mod text;
mod worker_counts;
mod writer;

pub use dead_letters::{DeadLetter, DeadLetterError, Purge};
pub use failed::Retention;
pub use heartbeat::{Heartbeat, HeartbeatError, RunMode, HEARTBEAT_FILE_NAME, HEARTBEAT_VERSION};
pub use history::{
    each_history_line, history_files, open_for_reading, parse_line, read_history, read_lines,
    EventKind, HistoryCursor, HistoryError, HistoryEvent, HistoryFollower, HistoryLog, HistoryRead,
    HISTORY_FILE_NAME, HISTORY_VERSION, MAX_EVENT_BYTES,
};
pub use job::{FamilyChange, Job, JobError, MAX_FUTURE, MAX_JOB_BYTES};
pub use last_error::{LastError, LastErrors};
pub use lock_probe::LockHolder;
pub use pending::PendingJobs;
pub use probe::{full_file_system, FileSystemFull, Privilege};
pub use reader::{Listing, SpoolLock, TakeError, UnreadableName};
pub use spool::{SpoolDirs, SpoolError};
pub use state::{
    AppliedState, Family, FamilyState, HostState, StateError, MAX_STATE_BYTES, STATE_FILE_NAME,
};
pub use text::is_deceptive;
pub use worker_counts::{BackendCounts, LatencyHistogram, WorkerCounts, BATCH_MS_BUCKETS};
pub use writer::SpoolWriter;
