//! Why this exists: the worker's side of the spool — lock, list, claim, read — written for a root
//! process reading files an unprivileged (and possibly compromised) frontend controls, and
//! reachable only through the one [`SpoolLock`] value, so nothing but the lock holder can claim.
//!
//! Every entry is hostile until parsed: it may be a symlink, a FIFO, a directory, huge, hard
//! linked to a secret, have a name that is not UTF-8, or be held open for writing by the frontend.
//! None of these may crash or block the worker, change a job after it was read, or stay in the
//! spool forever.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

use crate::durable::TempFile;
use crate::failed;
use crate::hostile;
use crate::job::{Job, JobError};
use crate::spool::{check_name, SpoolDirs, SpoolError};

/// Mode of `worker.lock`: only root has any business with it.
const LOCK_FILE_MODE: u32 = 0o600;
/// Mode of a claimed job once the worker owns it: the frontend's group still reads it (to seed
/// its `nochg` memory from pending jobs), nobody but the worker writes it.
pub(crate) const CLAIMED_FILE_MODE: u32 = 0o640;
/// Prefix of the worker's temporary copies of claimed jobs, written at the spool's top (where
/// the frontend cannot create anything) so `cur/` only ever holds whole jobs.
const CLAIM_TMP_PREFIX: &str = ".claim-";

/// Proof that this process is the one worker on the spool, and the only way to claim, read,
/// complete or dead-letter jobs; the lock is released on drop.
pub struct SpoolLock {
    /// `None` only during drop.
    lock: Option<Flock<File>>,
    dirs: SpoolDirs,
    /// How a group of taken-over copies is made durable ([`SpoolLock::take_claimed_all`]).
    group_sync: GroupSync,
}

impl std::fmt::Debug for SpoolLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolLock")
            .field("lock", &self.lock)
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

/// The names in a spool directory, oldest first, and what became of entries whose names are
/// not UTF-8 (no dyndns frontend writes those, so they were moved to `failed/`).
#[derive(Debug, Default)]
pub struct Listing {
    pub names: Vec<String>,
    pub unreadable: Vec<UnreadableName>,
}

/// An entry with a non-UTF-8 name and where it went (or why it could not be moved: it is tried
/// again on the next listing).
#[derive(Debug)]
pub struct UnreadableName {
    pub name: OsString,
    pub moved_to: Result<PathBuf, SpoolError>,
}

/// Why a claimed job could not be taken over.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    /// The entry is not a job the worker will apply: dead-letter it with this reason. (Shown,
    /// not exposed as a source: a printed chain would say it twice.)
    #[error("{0}")]
    Rejected(JobError),
    /// Reading failed in a way that may pass (a lease being broken, `EAGAIN`, `EINTR`, no file
    /// descriptors left): the job stays in `cur/` and is read again later.
    #[error("cannot read {path} yet: {cause}")]
    NotYet { path: PathBuf, cause: io::Error },
    /// The job was read but its root-owned copy could not be written (a full disk, say): it stays
    /// in `cur/` and is taken again later.
    #[error("cannot take over the claimed job {path}: {cause}")]
    Copy { path: PathBuf, cause: SpoolError },
    /// Nothing is there any more.
    #[error("{path} vanished before it could be read")]
    Vanished { path: PathBuf },
}

impl SpoolLock {
    pub fn dirs(&self) -> &SpoolDirs {
        &self.dirs
    }

    /// Names in `new/`, oldest first.
    pub fn list_new(&self) -> Result<Listing, SpoolError> {
        self.list(&self.dirs.new())
    }

    /// Names in `cur/`, oldest first: jobs claimed and not yet settled.
    pub fn list_cur(&self) -> Result<Listing, SpoolError> {
        self.list(&self.dirs.cur())
    }

    fn list(&self, dir: &Path) -> Result<Listing, SpoolError> {
        let entries = std::fs::read_dir(dir).map_err(|cause| SpoolError::io("list", dir, cause))?;
        let mut listing = Listing::default();
        for entry in entries {
            let entry = entry.map_err(|cause| SpoolError::io("list", dir, cause))?;
            match entry.file_name().into_string() {
                Ok(name) => listing.names.push(name),
                Err(raw) => {
                    let shown = raw.to_string_lossy();
                    let reason =
                        format!("file name {shown:?} is not UTF-8, so no dyndns frontend wrote it");
                    let moved_to = failed::dead_letter_from(&self.dirs, dir, &raw, &reason);
                    if !matches!(moved_to, Err(SpoolError::Vanished { .. })) {
                        listing.unreadable.push(UnreadableName {
                            name: raw,
                            moved_to,
                        });
                    }
                }
            }
        }
        listing.names.sort_unstable();
        Ok(listing)
    }

    /// Moves `new/<name>` to `cur/<name>`. [`SpoolError::Vanished`] if it is gone (a scan
    /// can race with another scan's claim), which callers ignore. No fsync: after a crash the
    /// job is in `new/` or in `cur/`, and the worker scans both.
    pub fn claim(&self, name: &str) -> Result<(), SpoolError> {
        check_name(name)?;
        let from = self.dirs.new().join(name);
        let to = self.dirs.cur().join(name);
        match std::fs::symlink_metadata(&to) {
            // rename would silently replace the claimed job with this one.
            Ok(_) => {
                let reason = "a job with this name was already claimed in cur/";
                let moved_to = failed::dead_letter_from(
                    &self.dirs,
                    &self.dirs.new(),
                    OsStr::new(name),
                    reason,
                )?;
                return Err(SpoolError::Duplicate {
                    path: from,
                    moved_to,
                });
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(cause) => return Err(SpoolError::io("inspect", to, cause)),
        }
        rename_or_vanished(&from, &to)
    }

    /// Reads `cur/<name>` as hostile input — without following a symlink, blocking on a FIFO, or
    /// reading more than [`MAX_JOB_BYTES`] plus one — and then replaces it by a copy of the bytes
    /// read that belongs to this process (group: `cur/`'s, mode [`CLAIMED_FILE_MODE`]).
    ///
    /// The frontend wrote the original and may still hold it open; changing the owner of that
    /// inode would not stop such a writer. After the replacement its descriptors point at an
    /// unlinked inode, and what stays in `cur/` is exactly what the worker read and applies.
    pub fn take_claimed(&self, name: &str) -> Result<Job, TakeError> {
        let path = self.dirs.cur().join(name);
        let group = self.cur_group().map_err(|cause| TakeError::Copy {
            path: path.clone(),
            cause,
        })?;
        let (job, copy) = self.read_and_copy(name, group)?;
        let copied = copy.sync().and_then(|()| copy.rename(&path));
        copied.map_err(|error| TakeError::Copy {
            path,
            cause: error.into(),
        })?;
        Ok(job)
    }

    /// Reads `cur/<name>` as hostile input and writes the copy that will replace it (in the
    /// group `group`), neither synced nor renamed yet.
    fn read_and_copy(&self, name: &str, group: u32) -> Result<(Job, TempFile), TakeError> {
        let path = self.dirs.cur().join(name);
        if check_name(name).is_err() {
            let source = io::Error::new(io::ErrorKind::InvalidInput, "not a spool file name");
            return Err(TakeError::Rejected(JobError::Read { path, source }));
        }
        let bytes = read_hostile(&path)?;
        let job = Job::parse(&bytes).map_err(TakeError::Rejected)?;
        let tmp = self.dirs.root().join(format!(
            "{CLAIM_TMP_PREFIX}{}.tmp",
            uuid::Uuid::new_v4().simple()
        ));
        let copy = TempFile::create_exact(&tmp, &bytes, CLAIMED_FILE_MODE, Some(group)).map_err(
            |error| TakeError::Copy {
                path,
                cause: error.into(),
            },
        )?;
        Ok((job, copy))
    }

    /// The group a copy in `cur/` gets: `cur/`'s, so the frontend's group can still read it.
    fn cur_group(&self) -> Result<u32, SpoolError> {
        let cur = self.dirs.cur();
        Ok(std::fs::metadata(&cur)
            .map_err(|cause| SpoolError::io("inspect", &cur, cause))?
            .gid())
    }

    /// Removes `cur/<name>` once every family of its job is settled; already gone is fine. No
    /// fsync: if the removal is lost in a crash, the job is applied again, which is a no-change.
    pub fn complete(&self, name: &str) -> Result<(), SpoolError> {
        check_name(name)?;
        let path = self.dirs.cur().join(name);
        match std::fs::remove_file(&path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                Err(SpoolError::io("remove", path, err))
            }
            _ => Ok(()),
        }
    }

    /// Removes regular files older than `older_than` from `tmp/`: left by a frontend that
    /// crashed between create and rename. Returns how many were removed. Anything else in
    /// `tmp/` (symlinks, directories, FIFOs) is left for a person to look at.
    pub fn recover_tmp(&self, older_than: Duration, now: SystemTime) -> Result<usize, SpoolError> {
        let dir = self.dirs.tmp();
        remove_stale_files(&dir, now, |_, age| age > older_than)
    }
}

impl Drop for SpoolLock {
    fn drop(&mut self) {
        // nix's own drop panics if unlocking fails; a worker shutting down must not panic.
        if let Some(lock) = self.lock.take() {
            if let Err((lock, errno)) = lock.unlock() {
                tracing::warn!(path = ?self.dirs.lock_path(), %errno, "cannot unlock the spool; it stays locked until this process exits");
                std::mem::forget(lock);
            }
        }
    }
}

impl SpoolDirs {
    /// Takes `worker.lock`, so two workers never claim from one spool; the returned value is the
    /// only way to claim, read, complete and dead-letter jobs.
    pub fn lock(&self) -> Result<SpoolLock, SpoolError> {
        let path = self.lock_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(LOCK_FILE_MODE)
            // O_NONBLOCK: a FIFO planted under this name must not hang the worker's start.
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
            .open(&path)
            .map_err(|cause| SpoolError::io("open", &path, cause))?;
        let is_file = file
            .metadata()
            .map_err(|cause| SpoolError::io("inspect", &path, cause))?
            .is_file();
        if !is_file {
            let cause = io::Error::other("not a regular file");
            return Err(SpoolError::io("lock", &path, cause));
        }
        let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => SpoolLock {
                lock: Some(lock),
                dirs: self.clone(),
                group_sync: take_over::sync_file_system(),
            },
            Err((_, Errno::EWOULDBLOCK)) => return Err(SpoolError::Locked { path }),
            Err((_, errno)) => return Err(SpoolError::io("lock", &path, errno.into())),
        };
        // Copies of claimed jobs a crash left before their rename into cur/: the jobs themselves
        // are still in cur/ and are taken over again.
        remove_stale_files(self.root(), SystemTime::now(), |name, _| {
            name.starts_with(CLAIM_TMP_PREFIX)
        })?;
        Ok(lock)
    }
}

/// Opens and reads `path` as hostile input ([`hostile::read_job_bytes`]); an I/O failure that may
/// pass is [`TakeError::NotYet`], a vanished file [`TakeError::Vanished`].
fn read_hostile(path: &Path) -> Result<Vec<u8>, TakeError> {
    hostile::read_job_bytes(path).map_err(|err| match err {
        JobError::Read { path, source } => {
            let errno = Errno::from_raw(source.raw_os_error().unwrap_or(0));
            if errno == Errno::ENOENT {
                TakeError::Vanished { path }
            } else if may_pass(errno) {
                TakeError::NotYet {
                    path,
                    cause: source,
                }
            } else {
                TakeError::Rejected(JobError::Read { path, source })
            }
        }
        other => TakeError::Rejected(other),
    })
}

/// Errors after which the same read may well succeed: the file is fine, the moment is not. A
/// lease held by the frontend makes a non-blocking open fail with `EWOULDBLOCK` until the kernel
/// breaks it; `ETXTBSY`, `EBUSY` and running out of descriptors or memory pass too.
pub(crate) fn may_pass(errno: Errno) -> bool {
    matches!(
        errno,
        Errno::EAGAIN
            | Errno::EINTR
            | Errno::ETXTBSY
            | Errno::EBUSY
            | Errno::ENFILE
            | Errno::EMFILE
            | Errno::ENOMEM
            | Errno::ENOBUFS
    )
}

/// Removes the regular files in `dir` for which `stale(name, age)` holds (age by modification
/// time, zero if in the future). Returns how many were removed. Symlinks, directories and other
/// kinds are never touched: only a person should remove what the worker never writes.
pub(crate) fn remove_stale_files(
    dir: &Path,
    now: SystemTime,
    stale: impl Fn(&str, Duration) -> bool,
) -> Result<usize, SpoolError> {
    let entries = std::fs::read_dir(dir).map_err(|cause| SpoolError::io("list", dir, cause))?;
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|cause| SpoolError::io("list", dir, cause))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // DirEntry::metadata is lstat: a symlink is seen as a symlink, never its target.
        let Ok(metadata) = entry.metadata() else {
            continue; // gone already
        };
        let age = metadata
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .unwrap_or_default();
        if !metadata.is_file() || !stale(&name, age) {
            continue;
        }
        let path = entry.path();
        // unlink never follows a symlink, even if the entry was swapped since lstat.
        match std::fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(cause) => return Err(SpoolError::io("remove", path, cause)),
        }
    }
    Ok(removed)
}

/// rename(2), reporting a missing source as [`SpoolError::Vanished`].
pub(crate) fn rename_or_vanished(from: &Path, to: &Path) -> Result<(), SpoolError> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        // ENOENT may also mean the target directory is missing; only a missing source vanished.
        Err(err)
            if err.kind() == io::ErrorKind::NotFound
                && std::fs::symlink_metadata(from)
                    .is_err_and(|e| e.kind() == io::ErrorKind::NotFound) =>
        {
            Err(SpoolError::Vanished {
                path: from.to_path_buf(),
            })
        }
        Err(cause) => Err(SpoolError::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            cause,
        }),
    }
}

mod take_over;
use take_over::GroupSync;

#[cfg(test)]
mod tests;
