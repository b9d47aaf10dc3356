//! Why this exists: one definition of the spool's directory layout and of the errors both sides
//! report about it, so the frontend and the worker cannot disagree on where a job is.

use std::io;
use std::path::{Path, PathBuf};

use crate::durable::DurableError;
use crate::job::JobError;

/// The spool under one root directory:
/// - `tmp/`: job files being written by the frontend;
/// - `new/`: complete jobs, ready for the worker;
/// - `cur/`: jobs the worker has claimed and not yet finished;
/// - `failed/`: dead letters, each `<name>` beside a `<name>.reason` text file;
/// - `worker.lock`: held by the one running worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolDirs {
    root: PathBuf,
}

/// What went wrong with the spool, naming the path involved.
///
/// Each message carries its cause, and no variant exposes that cause again as its `source`: a
/// caller printing the chain (`{:#}`) would otherwise say it twice.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("cannot {action} {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("cannot move {from} to {to}: {cause}")]
    Rename {
        from: PathBuf,
        to: PathBuf,
        cause: io::Error,
    },
    #[error("spool directory {path} is not usable: {cause}")]
    MissingDir { path: PathBuf, cause: io::Error },
    #[error("spool directory {path} is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("spool directory {path} is not writable by this process: {cause}")]
    NotWritable { path: PathBuf, cause: io::Error },
    #[error("another dyndns-worker is already running on this spool ({path} is locked)")]
    Locked { path: PathBuf },
    /// The entry was gone when we went to move it; callers scanning the spool ignore this.
    #[error("{path} vanished before it could be moved")]
    Vanished { path: PathBuf },
    /// A `new/` entry had the name of a job already in `cur/`; it was dead-lettered instead of
    /// overwriting the claimed job.
    #[error("{path} has the name of a job already claimed in cur/; moved it to {moved_to}")]
    Duplicate { path: PathBuf, moved_to: PathBuf },
    #[error("{name:?} is not a spool file name")]
    BadName { name: String },
    #[error("refusing to spool an invalid job: {0}")]
    InvalidJob(JobError),
}

impl SpoolError {
    /// The operating system's error behind this one, if any: what decides the fix (a full disk
    /// wants space, a missing folder wants tmpfiles).
    pub fn os_cause(&self) -> Option<&io::Error> {
        match self {
            SpoolError::Io { cause, .. }
            | SpoolError::Rename { cause, .. }
            | SpoolError::MissingDir { cause, .. }
            | SpoolError::NotWritable { cause, .. } => Some(cause),
            _ => None,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, cause: io::Error) -> Self {
        SpoolError::Io {
            action,
            path: path.into(),
            cause,
        }
    }
}

impl From<JobError> for SpoolError {
    fn from(err: JobError) -> Self {
        SpoolError::InvalidJob(err)
    }
}

impl From<DurableError> for SpoolError {
    fn from(err: DurableError) -> Self {
        match err {
            DurableError::Step {
                action,
                path,
                source,
            } => SpoolError::Io {
                action,
                path,
                cause: source,
            },
            DurableError::Rename { from, to, source } => SpoolError::Rename {
                from,
                to,
                cause: source,
            },
        }
    }
}

impl SpoolDirs {
    /// The spool rooted at `root`. (Not `new`: that name is the `new/` directory's getter.)
    pub fn at(root: impl Into<PathBuf>) -> SpoolDirs {
        SpoolDirs { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    #[allow(clippy::new_ret_no_self)] // the spool's `new/` directory, not a constructor
    pub fn new(&self) -> PathBuf {
        self.root.join("new")
    }

    pub fn cur(&self) -> PathBuf {
        self.root.join("cur")
    }

    pub fn failed(&self) -> PathBuf {
        self.root.join("failed")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.root.join("worker.lock")
    }

    /// Creates whichever spool directories are missing. Existing ones keep their modes:
    /// packaging sets those in production, and the demo and tests accept the umask.
    pub fn create_all(&self) -> io::Result<()> {
        for dir in [self.tmp(), self.new(), self.cur(), self.failed()] {
            std::fs::create_dir_all(&dir)?;
        }
        Ok(())
    }

    /// Checks that the spool's top and its four folders exist and are directories: packaging
    /// creates them, and a worker or frontend must not guess at owners and modes by creating them.
    pub fn require_all(&self) -> Result<(), SpoolError> {
        for dir in [
            self.root.clone(),
            self.tmp(),
            self.new(),
            self.cur(),
            self.failed(),
        ] {
            SpoolDirs::require_dir(&dir)?;
        }
        Ok(())
    }

    /// Checks that `dir` exists and is a directory.
    pub(crate) fn require_dir(dir: &Path) -> Result<(), SpoolError> {
        let metadata = std::fs::metadata(dir).map_err(|cause| SpoolError::MissingDir {
            path: dir.to_path_buf(),
            cause,
        })?;
        if !metadata.is_dir() {
            return Err(SpoolError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Ok(())
    }
}

/// Refuses names that would reach outside a spool directory; names come from callers that got
/// them from a listing, but the listing itself came from hostile hands.
pub(crate) fn check_name(name: &str) -> Result<(), SpoolError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(SpoolError::BadName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_under_the_root() {
        let dirs = SpoolDirs::at("/var/spool/dyndns");
        assert_eq!(dirs.tmp(), Path::new("/var/spool/dyndns/tmp"));
        assert_eq!(dirs.new(), Path::new("/var/spool/dyndns/new"));
        assert_eq!(dirs.cur(), Path::new("/var/spool/dyndns/cur"));
        assert_eq!(dirs.failed(), Path::new("/var/spool/dyndns/failed"));
        assert_eq!(dirs.lock_path(), Path::new("/var/spool/dyndns/worker.lock"));
    }

    #[test]
    fn create_all_makes_every_directory_and_is_repeatable() {
        let root = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(root.path().join("spool"));
        dirs.create_all().expect("first create");
        dirs.create_all().expect("second create");
        for dir in [dirs.tmp(), dirs.new(), dirs.cur(), dirs.failed()] {
            assert!(dir.is_dir(), "{}", dir.display());
        }
    }

    #[test]
    fn names_that_escape_the_directory_are_refused() {
        for name in ["", ".", "..", "../etc/passwd", "a/b", "a\0b"] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
        assert!(check_name(".hidden").is_ok());
        assert!(check_name("00000000001795449600.x.json").is_ok());
    }
}
