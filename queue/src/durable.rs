//! Why this exists: write to a temporary name, fsync, rename, fsync the directory — every file
//! this crate writes goes through these steps, and a slip in them loses data on power failure.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

/// Which step failed on which path; callers turn it into their own error type.
#[derive(Debug)]
pub(crate) enum DurableError {
    Step {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
}

fn step<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DurableError + 'a {
    move |source| DurableError::Step {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary file created and written but not yet renamed into place; it is removed on drop
/// unless [`TempFile::rename`] moved it, so a failed write leaves no debris for the next reader to
/// trip over.
pub(crate) struct TempFile {
    path: TempPath,
    file: File,
}

/// The name of a [`TempFile`] whose descriptor was closed (many copies waiting for one sync
/// must not each hold a descriptor); removed on drop unless renamed.
pub(crate) struct TempPath {
    path: PathBuf,
    renamed: bool,
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.renamed {
            // Best effort: we are already failing with a better error than this one.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl TempPath {
    /// Renames the file to `dest`. Durable once its bytes were synced and the caller fsyncs
    /// `dest`'s directory.
    pub(crate) fn rename(mut self, dest: &Path) -> Result<(), DurableError> {
        std::fs::rename(&self.path, dest).map_err(|source| DurableError::Rename {
            from: self.path.clone(),
            to: dest.to_path_buf(),
            source,
        })?;
        self.renamed = true;
        Ok(())
    }
}

impl TempFile {
    /// Creates `tmp`, which must not exist (so a planted symlink is refused, not followed), and
    /// writes `bytes`; `prepare` runs on the new, still empty file. Nothing is synced.
    fn create(
        tmp: &Path,
        bytes: &[u8],
        mode: u32,
        prepare: impl FnOnce(&File) -> Result<(), DurableError>,
    ) -> Result<TempFile, DurableError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(OFlag::O_NOFOLLOW.bits())
            .open(tmp)
            .map_err(step("create", tmp))?;
        let mut temp = TempFile {
            path: TempPath {
                path: tmp.to_path_buf(),
                renamed: false,
            },
            file,
        };
        prepare(&temp.file)?;
        temp.file.write_all(bytes).map_err(step("write", tmp))?;
        Ok(temp)
    }

    /// [`TempFile::create`] with exactly `mode` (whatever the umask) and, when given, the group
    /// `gid`, both set on the open handle before any byte is written: for files whose owner and
    /// mode are part of the privilege split, such as a claimed job in `cur/`.
    pub(crate) fn create_exact(
        tmp: &Path,
        bytes: &[u8],
        mode: u32,
        gid: Option<u32>,
    ) -> Result<TempFile, DurableError> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        TempFile::create(tmp, bytes, mode, |file| {
            let metadata = file.metadata().map_err(step("inspect", tmp))?;
            if let Some(gid) = gid.filter(|gid| *gid != metadata.gid()) {
                std::os::unix::fs::fchown(file, None, Some(gid))
                    .map_err(step("change the group of", tmp))?;
            }
            // Usually the umask left `mode` as it is: one system call less per claimed job.
            if metadata.permissions().mode() & 0o7777 == mode {
                return Ok(());
            }
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(step("set the mode of", tmp))
        })
    }

    /// fsync of this file alone.
    pub(crate) fn sync(&self) -> Result<(), DurableError> {
        self.file.sync_all().map_err(step("fsync", &self.path.path))
    }

    pub(crate) fn rename(self, dest: &Path) -> Result<(), DurableError> {
        self.path.rename(dest)
    }

    /// Closes the descriptor; the file stays until renamed or dropped.
    pub(crate) fn close(self) -> TempPath {
        self.path
    }
}

/// Creates `tmp`, which must not exist, writes `bytes`, fsyncs it and renames it to `dest`.
/// Durable once the caller fsyncs `dest`'s directory; `tmp` is removed if anything fails.
pub(crate) fn write_then_rename(
    tmp: &Path,
    dest: &Path,
    bytes: &[u8],
    mode: u32,
) -> Result<(), DurableError> {
    let temp = TempFile::create(tmp, bytes, mode, |_| Ok(()))?;
    temp.sync()?;
    temp.rename(dest)
}

/// Opens a directory for fsyncing its entries. Symlinked spool or state directories are the
/// administrator's choice (only root can make them), so they are followed.
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_DIRECTORY.bits())
        .open(path)
}

/// Makes renames into and out of `path` durable.
pub(crate) fn sync_dir(path: &Path) -> Result<(), DurableError> {
    open_dir(path)
        .map_err(step("open", path))?
        .sync_all()
        .map_err(step("fsync", path))
}

/// Like [`write_then_rename`], but with exactly `mode` and, when given, the group `gid`
/// ([`TempFile::create_exact`]).
pub(crate) fn write_exact_then_rename(
    tmp: &Path,
    dest: &Path,
    bytes: &[u8],
    mode: u32,
    gid: Option<u32>,
) -> Result<(), DurableError> {
    let temp = TempFile::create_exact(tmp, bytes, mode, gid)?;
    temp.sync()?;
    temp.rename(dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// The umask (022 by default) strips group and other write from 0666 at open; the exact mode
    /// is still what the file ends with, and 0640, which the umask leaves alone, needs no fix.
    #[test]
    fn an_exact_mode_survives_the_umask() {
        let dir = tempfile::tempdir().expect("temp dir");
        for mode in [0o666, 0o640] {
            let tmp = dir.path().join("tmp");
            let dest = dir.path().join(format!("dest-{mode:o}"));
            write_exact_then_rename(&tmp, &dest, b"x", mode, None).expect("write");
            let got = std::fs::metadata(&dest).expect("stat").permissions().mode();
            assert_eq!(got & 0o7777, mode, "{mode:o}");
        }
    }
}
