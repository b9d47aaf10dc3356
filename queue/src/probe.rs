//! Why this exists: the frontend must not start, or call itself healthy, when it could not spool a
//! job. A real write in `tmp/` (create, fsync, remove) proves the folder works end to end; `new/` is
//! only checked for permission, because any file there would be taken by the worker as a job.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::unistd::{eaccess, AccessFlags};

use crate::spool::{SpoolDirs, SpoolError};

impl SpoolDirs {
    /// Proves this process can spool: `tmp/` takes a durable file and `new/` is writable. The probe
    /// file is hidden (`.probe-…`) and removed at once; one left by a crash is old `tmp/` litter
    /// the worker clears like any other.
    pub fn probe_writable(&self) -> Result<(), SpoolError> {
        let tmp = self.tmp();
        let new = self.new();
        SpoolDirs::require_dir(&tmp)?;
        SpoolDirs::require_dir(&new)?;
        let probe = tmp.join(format!(".probe-{}", uuid::Uuid::new_v4().simple()));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&probe)
            .map_err(|cause| SpoolError::NotWritable {
                path: tmp.clone(),
                cause,
            })?;
        let written = file
            .write_all(b"dyndns spool probe\n")
            .and_then(|()| file.sync_all());
        drop(file);
        let removed = std::fs::remove_file(&probe);
        written.map_err(|cause| SpoolError::io("write and fsync", &probe, cause))?;
        removed.map_err(|cause| SpoolError::io("remove", &probe, cause))?;
        writable(&new)
    }

    /// The cheap check behind `/health`: this process may create entries in `tmp/` and `new/`
    /// (`access(2)` with the effective ids, so a read-only mount or a changed mode shows up; root
    /// passes any mode, as it would when writing), and the file system has room for a job.
    pub fn is_writable(&self) -> bool {
        writable(&self.tmp()).is_ok()
            && writable(&self.new()).is_ok()
            && full_file_system(&self.tmp(), Privilege::Unprivileged).is_none()
    }
}

/// Whose share of a file system counts: root may use the blocks reserved for it, others may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    Root,
    Unprivileged,
}

/// Why a file system takes no new file although the modes allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileSystemFull {
    #[error("its file system is mounted read-only")]
    ReadOnly,
    #[error("its file system is full (no space left)")]
    NoSpace,
    #[error("its file system has no inodes left (too many files)")]
    NoInodes,
}

/// Whether the file system holding `path` is read-only or full for `who`; `None` if it has room or
/// cannot be asked (the write itself will then say why).
pub fn full_file_system(path: &Path, who: Privilege) -> Option<FileSystemFull> {
    let stats = nix::sys::statvfs::statvfs(path).ok()?;
    let (blocks, inodes) = match who {
        Privilege::Root => (stats.blocks_free(), stats.files_free()),
        Privilege::Unprivileged => (stats.blocks_available(), stats.files_available()),
    };
    judge_file_system(
        stats
            .flags()
            .contains(nix::sys::statvfs::FsFlags::ST_RDONLY),
        blocks,
        inodes,
        stats.files(),
    )
}

/// A file system that counts no inodes at all (btrfs, an unlimited tmpfs) reports 0 of 0: that is
/// not a full one.
fn judge_file_system(
    read_only: bool,
    blocks_left: u64,
    inodes_left: u64,
    inodes_total: u64,
) -> Option<FileSystemFull> {
    if read_only {
        Some(FileSystemFull::ReadOnly)
    } else if blocks_left == 0 {
        Some(FileSystemFull::NoSpace)
    } else if inodes_total > 0 && inodes_left == 0 {
        Some(FileSystemFull::NoInodes)
    } else {
        None
    }
}

fn writable(dir: &Path) -> Result<(), SpoolError> {
    eaccess(dir, AccessFlags::W_OK | AccessFlags::X_OK).map_err(|errno| SpoolError::NotWritable {
        path: dir.to_path_buf(),
        cause: errno.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_leaves_nothing_behind() {
        let root = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(root.path());
        dirs.create_all().expect("create the spool");
        dirs.probe_writable().expect("a fresh spool is writable");
        assert!(dirs.is_writable());
        for dir in [dirs.tmp(), dirs.new()] {
            let left: Vec<_> = std::fs::read_dir(&dir).expect("list").collect();
            assert!(left.is_empty(), "{}: {left:?}", dir.display());
        }
    }

    #[test]
    fn planted_probe_lookalikes_in_tmp_are_neither_followed_nor_touched() {
        // The probe's name is random and created with O_CREAT|O_EXCL|O_NOFOLLOW: a FIFO or a
        // symbolic link planted under a probe-like name can neither hang it nor redirect it.
        let root = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(root.path().join("spool"));
        dirs.create_all().expect("create the spool");
        let target = root.path().join("target");
        std::fs::write(&target, "untouched").expect("write the target");
        nix::unistd::mkfifo(
            &dirs.tmp().join(".probe-fifo"),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .expect("mkfifo");
        std::os::unix::fs::symlink(&target, dirs.tmp().join(".probe-link")).expect("symlink");
        let (done, result) = std::sync::mpsc::channel();
        let probing = dirs.clone();
        std::thread::spawn(move || {
            let _ = done.send(probing.probe_writable().is_ok());
        });
        let probed = result
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the probe returned within five seconds");
        assert!(probed);
        assert_eq!(
            std::fs::read_to_string(&target).expect("read the target"),
            "untouched"
        );
        let mut left: Vec<_> = std::fs::read_dir(dirs.tmp())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        left.sort();
        assert_eq!(left, [".probe-fifo", ".probe-link"]);
    }

    #[test]
    fn a_full_file_system_is_not_writable_though_its_modes_allow_it() {
        assert_eq!(judge_file_system(false, 10, 10, 100), None);
        assert_eq!(
            judge_file_system(false, 0, 10, 100),
            Some(FileSystemFull::NoSpace)
        );
        assert_eq!(
            judge_file_system(false, 10, 0, 100),
            Some(FileSystemFull::NoInodes)
        );
        assert_eq!(
            judge_file_system(false, 10, 0, 0),
            None,
            "btrfs counts no inodes"
        );
        assert_eq!(
            judge_file_system(true, 10, 10, 100),
            Some(FileSystemFull::ReadOnly)
        );
        let root = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            full_file_system(root.path(), Privilege::Unprivileged),
            None,
            "the test machine's temporary folder has room"
        );
    }

    #[test]
    fn probe_of_a_missing_spool_names_the_folder_once() {
        let root = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(root.path().join("absent"));
        let err = dirs.probe_writable().expect_err("no spool");
        let text = err.to_string();
        assert!(matches!(err, SpoolError::MissingDir { .. }), "{text}");
        assert_eq!(text.matches("absent/tmp").count(), 1, "{text}");
        assert_eq!(text.matches("os error 2").count(), 1, "{text}");
        assert!(
            std::error::Error::source(&err).is_none(),
            "the cause is in the message"
        );
        assert!(!dirs.is_writable());
    }
}
