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

/// Removes a temporary file on drop unless it was renamed into place, so a failed write leaves
/// no debris for the next reader to trip over.
struct TempFileGuard<'a> {
    path: Option<&'a Path>,
}

impl Drop for TempFileGuard<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Best effort: we are already failing with a better error than this one.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Creates `tmp`, which must not exist (so a planted symlink is refused, not followed), writes
/// `bytes`, fsyncs it and renames it to `dest`. Durable once the caller fsyncs `dest`'s
/// directory; `tmp` is removed if anything fails.
pub(crate) fn write_then_rename(
    tmp: &Path,
    dest: &Path,
    bytes: &[u8],
    mode: u32,
) -> Result<(), DurableError> {
    create_write_rename(tmp, dest, bytes, mode, |_| Ok(()))
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

/// Like [`write_then_rename`], but the file gets exactly `mode` (whatever the umask) and, when
/// given, the group `gid`, both set on the open handle before any byte is written: for files whose
/// owner and mode are part of the privilege split, such as a claimed job in `cur/`.
pub(crate) fn write_exact_then_rename(
    tmp: &Path,
    dest: &Path,
    bytes: &[u8],
    mode: u32,
    gid: Option<u32>,
) -> Result<(), DurableError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    create_write_rename(tmp, dest, bytes, mode, |file| {
        let metadata = file.metadata().map_err(step("inspect", tmp))?;
        if let Some(gid) = gid.filter(|gid| *gid != metadata.gid()) {
            std::os::unix::fs::fchown(file, None, Some(gid))
                .map_err(step("change the group of", tmp))?;
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(step("set the mode of", tmp))
    })
}

/// The steps both writers share; `prepare` runs on the new, still empty file.
fn create_write_rename(
    tmp: &Path,
    dest: &Path,
    bytes: &[u8],
    mode: u32,
    prepare: impl FnOnce(&File) -> Result<(), DurableError>,
) -> Result<(), DurableError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(tmp)
        .map_err(step("create", tmp))?;
    let mut guard = TempFileGuard { path: Some(tmp) };
    prepare(&file)?;
    file.write_all(bytes).map_err(step("write", tmp))?;
    file.sync_all().map_err(step("fsync", tmp))?;
    std::fs::rename(tmp, dest).map_err(|source| DurableError::Rename {
        from: tmp.to_path_buf(),
        to: dest.to_path_buf(),
        source,
    })?;
    guard.path = None; // renamed away: nothing left to clean up
    Ok(())
}
