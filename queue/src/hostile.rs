//! Why this exists: both processes read spool files an unprivileged (possibly compromised) frontend
//! controls — the worker when it takes a job over, the frontend when it seeds `nochg` at start — and
//! both must read them the same careful way: no symlink followed, no FIFO blocking, one link, size
//! capped before and while reading.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::job::{JobError, MAX_JOB_BYTES};

/// The bytes of the spool file at `path`, read as hostile input. An I/O failure is
/// [`JobError::Read`] with its cause, so callers can tell a vanished or busy file from a bad one.
pub(crate) fn read_job_bytes(path: &Path) -> Result<Vec<u8>, JobError> {
    let read_error = |source| JobError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
        .map_err(|source: io::Error| {
            match Errno::from_raw(source.raw_os_error().unwrap_or(0)) {
                Errno::ELOOP => JobError::Symlink,
                // open(2) on a Unix socket fails this way instead of opening it.
                Errno::ENXIO => JobError::NotRegular("socket"),
                _ => read_error(source),
            }
        })?;
    let metadata = file.metadata().map_err(read_error)?;
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
        .map_err(read_error)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > MAX_JOB_BYTES {
        return Err(JobError::TooLarge(read));
    }
    Ok(bytes)
}

/// Words for the kind of a non-regular file, for reasons and logs.
pub(crate) fn kind_of(file_type: &std::fs::FileType) -> &'static str {
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
