//! Why this exists: what can go wrong keeping a zone file, each naming the file (and line) or the
//! reload command, and each knowing whether a retry may help.

use std::io;
use std::path::PathBuf;

use super::edit::EditError;
use super::MAX_ZONE_FILE_BYTES;
use crate::backend::CommandFailed;
use crate::command::CommandError;

/// The underlying error is part of each message (fields are named `error`, not `source`), so a
/// report that walks the chain does not print it twice.
#[derive(Debug, thiserror::Error)]
pub enum ZoneFileError {
    #[error("zone file {} is a symbolic link; dyndns never follows one (point the path at the real file)", path.display())]
    Symlink { path: PathBuf },
    #[error("zone file {} is a {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("zone file {} is {size} bytes, more than the {MAX_ZONE_FILE_BYTES} dyndns reads", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("cannot {action} zone file {}: {error}", path.display())]
    Read {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    /// The text cannot be read or edited; `error` says on which line.
    #[error("zone file {}{}{}", path.display(), error.line.map(|l| format!(":{l}")).unwrap_or_default(), Problem(&error.problem))]
    Content { path: PathBuf, error: EditError },
    #[error("cannot write zone file {}: {step}: {error}", path.display())]
    Write {
        path: PathBuf,
        step: String,
        error: io::Error,
    },
    /// Someone changed or replaced the file while dyndns edited it; the retry edits the new text.
    #[error("zone file {} changed while dyndns edited it; its edit was not written and is made again on the new text", path.display())]
    ChangedMeanwhile { path: PathBuf },
    #[error("zone {zone} is written but not reloaded: {error}")]
    Reload { zone: String, error: ReloadError },
    /// The reload owed since the last write (or since the worker started) failed before a read.
    #[error("zone {zone}: the reload owed to the DNS server (since the last write or the worker's start) failed, so what it serves is not known: {error}")]
    ReloadOwed { zone: String, error: ReloadError },
    #[error("the task editing zone file {} stopped: {error}", path.display())]
    Task {
        path: PathBuf,
        error: tokio::task::JoinError,
    },
    #[error("[backend.zonefile] {key} = {value:?} is not a domain name: {error}")]
    BadOption {
        key: &'static str,
        value: String,
        error: dyndns_names::names::NameError,
    },
}

/// `: <problem>`, so a located problem reads `file:12: problem` and an unlocated one `file: problem`.
struct Problem<'a>(&'a super::edit::Problem);

impl std::fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, ": {}", self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Run(#[from] CommandError),
    #[error(transparent)]
    Failed(#[from] CommandFailed),
}

impl ZoneFileError {
    /// Disk and reload trouble may pass; a file of the wrong kind or content stays wrong until a
    /// person changes it.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            ZoneFileError::Read { .. }
            | ZoneFileError::Write { .. }
            | ZoneFileError::ChangedMeanwhile { .. }
            | ZoneFileError::Reload { .. }
            | ZoneFileError::ReloadOwed { .. }
            | ZoneFileError::Task { .. } => true,
            ZoneFileError::Symlink { .. }
            | ZoneFileError::NotRegular { .. }
            | ZoneFileError::TooLarge { .. }
            | ZoneFileError::Content { .. }
            | ZoneFileError::BadOption { .. } => false,
        }
    }
}
