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
    pub owner: Ownership,
}

/// Mode, uid and gid of a file.
#[derive(Debug, Clone, Copy)]
pub struct Ownership {
    mode: u32,
    uid: u32,
    gid: u32,
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
        owner: Ownership {
            mode: meta.permissions().mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        },
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
pub fn write_zone_file(
    path: &Path,
    text: &[u8],
    previous: Option<Ownership>,
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
    if let Some(Ownership { uid, gid, .. }) = previous {
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
    temp.persist(path)
        .map_err(|e| failed("renaming the temporary file into place", e.error))?;
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
