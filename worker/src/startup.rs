//! Why this exists: what the worker needs before it may touch a job — the spool's folders, the
//! spool lock, the state folder and a usable `applied.json` — checked in one place, with errors
//! that name the path or config key and, where it is known, the fix.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dyndns_config::Config;
use dyndns_queue::{AppliedState, SpoolDirs, SpoolError, SpoolLock, StateError};

use crate::shown;

/// How to create the folders packaging owns, for error messages.
const TMPFILES_FIX: &str =
    "create it with `systemd-tmpfiles --create dyndns.conf` (packaging/tmpfiles.d/dyndns.conf)";

/// Why the worker cannot start. Each says its cause once and, where known, what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("another dyndns-worker is already running on this spool ({path} is locked)")]
    Locked { path: PathBuf },
    #[error("cannot take the spool lock {path}: {cause}; dyndns-worker runs as root (use sudo, or the dyndns-worker service)")]
    LockDenied { path: PathBuf, cause: io::Error },
    #[error("spool directory {path} ([spool] dir) is missing: {TMPFILES_FIX}")]
    SpoolMissing { path: PathBuf },
    #[error("cannot use the spool ([spool] dir): {0}")]
    Spool(SpoolError),
    #[error("state directory {path} ([worker] state_dir) is missing: {TMPFILES_FIX}")]
    StateDirMissing { path: PathBuf },
    #[error("state directory {path} ([worker] state_dir) is not usable: {cause}")]
    StateDir { path: PathBuf, cause: io::Error },
    #[error("state directory {path} ([worker] state_dir) is not a directory")]
    StateDirNotADirectory { path: PathBuf },
    #[error("{0}; it was written by a newer dyndns-worker: run that one, or move the file away to start with an empty state")]
    StateVersion(StateError),
    #[error("{0}")]
    State(StateError),
}

/// Checks the spool's folders and takes its lock.
pub fn take_spool(config: &Config) -> Result<SpoolLock, WorkerError> {
    let dirs = SpoolDirs::at(&config.spool_dir);
    dirs.require_all().map_err(|err| match err {
        SpoolError::MissingDir { path, cause } if cause.kind() == io::ErrorKind::NotFound => {
            WorkerError::SpoolMissing { path }
        }
        other => WorkerError::Spool(other),
    })?;
    dirs.lock().map_err(|err| match err {
        SpoolError::Locked { path } => WorkerError::Locked { path },
        SpoolError::Io { path, cause, .. }
            if cause.kind() == io::ErrorKind::PermissionDenied
                || cause.raw_os_error() == Some(nix::errno::Errno::EPERM as i32) =>
        {
            WorkerError::LockDenied { path, cause }
        }
        other => WorkerError::Spool(other),
    })
}

/// Loads `applied.json` from `[worker] state_dir`. A corrupt file is moved aside (its new name
/// logged) and the worker starts empty; a newer version, or a file that cannot be read, stops
/// the start: replacing either would lose a record silently.
pub fn load_state(
    config: &Config,
    now: SystemTime,
) -> Result<(PathBuf, AppliedState), WorkerError> {
    let dir = &config.worker.state_dir;
    check_state_dir(dir)?;
    let path = AppliedState::path_in(dir);
    match AppliedState::load(&path) {
        Ok(state) => Ok((path, state)),
        Err(err) if err.is_corrupt() => {
            let aside = AppliedState::set_aside(&path, now).map_err(WorkerError::State)?;
            tracing::error!(
                error = %err,
                moved_to = %shown::path(&aside),
                "the applied state was corrupt; moved it aside and starting with an empty one"
            );
            Ok((path, AppliedState::default()))
        }
        Err(err @ StateError::UnknownVersion { .. }) => Err(WorkerError::StateVersion(err)),
        Err(err) => Err(WorkerError::State(err)),
    }
}

fn check_state_dir(dir: &Path) -> Result<(), WorkerError> {
    match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(WorkerError::StateDirNotADirectory {
            path: dir.to_path_buf(),
        }),
        Err(cause) if cause.kind() == io::ErrorKind::NotFound => {
            Err(WorkerError::StateDirMissing {
                path: dir.to_path_buf(),
            })
        }
        Err(cause) => Err(WorkerError::StateDir {
            path: dir.to_path_buf(),
            cause,
        }),
    }
}
