//! Why this exists: both processes read spool files an unprivileged (possibly compromised) frontend
//! controls — the worker when it takes a job over, the frontend when it seeds `nochg` at start — and
//! both must read them the same careful way: no symlink followed, no FIFO blocking, one link, size
//! capped before and while reading. `applied.json` is read by the same code, with its own rules.

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
    let options = ReadOptions {
        follow_symlink: false,
        one_link: true,
        cap: MAX_JOB_BYTES,
    };
    read_regular_capped(path, options).map_err(|problem| match problem {
        CappedRead::Io(source) => match Errno::from_raw(source.raw_os_error().unwrap_or(0)) {
            Errno::ELOOP => JobError::Symlink,
            // open(2) on a Unix socket fails this way instead of opening it.
            Errno::ENXIO => JobError::NotRegular("socket"),
            _ => JobError::Read {
                path: path.to_path_buf(),
                source,
            },
        },
        CappedRead::NotRegular(kind) => JobError::NotRegular(kind),
        // A second link means the file is also somewhere else, e.g. a secret the frontend
        // cannot read but hoped root would quote back in an error.
        CappedRead::HardLinked(links) => JobError::HardLinked(links),
        CappedRead::TooLarge(size) => JobError::TooLarge(size),
    })
}

/// How [`read_regular_capped`] treats the file at its path.
pub(crate) struct ReadOptions {
    /// Follow a symlink at the path (only where only root can make one).
    pub follow_symlink: bool,
    /// Refuse a file with more than one link.
    pub one_link: bool,
    /// The most bytes a sane file of this kind has.
    pub cap: u64,
}

/// Why [`read_regular_capped`] read nothing.
pub(crate) enum CappedRead {
    Io(io::Error),
    NotRegular(&'static str),
    HardLinked(u64),
    TooLarge(u64),
}

/// Reads `path` whole, never blocking on a FIFO (`O_NONBLOCK`), only if it is a regular file, and
/// never more than `options.cap` bytes: checked on the open handle before reading, and while reading,
/// as the file may grow after fstat (one byte over the cap is enough to know).
pub(crate) fn read_regular_capped(
    path: &Path,
    options: ReadOptions,
) -> Result<Vec<u8>, CappedRead> {
    let mut flags = OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    if !options.follow_symlink {
        flags |= OFlag::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(CappedRead::Io)?;
    let metadata = file.metadata().map_err(CappedRead::Io)?;
    if !metadata.is_file() {
        return Err(CappedRead::NotRegular(kind_of(&metadata.file_type())));
    }
    if options.one_link && metadata.nlink() != 1 {
        return Err(CappedRead::HardLinked(metadata.nlink()));
    }
    if metadata.len() > options.cap {
        return Err(CappedRead::TooLarge(metadata.len()));
    }
    let mut bytes = Vec::new();
    file.take(options.cap + 1)
        .read_to_end(&mut bytes)
        .map_err(CappedRead::Io)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > options.cap {
        return Err(CappedRead::TooLarge(read));
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
