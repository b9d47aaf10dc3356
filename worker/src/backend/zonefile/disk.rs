//! Why this exists: the zone file's path is in the config, but whatever sits there is read by root, so
//! it is opened like a hostile spool file (never following a link, never blocking on a FIFO, only a
//! regular file, size capped) and replaced only atomically.
//!
//! Writes go to a temporary file beside the zone (same mode and owner as the old file, so a `root:bind
//! 0640` zone stays readable by named), are synced, renamed over the zone and the folder synced.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use super::{ZoneFileError, MAX_ZONE_FILE_BYTES};

/// Mode of a zone file we create: named usually runs as its own user and must read it.
const NEW_FILE_MODE: u32 = 0o644;

/// A zone file as found, with what its replacement must keep.
pub struct ExistingFile {
    pub text: Vec<u8>,
    pub found: Found,
}

/// Mode, uid and gid of the file read, which its replacement keeps, and what tells whether the file
/// at the path is still the one read (a person may edit it while dyndns does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    mode: u32,
    uid: u32,
    gid: u32,
    /// Device, inode, size, modification and change times: any write or replacement moves one.
    version: (u64, u64, u64, i64, i64, i64, i64),
}

impl Found {
    fn of(meta: &fs::Metadata) -> Found {
        Found {
            mode: meta.permissions().mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            version: (
                meta.dev(),
                meta.ino(),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.ctime(),
                meta.ctime_nsec(),
            ),
        }
    }
}

/// Reads the zone, or `None` when there is no file yet.
pub fn read_zone_file(path: &Path) -> Result<Option<ExistingFile>, ZoneFileError> {
    let read_error = |action, error| ZoneFileError::Read {
        action,
        path: path.to_path_buf(),
        error,
    };
    // O_NOFOLLOW: the rename that replaces the file would replace a link, not its target.
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(ZoneFileError::Symlink {
                path: path.to_path_buf(),
            })
        }
        // A unix socket cannot be opened at all; say what it is rather than "no such device".
        Err(e) if e.raw_os_error() == Some(nix::libc::ENXIO) => {
            return Err(not_regular(path, fs::symlink_metadata(path).ok()));
        }
        Err(e) => return Err(read_error("open", e)),
    };
    let meta = file.metadata().map_err(|e| read_error("inspect", e))?;
    if !meta.is_file() {
        return Err(not_regular(path, Some(meta)));
    }
    if meta.len() > MAX_ZONE_FILE_BYTES {
        return Err(ZoneFileError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let mut text = Vec::new();
    // The cap holds even if the file grows after the check.
    file.take(MAX_ZONE_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| read_error("read", e))?;
    if text.len() as u64 > MAX_ZONE_FILE_BYTES {
        return Err(ZoneFileError::TooLarge {
            path: path.to_path_buf(),
            size: text.len() as u64,
        });
    }
    Ok(Some(ExistingFile {
        text,
        found: Found::of(&meta),
    }))
}

fn not_regular(path: &Path, meta: Option<fs::Metadata>) -> ZoneFileError {
    let kind = meta.map_or("special file", |meta| {
        let kind = meta.file_type();
        if kind.is_dir() {
            "directory"
        } else if kind.is_fifo() {
            "FIFO"
        } else if kind.is_socket() {
            "socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "device"
        } else {
            "special file"
        }
    });
    ZoneFileError::NotRegular {
        path: path.to_path_buf(),
        kind,
    }
}

/// Atomically replaces `path` with `text`, keeping the old file's mode and owner when there was one.
/// If the file at `path` is no longer the one read (`previous`, or none), nothing is replaced: a
/// person's edit made meanwhile would be lost. The check is made just before the rename, which
/// leaves a moment, not the whole edit, for such a race.
pub fn write_zone_file(
    path: &Path,
    text: &[u8],
    previous: Option<Found>,
) -> Result<(), ZoneFileError> {
    let failed = |step: &str, error| ZoneFileError::Write {
        path: path.to_path_buf(),
        step: step.to_owned(),
        error,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        failed(
            "the path has no file name",
            io::Error::from(io::ErrorKind::InvalidInput),
        )
    })?;
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    // Removed again on drop unless persisted: an error below leaves no stray file.
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| failed("creating a temporary file beside it", e))?;

    let mode = previous.map_or(NEW_FILE_MODE, |owner| owner.mode);
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| failed("setting the mode of the temporary file", e))?;
    if let Some(Found { uid, gid, .. }) = previous {
        let meta = temp
            .as_file()
            .metadata()
            .map_err(|e| failed("inspecting the temporary file", e))?;
        if (meta.uid(), meta.gid()) != (uid, gid) {
            std::os::unix::fs::fchown(temp.as_file(), Some(uid), Some(gid))
                .map_err(|e| failed(&format!("giving the new file owner {uid}:{gid}"), e))?;
        }
    }
    temp.write_all(text)
        .map_err(|e| failed("writing the temporary file", e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| failed("syncing the temporary file", e))?;
    let changed = || ZoneFileError::ChangedMeanwhile {
        path: path.to_path_buf(),
    };
    match previous {
        Some(found) => {
            let now = fs::symlink_metadata(path).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => changed(),
                _ => failed("checking it is still the file read", e),
            })?;
            if Found::of(&now) != found {
                return Err(changed());
            }
            temp.persist(path)
                .map_err(|e| failed("renaming the temporary file into place", e.error))?;
        }
        // No file was there: one that appeared meanwhile is never replaced.
        None => {
            temp.persist_noclobber(path)
                .map_err(|e| match e.error.kind() {
                    io::ErrorKind::AlreadyExists => changed(),
                    _ => failed("renaming the temporary file into place", e.error),
                })?;
        }
    }
    // The rename is durable only once the folder is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| failed(&format!("syncing folder {}", dir.display()), e))?;
    Ok(())
}

/// The file for `zone`: `{zone}` in the template replaced, byte for byte (paths need not be UTF-8).
/// The zone was checked to be a host name, so it has no `/` and cannot be `..`.
pub fn path_for(template: &Path, zone: &str) -> PathBuf {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let template = template.as_os_str().as_bytes();
    let needle = b"{zone}";
    let mut out = Vec::with_capacity(template.len());
    let mut i = 0;
    while i < template.len() {
        if template[i..].starts_with(needle) {
            out.extend_from_slice(zone.as_bytes());
            i += needle.len();
        } else {
            out.push(template[i]);
            i += 1;
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &[u8] = b"@ SOA ns. hm 1 2 3 4 5\n";

    #[test]
    fn a_hand_edit_between_read_and_write_is_not_overwritten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.example.com");
        fs::write(&path, ZONE).expect("seed");
        let read = read_zone_file(&path).expect("read").expect("a file");
        // A person appends a record, in place, while dyndns edits its copy.
        let mut edited = ZONE.to_vec();
        edited.extend_from_slice(b"mail A 192.0.2.25\n");
        fs::write(&path, &edited).expect("hand edit");

        let err = write_zone_file(&path, b"ours\n", Some(read.found)).expect_err("refused");
        assert!(
            matches!(err, ZoneFileError::ChangedMeanwhile { .. }),
            "{err}"
        );
        assert!(err.is_transient(), "retried with the new text");
        assert_eq!(fs::read(&path).expect("read"), edited);

        // Nor is a file that appeared after dyndns found none replaced.
        let fresh = dir.path().join("db.example.org");
        fs::write(&fresh, ZONE).expect("created by hand");
        let err = write_zone_file(&fresh, b"ours\n", None).expect_err("refused");
        assert!(
            matches!(err, ZoneFileError::ChangedMeanwhile { .. }),
            "{err}"
        );
        assert_eq!(fs::read(&fresh).expect("read"), ZONE);
        let names: Vec<_> = fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(names.len(), 2, "no temporary file left behind");

        // The file read, unchanged, is replaced.
        let read = read_zone_file(&path).expect("read").expect("a file");
        write_zone_file(&path, b"ours\n", Some(read.found)).expect("written");
        assert_eq!(fs::read(&path).expect("read"), b"ours\n");
    }
}
