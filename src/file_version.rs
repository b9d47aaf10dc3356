//! Why this exists: the frontend re-reads the worker's files (`applied.json` for `nochg`, and
//! `applied.json`, `history.jsonl` for `/status`) only when they changed, and "changed" is subtle
//! enough to say once. The worker replaces `applied.json` by a rename, so a new version is a new
//! inode; it appends to `history.jsonl`, so a new version is a new size. A modification time alone
//! missed a second save within the same clock tick of the file system (a few milliseconds), and
//! with it a dead-lettered change: a version modified that recently is not trusted to stay.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// One version of a file, as `stat` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVersion {
    device: u64,
    inode: u64,
    size: u64,
    modified: SystemTime,
}

/// A file modified this recently may be replaced or appended to again within the same tick of
/// the file system's clock, by a version that looks the same; it is read again until it is older.
const STILL_CHANGING: Duration = Duration::from_secs(2);

impl FileVersion {
    /// The version of the file at `path`; `None` if it cannot be stat'ed. (The readers that
    /// follow refuse a symlink themselves.)
    pub fn of(path: &Path) -> Option<FileVersion> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileVersion {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.len(),
            modified: meta.modified().ok()?,
        })
    }

    /// Whether what was read of this version may be remembered as it: it was last modified long
    /// enough before `now` that a later change shows as a new version.
    pub fn is_settled(&self, now: SystemTime) -> bool {
        now.duration_since(self.modified)
            .is_ok_and(|age| age >= STILL_CHANGING)
    }
}
