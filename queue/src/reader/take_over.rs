//! Why this exists: taking over a burst of claimed jobs must not cost one disk flush per job. The
//! worker replaces every claimed job by a copy it owns ([`SpoolLock::take_claimed`]), and a copy
//! must be durable before it replaces the frontend's durable original, or a crash could leave an
//! empty file where a job was. Synced one by one, that is an fsync (a journal commit and a cache
//! flush) per job: most of the time 10,000 new hosts took. So a group is taken over in three
//! steps — every copy written, ONE `syncfs(2)` of the spool's file system, then every rename —
//! like the frontend's group commit of `new/` (`writer.rs`).
//!
//! The promise is unchanged: no copy replaces its job before a sync that began after the copy's
//! bytes were written has succeeded. A failed sync replaces nothing: every job stays in `cur/` as
//! the frontend wrote it, its copy is removed, and it is taken again later. `syncfs` reports a
//! write-back error that happened on the file system since the descriptor it is given was opened
//! (Linux 5.8 and later), so that descriptor is opened before the first copy is written. Its cost:
//! it also writes out whatever else is dirty on that file system, once per group; a single job is
//! still synced alone. Where `syncfs` does not exist, each copy is synced alone as before.

use std::fs::File;
use std::io;

use crate::durable::{self, TempPath};
use crate::job::Job;
use crate::spool::SpoolError;

use super::{SpoolLock, TakeError};

/// Makes every copy of a group durable at once, given the spool's top folder (opened before the
/// first copy was written). `syncfs(2)` in production; tests hand in one that counts or fails.
pub(crate) type GroupSync = Box<dyn Fn(&File) -> io::Result<()> + Send + Sync>;

/// Whether this system has `syncfs(2)`, so that a group can share one sync.
const GROUP_SYNC: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The production [`GroupSync`].
pub(crate) fn sync_file_system() -> GroupSync {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return Box::new(|root: &File| nix::unistd::syncfs(root).map_err(io::Error::from));
    // Never called there: without syncfs (`GROUP_SYNC` false) each copy is synced alone.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return Box::new(|_: &File| Err(io::Error::from(io::ErrorKind::Unsupported)));
}

impl SpoolLock {
    /// [`SpoolLock::take_claimed`] for every name, with one sync for all their copies (see the
    /// module doc). One result per name, in order.
    pub fn take_claimed_all(&self, names: &[String]) -> Vec<Result<Job, TakeError>> {
        if names.len() < 2 || !GROUP_SYNC {
            return names.iter().map(|name| self.take_claimed(name)).collect();
        }
        let root = self.dirs.root();
        // Before the first copy is written: syncfs reports write-back errors since this open.
        let root_dir = match durable::open_dir(root) {
            Ok(dir) => dir,
            Err(cause) => return self.none_taken(names, &SpoolError::io("open", root, cause)),
        };
        let group = match self.cur_group() {
            Ok(group) => group,
            Err(cause) => return self.none_taken(names, &cause),
        };
        let copies: Vec<Result<(Job, TempPath), TakeError>> = names
            .iter()
            .map(|name| {
                let (job, copy) = self.read_and_copy(name, group)?;
                Ok((job, copy.close()))
            })
            .collect();
        let synced = if copies.iter().any(Result::is_ok) {
            (self.group_sync)(&root_dir)
        } else {
            Ok(())
        };
        names
            .iter()
            .zip(copies)
            .map(|(name, copied)| {
                let (job, copy) = copied?;
                let path = self.dirs.cur().join(name);
                if let Err(cause) = &synced {
                    // Dropping the copy removes it; the job stays in cur/ as it was.
                    let cause = SpoolError::io("sync the file system of", root, same(cause));
                    return Err(TakeError::Copy { path, cause });
                }
                copy.rename(&path).map_err(|error| TakeError::Copy {
                    path,
                    cause: error.into(),
                })?;
                Ok(job)
            })
            .collect()
    }

    /// `cause` for every job of a group none of which could be taken over.
    fn none_taken(&self, names: &[String], cause: &SpoolError) -> Vec<Result<Job, TakeError>> {
        let io = |error: &SpoolError| match error {
            SpoolError::Io {
                action,
                path,
                cause,
            } => SpoolError::io(action, path, same(cause)),
            other => SpoolError::io(
                "take over",
                self.dirs.root(),
                io::Error::other(other.to_string()),
            ),
        };
        names
            .iter()
            .map(|name| {
                Err(TakeError::Copy {
                    path: self.dirs.cur().join(name),
                    cause: io(cause),
                })
            })
            .collect()
    }
}

/// The same error again, for each job it fails (`io::Error` cannot be cloned).
fn same(error: &io::Error) -> io::Error {
    match error.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(error.kind(), error.to_string()),
    }
}

#[cfg(test)]
mod tests;
