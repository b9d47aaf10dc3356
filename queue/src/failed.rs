//! Why this exists: `failed/`, the dead-letter folder. Every entry the worker gives up on lands
//! there beside a `.reason` file a person can read, under a name found in constant time, and is
//! removed again once it is older than the operator's retention, so the folder cannot grow
//! without bound.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::durable;
use crate::job::Job;
use crate::reader::{rename_or_vanished, SpoolLock, CLAIMED_FILE_MODE};
use crate::rfc3339;
use crate::spool::{check_name, SpoolDirs, SpoolError};
use crate::text::is_deceptive;

/// Mode of reason files: readable by the group that administers the spool.
const REASON_FILE_MODE: u32 = 0o640;
/// Reasons are for people; a longer one is noise (and may be attacker-chosen text).
pub(crate) const MAX_REASON_BYTES: usize = 4096;
/// Dead-letter names longer than this are shortened so `<name>.<uuid>.reason` still fits in
/// NAME_MAX (255 bytes).
const MAX_FAILED_NAME_BYTES: usize = 200;
/// How much of an over-long name is kept, leaving room for `.truncated`.
const KEPT_NAME_BYTES: usize = 150;
/// Prefix of files being written in `failed/`; never a dead letter's name, which is a spool
/// file name and so has no such prefix unless hostile (and then it gets a unique suffix).
pub(crate) const TMP_PREFIX: &str = ".tmp-";
pub(crate) const REASON_SUFFIX: &str = ".reason";

impl SpoolLock {
    /// Moves `cur/<name>` (whatever kind of entry it is) to `failed/`, beside a `.reason` file
    /// saying why and when. Returns the new path: `failed/<name>`, or `failed/<name>.<uuid>` if
    /// that is taken.
    pub fn dead_letter(&self, name: &str, reason: &str) -> Result<PathBuf, SpoolError> {
        check_name(name)?;
        dead_letter_from(self.dirs(), &self.dirs().cur(), OsStr::new(name), reason)
    }

    /// Settles `cur/<name>` when only some of its job's address families failed: `part` (the job
    /// restricted to the failed families) is written to `failed/` beside its reason, and then
    /// `cur/<name>` is removed. Moving the dead letter back into `new/` retries exactly what
    /// failed. A crash before the removal leaves the job in `cur/`, to be applied again.
    pub fn dead_letter_part(
        &self,
        name: &str,
        part: &Job,
        reason: &str,
    ) -> Result<PathBuf, SpoolError> {
        check_name(name)?;
        let from = self.dirs().cur().join(name);
        exists_or_vanished(&from)?;
        let bytes = part.to_json()?;
        let failed = self.dirs().failed();
        let (target, renamed) = free_failed_name(&failed, OsStr::new(name))?;
        let to = failed.join(&target);
        let reason_path = write_reason(
            &failed,
            &target,
            reason,
            renamed.then_some(OsStr::new(name)),
        )?;
        let tmp = failed.join(format!(
            "{TMP_PREFIX}{}.json",
            uuid::Uuid::new_v4().simple()
        ));
        if let Err(err) =
            durable::write_exact_then_rename(&tmp, &to, &bytes, CLAIMED_FILE_MODE, None)
        {
            // Otherwise the retry would leave this reason behind without its job.
            let _ = std::fs::remove_file(&reason_path);
            return Err(err.into());
        }
        durable::sync_dir(&failed)?;
        match std::fs::remove_file(&from) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                Err(SpoolError::io("remove", from, err))
            }
            _ => Ok(to),
        }
    }

    /// Removes dead letters whose `.reason` is older than `keep` (and that reason), plus
    /// temporary files a crash left in `failed/`. An entry without a reason file was not put there
    /// by the worker and is left alone, and so is a directory that is not empty: a frontend built
    /// it, and root never descends into such a tree. What cannot be removed is reported in
    /// [`Retention::left`], and the rest is still removed.
    pub fn remove_expired_dead_letters(
        &self,
        keep: Duration,
        now: SystemTime,
    ) -> Result<Retention, SpoolError> {
        let failed = self.dirs().failed();
        let entries =
            std::fs::read_dir(&failed).map_err(|cause| SpoolError::io("list", &failed, cause))?;
        let mut retention = Retention::default();
        for entry in entries {
            let entry = entry.map_err(|cause| SpoolError::io("list", &failed, cause))?;
            let name = entry.file_name();
            let bytes = name.as_bytes();
            // lstat: a planted symlink is judged (and removed) as a symlink.
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            let expired = metadata
                .modified()
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > keep);
            if !expired || !metadata.is_file() {
                continue;
            }
            let result = if bytes.starts_with(TMP_PREFIX.as_bytes()) {
                remove_entry(&entry.path())
            } else if let Some(letter) = bytes.strip_suffix(REASON_SUFFIX.as_bytes()) {
                // `.reason`, `..reason` and `...reason` would name failed/ itself or the spool's
                // top (an older worker kept such hostile names as they were).
                let letter = OsStr::from_bytes(letter);
                if check_name(&letter.to_string_lossy()).is_err() {
                    remove_entry(&entry.path())
                } else {
                    // The reason goes only with its letter: a letter left behind keeps it.
                    remove_entry(&failed.join(letter)).and_then(|()| {
                        retention.removed += 1;
                        remove_entry(&entry.path())
                    })
                }
            } else {
                Ok(())
            };
            if let Err(error) = result {
                retention.left.push(error);
            }
        }
        Ok(retention)
    }
}

/// What a retention pass did.
#[derive(Debug, Default)]
pub struct Retention {
    /// Dead letters removed with their reasons.
    pub removed: usize,
    /// Expired entries that could not be removed, and why (a directory that is not empty, say).
    pub left: Vec<SpoolError>,
}

/// Moves `dir/<name>` to `failed/`; also used for entries of `new/` that are never claimed.
pub(crate) fn dead_letter_from(
    dirs: &SpoolDirs,
    dir: &Path,
    name: &OsStr,
    reason: &str,
) -> Result<PathBuf, SpoolError> {
    let from = dir.join(name);
    exists_or_vanished(&from)?;
    let failed = dirs.failed();
    let (target, renamed) = free_failed_name(&failed, name)?;
    let to = failed.join(&target);
    let reason_path = write_reason(&failed, &target, reason, renamed.then_some(name))?;
    if let Err(err) = rename_or_vanished(&from, &to) {
        // Otherwise the retry would leave this reason behind without its job.
        let _ = std::fs::remove_file(&reason_path);
        return Err(err);
    }
    durable::sync_dir(&failed)?;
    Ok(to)
}

fn exists_or_vanished(path: &Path) -> Result<(), SpoolError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(SpoolError::Vanished {
            path: path.to_path_buf(),
        }),
        Err(cause) => Err(SpoolError::io("inspect", path, cause)),
    }
}

/// Writes `failed/<target>.reason`: the time, the reason on one bounded line, and the original
/// name if the dead letter got another. Written under a temporary name first so a reason file is
/// never seen half-written.
fn write_reason(
    failed: &Path,
    target: &OsStr,
    reason: &str,
    original: Option<&OsStr>,
) -> Result<PathBuf, SpoolError> {
    let mut text = match rfc3339::format(SystemTime::now()) {
        Some(now) => format!("{now}: {}", printable(reason)),
        None => format!("(clock outside 1970..=9999): {}", printable(reason)),
    };
    if let Some(original) = original {
        let original = original.to_string_lossy();
        text.push_str(&format!(" (original name {original:?})"));
    }
    text.push('\n');
    let reason_path = failed.join(with_suffix(target, REASON_SUFFIX));
    let tmp = failed.join(format!(
        "{TMP_PREFIX}{}{REASON_SUFFIX}",
        uuid::Uuid::new_v4().simple()
    ));
    durable::write_then_rename(&tmp, &reason_path, text.as_bytes(), REASON_FILE_MODE)?;
    Ok(reason_path)
}

/// A name in `failed/` not taken by a dead letter or a reason file, and whether it differs from
/// `name`: `name` itself (shortened if too long), else that with a random suffix. At most a few
/// lookups whatever the folder holds. Only the lock holder writes `failed/`, so checking first
/// is race-free.
fn free_failed_name(failed: &Path, name: &OsStr) -> Result<(OsString, bool), SpoolError> {
    let bytes = name.as_bytes();
    let shortened = bytes.len() > MAX_FAILED_NAME_BYTES;
    let mut base = if shortened {
        with_suffix(OsStr::from_bytes(&bytes[..KEPT_NAME_BYTES]), ".truncated")
    } else {
        name.to_os_string()
    };
    // A hostile name starting like our temporary files would be swept away with them.
    let disguised = base.as_bytes().starts_with(TMP_PREFIX.as_bytes());
    if disguised {
        base = with_suffix(OsStr::new("_"), &base.to_string_lossy());
    }
    // One ending like a reason file would be taken for the reason of another dead letter (of
    // `..` for `...reason`) when retention comes: it always gets the suffix, so every `.reason`
    // in failed/ is one the worker wrote.
    let like_a_reason = base.as_bytes().ends_with(REASON_SUFFIX.as_bytes());
    let taken = |path: PathBuf| match std::fs::symlink_metadata(&path) {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(cause) => Err(SpoolError::io("inspect", path, cause)),
    };
    let free = |candidate: &OsStr| -> Result<bool, SpoolError> {
        Ok(!taken(failed.join(candidate))?
            && !taken(failed.join(with_suffix(candidate, REASON_SUFFIX)))?)
    };
    if !like_a_reason && free(&base)? {
        return Ok((base, shortened || disguised));
    }
    loop {
        // 122 random bits: a second round is as good as impossible, but costs nothing to allow.
        let unique = with_suffix(&base, &format!(".{}", uuid::Uuid::new_v4().simple()));
        if free(&unique)? {
            return Ok((unique, true));
        }
    }
}

/// Removes a file, symlink, FIFO or socket (never following a link), or an empty directory; gone
/// is fine. A directory with anything in it stays: removing a tree a frontend built recursively
/// as root could overflow the stack or run out of descriptors on a deep enough one.
fn remove_entry(path: &Path) -> Result<(), SpoolError> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir(path),
        Ok(_) => std::fs::remove_file(path),
        Err(err) => Err(err),
    };
    match result {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(SpoolError::io("remove", path, err))
        }
        _ => Ok(()),
    }
}

pub(crate) fn with_suffix(name: &OsStr, suffix: &str) -> OsString {
    let mut out = name.to_os_string();
    out.push(suffix);
    out
}

/// `reason` on one line, undisguised and of bounded length: it may quote attacker-chosen text.
fn printable(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len().min(MAX_REASON_BYTES));
    for c in reason.chars() {
        if out.len() >= MAX_REASON_BYTES {
            out.push_str(" ...(truncated)");
            break;
        }
        if c.is_control() || is_deceptive(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
