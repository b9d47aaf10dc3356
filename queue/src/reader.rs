//! Why this exists: the worker's side of the spool — claim, read, complete, dead-letter — written
//! for a root process reading files an unprivileged (and possibly compromised) frontend controls.
//!
//! Every entry is hostile until parsed: it may be a symlink, a FIFO, a directory, huge, hard
//! linked to a secret, or have a name that is not UTF-8. None of these may crash or block the
//! worker, and none may stay in the spool forever.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

use crate::durable;
use crate::job::{Job, JobError, MAX_JOB_BYTES};
use crate::rfc3339;
use crate::spool::{check_name, SpoolDirs, SpoolError};

/// Mode of `worker.lock`: only root has any business with it.
const LOCK_FILE_MODE: u32 = 0o600;
/// Mode of reason files: readable by the group that administers the spool.
const REASON_FILE_MODE: u32 = 0o640;
/// Reasons are for people; a longer one is noise (and may be attacker-chosen text).
const MAX_REASON_BYTES: usize = 4096;
/// Dead-letter names longer than this are shortened so `<name>.reason` plus a uniqueness
/// suffix still fits in NAME_MAX (255 bytes).
const MAX_FAILED_NAME_BYTES: usize = 200;
/// How much of an over-long name is kept, leaving room for `.truncated`.
const KEPT_NAME_BYTES: usize = 150;

/// Proof that this process is the one worker on the spool; released on drop.
#[derive(Debug)]
pub struct SpoolLock {
    /// `None` only during drop.
    lock: Option<Flock<File>>,
    path: PathBuf,
}

impl SpoolLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpoolLock {
    fn drop(&mut self) {
        // nix's own drop panics if unlocking fails; a worker shutting down must not panic.
        if let Some(lock) = self.lock.take() {
            if let Err((lock, errno)) = lock.unlock() {
                tracing::warn!(path = %self.path.display(), %errno, "cannot unlock the spool; it stays locked until this process exits");
                std::mem::forget(lock);
            }
        }
    }
}

impl SpoolDirs {
    /// Takes `worker.lock`, so two workers never claim from one spool.
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
            .map_err(|source| SpoolError::io("open", &path, source))?;
        let is_file = file
            .metadata()
            .map_err(|source| SpoolError::io("inspect", &path, source))?
            .is_file();
        if !is_file {
            let source = io::Error::other("not a regular file");
            return Err(SpoolError::io("lock", &path, source));
        }
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(SpoolLock {
                lock: Some(lock),
                path,
            }),
            Err((_, Errno::EWOULDBLOCK)) => Err(SpoolError::Locked { path }),
            Err((_, errno)) => Err(SpoolError::io("lock", &path, errno.into())),
        }
    }

    /// Names in `new/`, oldest first. Entries whose names are not UTF-8 cannot come from our
    /// frontend; they are dead-lettered here rather than returned.
    pub fn list_new(&self) -> Result<Vec<String>, SpoolError> {
        self.list(&self.new())
    }

    /// Names in `cur/`, oldest first: jobs claimed by a worker that stopped before finishing.
    pub fn list_cur(&self) -> Result<Vec<String>, SpoolError> {
        self.list(&self.cur())
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>, SpoolError> {
        let entries =
            std::fs::read_dir(dir).map_err(|source| SpoolError::io("list", dir, source))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SpoolError::io("list", dir, source))?;
            match entry.file_name().into_string() {
                Ok(name) => names.push(name),
                Err(raw) => self.dead_letter_unreadable_name(dir, &raw),
            }
        }
        names.sort_unstable();
        Ok(names)
    }

    /// Moves an entry with a non-UTF-8 name to `failed/`. A failure is logged and retried on
    /// the next scan: one bad name must not stop the good jobs behind it.
    fn dead_letter_unreadable_name(&self, dir: &Path, raw: &OsStr) {
        let shown = raw.to_string_lossy();
        let reason = format!("file name {shown:?} is not UTF-8, so no dyndns frontend wrote it");
        match self.dead_letter_from(dir, raw, &reason) {
            Ok(moved_to) => {
                tracing::warn!(name = ?shown, moved_to = %moved_to.display(), "dead-lettered a spool entry with a non-UTF-8 name")
            }
            Err(SpoolError::Vanished { .. }) => {}
            Err(error) => {
                tracing::warn!(name = ?shown, %error, "cannot dead-letter a spool entry with a non-UTF-8 name; retrying on the next scan")
            }
        }
    }

    /// Moves `new/<name>` to `cur/<name>`. [`SpoolError::Vanished`] if it is gone (a scan
    /// can race with another scan's claim), which callers ignore. No fsync: after a crash the
    /// job is in `new/` or in `cur/`, and the worker scans both.
    pub fn claim(&self, name: &str) -> Result<(), SpoolError> {
        check_name(name)?;
        let from = self.new().join(name);
        let to = self.cur().join(name);
        match std::fs::symlink_metadata(&to) {
            // rename would silently replace the claimed job with this one.
            Ok(_) => {
                let reason = "a job with this name was already claimed in cur/";
                let moved_to = self.dead_letter_from(&self.new(), OsStr::new(name), reason)?;
                return Err(SpoolError::Duplicate {
                    path: from,
                    moved_to,
                });
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(SpoolError::io("inspect", to, source)),
        }
        rename_or_vanished(&from, &to)
    }

    /// Reads and validates `cur/<name>` without following a symlink, blocking on a FIFO, or
    /// reading more than [`MAX_JOB_BYTES`] plus one.
    pub fn read_claimed(&self, name: &str) -> Result<Job, JobError> {
        let path = self.cur().join(name);
        if check_name(name).is_err() {
            let source = io::Error::new(io::ErrorKind::InvalidInput, "not a spool file name");
            return Err(JobError::Read { path, source });
        }
        let file = OpenOptions::new()
            .read(true)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
            .open(&path)
            .map_err(
                |source| match Errno::from_raw(source.raw_os_error().unwrap_or(0)) {
                    Errno::ELOOP => JobError::Symlink,
                    // open(2) on a Unix socket fails this way instead of opening it.
                    Errno::ENXIO => JobError::NotRegular("socket"),
                    _ => JobError::Read {
                        path: path.clone(),
                        source,
                    },
                },
            )?;
        let metadata = file.metadata().map_err(|source| JobError::Read {
            path: path.clone(),
            source,
        })?;
        if !metadata.is_file() {
            return Err(JobError::NotRegular(kind_of(&metadata.file_type())));
        }
        // A second link means the file is also somewhere else, e.g. a secret the frontend
        // cannot read but hoped root would quote back in an error.
        if metadata.nlink() != 1 {
            return Err(JobError::HardLinked(metadata.nlink()));
        }
        if metadata.len() > MAX_JOB_BYTES {
            return Err(JobError::TooLarge(metadata.len()));
        }
        // The file may grow after fstat; one byte over the cap is enough to know.
        let mut bytes = Vec::new();
        file.take(MAX_JOB_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| JobError::Read { path, source })?;
        let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if read > MAX_JOB_BYTES {
            return Err(JobError::TooLarge(read));
        }
        Job::parse(&bytes)
    }

    /// Removes `cur/<name>` once its job is applied; already gone is fine. No fsync: if the
    /// removal is lost in a crash, the job is applied again, which is a no-change.
    pub fn complete(&self, name: &str) -> Result<(), SpoolError> {
        check_name(name)?;
        let path = self.cur().join(name);
        match std::fs::remove_file(&path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                Err(SpoolError::io("remove", path, err))
            }
            _ => Ok(()),
        }
    }

    /// Moves `cur/<name>` (whatever kind of entry it is) to `failed/`, beside a `.reason` file
    /// saying why and when. Returns the new path, which gets a numeric suffix if `failed/`
    /// already holds that name.
    pub fn dead_letter(&self, name: &str, reason: &str) -> Result<PathBuf, SpoolError> {
        check_name(name)?;
        self.dead_letter_from(&self.cur(), OsStr::new(name), reason)
    }

    fn dead_letter_from(
        &self,
        dir: &Path,
        name: &OsStr,
        reason: &str,
    ) -> Result<PathBuf, SpoolError> {
        let from = dir.join(name);
        match std::fs::symlink_metadata(&from) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(SpoolError::Vanished { path: from })
            }
            Err(source) => return Err(SpoolError::io("inspect", from, source)),
        }
        let failed = self.failed();
        let (target, renamed) = free_failed_name(&failed, name)?;
        let to = failed.join(&target);
        let reason_path = failed.join(with_suffix(&target, ".reason"));

        let mut text = match rfc3339::format(SystemTime::now()) {
            Some(now) => format!("{now}: {}", printable(reason)),
            None => format!("(clock outside 1970..=9999): {}", printable(reason)),
        };
        if renamed {
            let original = name.to_string_lossy();
            text.push_str(&format!(" (original name {original:?})"));
        }
        text.push('\n');

        // Written under a temporary name first so a reason file is never seen half-written.
        let tmp = failed.join(format!(".tmp-{}.reason", uuid::Uuid::new_v4().simple()));
        durable::write_then_rename(&tmp, &reason_path, text.as_bytes(), REASON_FILE_MODE)?;

        if let Err(err) = rename_or_vanished(&from, &to) {
            // Otherwise the retry would leave this reason behind without its job.
            let _ = std::fs::remove_file(&reason_path);
            return Err(err);
        }
        durable::sync_dir(&failed)?;
        Ok(to)
    }

    /// Removes regular files older than `older_than` from `tmp/`: left by a frontend that
    /// crashed between create and rename. Returns how many were removed. Anything else in
    /// `tmp/` (symlinks, directories, FIFOs) is left for a person to look at.
    pub fn recover_tmp(&self, older_than: Duration) -> Result<usize, SpoolError> {
        let dir = self.tmp();
        let entries =
            std::fs::read_dir(&dir).map_err(|source| SpoolError::io("list", &dir, source))?;
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|source| SpoolError::io("list", &dir, source))?;
            let path = entry.path();
            // DirEntry::metadata is lstat: a symlink is seen as a symlink, never its target.
            let Ok(metadata) = entry.metadata() else {
                continue; // gone already: the frontend renamed it
            };
            let stale = metadata
                .modified()
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > older_than);
            if !metadata.is_file() || !stale {
                continue;
            }
            // unlink never follows a symlink, even if the entry was swapped since lstat.
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot remove a stale temporary job file")
                }
            }
        }
        Ok(removed)
    }
}

/// rename(2), reporting a missing source as [`SpoolError::Vanished`].
fn rename_or_vanished(from: &Path, to: &Path) -> Result<(), SpoolError> {
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

/// A name in `failed/` not yet taken by a dead letter or a reason file, and whether it differs
/// from `name`. Only the lock holder writes `failed/`, so checking first is race-free.
fn free_failed_name(failed: &Path, name: &OsStr) -> Result<(OsString, bool), SpoolError> {
    let bytes = name.as_bytes();
    let shortened = bytes.len() > MAX_FAILED_NAME_BYTES;
    let base = if shortened {
        with_suffix(OsStr::from_bytes(&bytes[..KEPT_NAME_BYTES]), ".truncated")
    } else {
        name.to_os_string()
    };
    let taken = |path: PathBuf| match std::fs::symlink_metadata(&path) {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(SpoolError::io("inspect", path, source)),
    };
    let mut candidate = base.clone();
    let mut attempt = 0u64;
    // Terminates: failed/ holds finitely many entries.
    loop {
        let reason = failed.join(with_suffix(&candidate, ".reason"));
        if !taken(failed.join(&candidate))? && !taken(reason)? {
            return Ok((candidate, shortened || attempt > 0));
        }
        attempt += 1;
        candidate = with_suffix(&base, &format!(".{attempt}"));
    }
}

fn with_suffix(name: &OsStr, suffix: &str) -> OsString {
    let mut out = name.to_os_string();
    out.push(suffix);
    out
}

/// `reason` on one line and of bounded length: it may quote attacker-chosen text.
fn printable(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len().min(MAX_REASON_BYTES));
    for c in reason.chars() {
        if out.len() >= MAX_REASON_BYTES {
            out.push_str(" ...(truncated)");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Words for the kind of a non-regular file, for reasons and logs.
fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests;
