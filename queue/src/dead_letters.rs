//! Why this exists: the operator's side of `failed/` (`dyndns-worker failed list | show | retry |
//! purge`): finding a dead letter by name or prefix, reading it as hostile input, moving it back
//! into `new/` for the running worker, and removing old ones. The worker's side (writing dead
//! letters, its retention) is `failed.rs`.
//!
//! None of this takes the spool lock, so it works while a worker runs (the continuous worker holds
//! the lock for its whole life). That is safe because every step here is one rename or unlink of
//! one entry, and the worker's own uses of `failed/` already tolerate an entry that vanishes:
//! - The worker only adds dead letters, each under a name it checked is free of both the letter
//!   and its reason; this code never creates a name in `failed/`, so that check stays true.
//! - A retry renames `failed/<name>` into `new/` under a fresh name: it is then a job like any
//!   other, which the worker claims, reads as hostile and admits by the same rules as one from
//!   the frontend. The reason goes only after the rename (and both folders) are durable, so a
//!   crash never leaves a dead letter without its reason; at worst a reason without its letter,
//!   which `failed list` ignores and purge removes.
//! - The worker's retention and a purge may race to remove the same entry: each treats "already
//!   gone" as done. A retry racing them finds the letter gone and says so.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::durable;
use crate::failed::{with_suffix, REASON_SUFFIX, TMP_PREFIX};
use crate::hostile::{self, kind_of, read_regular_capped, CappedRead, ReadOptions};
use crate::job::{Job, JobError};
use crate::spool::{SpoolDirs, SpoolError};

/// More than any reason the worker writes (it caps them at 4 KiB, plus the time and a name).
const MAX_REASON_FILE_BYTES: u64 = 16 * 1024;

/// One entry of `failed/` that is not a reason or a temporary file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its name in `failed/`, as it is (a hostile one may not be UTF-8).
    pub name: OsString,
    /// `file`, or what else it is (`symbolic link`, `fifo`, `directory`, …), never followed.
    pub kind: &'static str,
    /// When it was dead-lettered: its reason's time, else its own (as the worker's retention
    /// judges it). `None` when neither could be read.
    pub since: Option<SystemTime>,
    /// Whether a `.reason` file lies beside it.
    pub has_reason: bool,
}

impl DeadLetter {
    /// The name for people and for matching (lossy when not UTF-8).
    pub fn id(&self) -> String {
        self.name.to_string_lossy().into_owned()
    }

    /// How long ago it was dead-lettered, by `now`; zero when unknown or ahead.
    pub fn age(&self, now: SystemTime) -> Duration {
        self.since
            .and_then(|since| now.duration_since(since).ok())
            .unwrap_or_default()
    }
}

/// Why a dead letter could not be found, read, retried or removed; each names it once.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("no dead letter in {failed} is named {id:?} or starts with it")]
    NotFound { failed: PathBuf, id: String },
    #[error("{count} dead letters in {failed} start with {id:?}; give more of the name")]
    Ambiguous {
        failed: PathBuf,
        id: String,
        count: usize,
    },
    #[error("the dead letter {path} is not a job that can be retried: {cause}")]
    NotAJob { path: PathBuf, cause: JobError },
    #[error("the dead letter {path} is a directory; it is not removed (root never empties a tree the frontend built): look inside and remove it by hand")]
    Directory { path: PathBuf },
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

/// What a purge did.
#[derive(Debug, Default)]
pub struct Purge {
    /// Dead letters removed (with their reasons), by name.
    pub removed: Vec<OsString>,
    /// Reasons removed whose letter was already gone.
    pub orphan_reasons: usize,
    /// Old entries left, and why (a directory, or a removal that failed).
    pub left: Vec<DeadLetterError>,
}

impl SpoolDirs {
    /// The dead letters in `failed/`, by name. Nothing is opened: each entry is judged by lstat.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, SpoolError> {
        let failed = self.failed();
        let entries =
            std::fs::read_dir(&failed).map_err(|cause| SpoolError::io("list", &failed, cause))?;
        let mut letters = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|cause| SpoolError::io("list", &failed, cause))?;
            let name = entry.file_name();
            if is_reason_or_tmp(&name) {
                continue;
            }
            // Gone since the listing (retried, or removed by the worker's retention).
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            let reason = std::fs::symlink_metadata(failed.join(with_suffix(&name, REASON_SUFFIX)));
            let since = match &reason {
                Ok(reason) => reason.modified().ok(),
                Err(_) => metadata.modified().ok(),
            };
            let file_type = metadata.file_type();
            letters.push(DeadLetter {
                name,
                kind: if file_type.is_file() {
                    "file"
                } else {
                    kind_of(&file_type)
                },
                since,
                has_reason: reason.is_ok(),
            });
        }
        letters.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(letters)
    }

    /// The dead letter named `id`, or the one whose name (or job id, the part after the first
    /// dot) starts with it.
    pub fn find_dead_letter(&self, id: &str) -> Result<DeadLetter, DeadLetterError> {
        let letters = self.dead_letters()?;
        if let Some(exact) = letters.iter().find(|letter| letter.name == OsStr::new(id)) {
            return Ok(exact.clone());
        }
        let mut matching: Vec<DeadLetter> = letters
            .into_iter()
            .filter(|letter| {
                let name = letter.name.as_bytes();
                let after_time = name
                    .iter()
                    .position(|&byte| byte == b'.')
                    .map_or(&[][..], |dot| &name[dot + 1..]);
                !id.is_empty()
                    && (name.starts_with(id.as_bytes()) || after_time.starts_with(id.as_bytes()))
            })
            .collect();
        match matching.len() {
            0 => Err(DeadLetterError::NotFound {
                failed: self.failed(),
                id: id.to_owned(),
            }),
            1 => Ok(matching.remove(0)),
            count => Err(DeadLetterError::Ambiguous {
                failed: self.failed(),
                id: id.to_owned(),
                count,
            }),
        }
    }

    /// The job in a dead letter, read as hostile input: no symlink followed, no FIFO opened for
    /// a blocking read, size capped, strictly parsed.
    pub fn read_dead_letter(&self, letter: &DeadLetter) -> Result<Job, JobError> {
        let bytes = hostile::read_job_bytes(&self.failed().join(&letter.name))?;
        Job::parse(&bytes)
    }

    /// The whole `.reason` beside a dead letter (`None` without one), read as carefully as a job.
    pub fn dead_letter_reason(&self, letter: &DeadLetter) -> Result<Option<String>, SpoolError> {
        let path = self.failed().join(with_suffix(&letter.name, REASON_SUFFIX));
        let options = ReadOptions {
            follow_symlink: false,
            one_link: false,
            cap: MAX_REASON_FILE_BYTES,
        };
        match read_regular_capped(&path, options) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(CappedRead::Io(cause)) if cause.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(CappedRead::Io(cause)) => Err(SpoolError::io("read", path, cause)),
            Err(CappedRead::NotRegular(kind)) => Err(SpoolError::io(
                "read",
                path,
                io::Error::other(format!("a {kind}, not a regular file")),
            )),
            Err(CappedRead::HardLinked(_)) => Err(SpoolError::io(
                "read",
                path,
                io::Error::other("hard-linked"),
            )),
            Err(CappedRead::TooLarge(size)) => Err(SpoolError::io(
                "read",
                path,
                io::Error::other(format!(
                    "{size} bytes, more than the {MAX_REASON_FILE_BYTES}-byte limit"
                )),
            )),
        }
    }

    /// Moves a dead letter holding `job` (as [`SpoolDirs::read_dead_letter`] read it) back into
    /// `new/`, where the worker picks it up: one rename, under a fresh name that sorts by the
    /// job's `received_at` as the frontend's names do. Its reason is removed once the rename is
    /// durable. Returns the path in `new/`.
    pub fn requeue_dead_letter(
        &self,
        letter: &DeadLetter,
        job: &Job,
    ) -> Result<PathBuf, DeadLetterError> {
        let failed = self.failed();
        let from = failed.join(&letter.name);
        let nanos = job
            .received_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let name = format!(
            "{nanos:020}.{}.retry-{}.json",
            job.id,
            uuid::Uuid::new_v4().simple()
        );
        let to = self.new().join(name);
        crate::reader::rename_or_vanished(&from, &to)?;
        durable::sync_dir(&self.new()).map_err(SpoolError::from)?;
        durable::sync_dir(&failed).map_err(SpoolError::from)?;
        remove_if_there(&failed.join(with_suffix(&letter.name, REASON_SUFFIX)))?;
        durable::sync_dir(&failed).map_err(SpoolError::from)?;
        Ok(to)
    }

    /// Removes the dead letters (and their reasons) dead-lettered more than `older_than` before
    /// `now`, and reasons that old whose letter is gone. A symlink, FIFO or socket is removed
    /// itself, never followed or opened; a directory is left and reported. Nothing outside
    /// `failed/` is touched: every name comes from its listing, and holds no `/`.
    pub fn purge_dead_letters(
        &self,
        older_than: Duration,
        now: SystemTime,
    ) -> Result<Purge, SpoolError> {
        let failed = self.failed();
        let mut purge = Purge::default();
        let old = |since: Option<SystemTime>| {
            since
                .and_then(|since| now.duration_since(since).ok())
                .is_some_and(|age| age > older_than)
        };
        for letter in self.dead_letters()? {
            if !old(letter.since) {
                continue;
            }
            let path = failed.join(&letter.name);
            if letter.kind == "directory" {
                purge.left.push(DeadLetterError::Directory { path });
                continue;
            }
            let removed = remove_if_there(&path).and_then(|()| {
                remove_if_there(&failed.join(with_suffix(&letter.name, REASON_SUFFIX)))
            });
            match removed {
                Ok(()) => purge.removed.push(letter.name),
                Err(error) => purge.left.push(error.into()),
            }
        }
        let entries =
            std::fs::read_dir(&failed).map_err(|cause| SpoolError::io("list", &failed, cause))?;
        for entry in entries {
            let entry = entry.map_err(|cause| SpoolError::io("list", &failed, cause))?;
            let name = entry.file_name();
            let Some(letter) = name.as_bytes().strip_suffix(REASON_SUFFIX.as_bytes()) else {
                continue;
            };
            let orphan = std::fs::symlink_metadata(failed.join(OsStr::from_bytes(letter)))
                .is_err_and(|err| err.kind() == io::ErrorKind::NotFound);
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if orphan && !metadata.is_dir() && old(metadata.modified().ok()) {
                match remove_if_there(&entry.path()) {
                    Ok(()) => purge.orphan_reasons += 1,
                    Err(error) => purge.left.push(error.into()),
                }
            }
        }
        durable::sync_dir(&failed).map_err(SpoolError::from)?;
        Ok(purge)
    }
}

/// Reason files and the worker's temporary files are not dead letters.
fn is_reason_or_tmp(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    bytes.starts_with(TMP_PREFIX.as_bytes()) || bytes.ends_with(REASON_SUFFIX.as_bytes())
}

/// unlink(2), which removes a symlink itself; gone already is fine.
fn remove_if_there(path: &Path) -> Result<(), SpoolError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(SpoolError::io("remove", path, err))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
