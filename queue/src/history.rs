//! Why this exists: `history.jsonl` in the state folder is what the worker did to DNS — every
//! applied change, dead letter and backend failure, one JSON object per line — and several
//! processes read it: `dyndns-worker history` and `status`, the frontend's status page and
//! metrics (as the state folder's group), and the notifier, which follows it. This file is its one
//! definition: the event ([`HistoryEvent`]), the worker's append ([`HistoryLog`]) and rotation, and
//! the readers ([`read_history`], [`HistoryFollower`] in `history/follow.rs`).
//!
//! The promises:
//! - One pass's events are one `write` and one `fsync` (`fdatasync`), made before the pass's
//!   `applied.json` is saved. A crash can therefore repeat an event (the job is still in `cur/` and
//!   is applied again), never lose one: readers that count or notify dedupe by job id + family +
//!   event. A crash between the backend's write and the append is told by the next run: DNS holds
//!   the change already, the record does not, and the event says `changed` from the recorded
//!   address.
//! - Files are opened with `O_NOFOLLOW`: a symlink planted as `history.jsonl` is an error, never
//!   followed (the state folder is root's, but this costs nothing).
//! - Rotation is by rename only (`history.jsonl` → `.1` → … → `.<keep>`, the oldest replaced), so
//!   a follower holding the old file sees it end and a new inode appear at the name.
//! - A line that does not parse is skipped by readers and counted, never fatal; a write that fails
//!   half way is cut back off, so the next pass's first line is whole. A worker killed inside its
//!   `write` (a pass of more than a page can land in part) gets no such chance: the next append
//!   finds the file not ending in a newline and cuts it back to just after its last one (fsync'd,
//!   with a warning giving the byte count), so the partial line is lost alone, and the event after
//!   it is not glued onto it.
//! - The file is created 0640; the state folder is set-group-ID, so it belongs to the group that
//!   reads `applied.json`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use nix::fcntl::OFlag;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::durable;
use crate::state::Family;

mod follow;
#[cfg(test)]
mod tests;

pub use follow::{HistoryCursor, HistoryFollower};

/// The current history file's name in the state folder; rotated files add `.1`, `.2`, ….
pub const HISTORY_FILE_NAME: &str = "history.jsonl";

/// The line format this build writes. Fields may be added without a new number (readers ignore
/// fields they do not know); renaming one or changing its meaning needs a new number, and readers
/// count lines of another number as unreadable.
pub const HISTORY_VERSION: u32 = 1;

/// Same as `applied.json`: root writes, the state folder's group reads.
const HISTORY_FILE_MODE: u32 = 0o640;

/// The longest line a reader takes: an event is a few hundred bytes, an error text at most a few
/// KiB; anything longer is not a line this crate wrote.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The backend confirmed the change (`changed` says whether it wrote or found it in place).
    /// With `failures` above 0 it is a recovery: the change had failed that many times before.
    Applied,
    /// The change failed for good (or the job was refused at admission); its family of the job is
    /// in `failed/`.
    DeadLetter,
    /// The change failed for now and is retried. Written when a change first fails and again only
    /// when its error text changes, so an outage with retries every few seconds writes one line per
    /// change, not thousands; `failures` counts the attempts so far.
    BackendFailure,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Applied => "applied",
            EventKind::DeadLetter => "dead_letter",
            EventKind::BackendFailure => "backend_failure",
        }
    }
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// [`HISTORY_VERSION`].
    pub v: u32,
    /// When the worker settled it (its clock).
    #[serde(with = "crate::rfc3339")]
    pub time: SystemTime,
    pub event: EventKind,
    /// Canonical host name.
    pub host: String,
    pub family: Family,
    /// The addresses DNS held before, as the backend read them (or as `applied.json` recorded,
    /// for a backend that cannot read); empty when none.
    #[serde(default)]
    pub old: Vec<IpAddr>,
    /// The address the change sets; `null` for a delete (`offline=yes`, `/nic/delete`).
    pub new: Option<IpAddr>,
    /// The user whose job it was.
    pub user: String,
    /// The address the request came from, when the frontend knew it.
    pub client: Option<IpAddr>,
    /// The backend kind (`zonefile`, `plesk`, …); `null` for a job refused before reaching one.
    pub backend: Option<String>,
    /// The zone as the backend knows it; `null` as for `backend`.
    pub zone: Option<String>,
    /// The job whose change this was (the newest of those coalesced).
    pub job: Uuid,
    /// When the frontend accepted that job.
    #[serde(with = "crate::rfc3339")]
    pub received_at: SystemTime,
    /// How long the backend took for the batch holding the change; `null` when none was asked.
    pub ms: Option<u64>,
    /// For `applied`: whether the host's address changed: the backend wrote, or found the change
    /// already made although the last recorded address differs (a run killed after its write and
    /// before its history line; `old` is then that recorded address). False: nothing moved.
    #[serde(default)]
    pub changed: bool,
    /// Failed attempts of this change before this event (for `backend_failure`, including it).
    #[serde(default)]
    pub failures: u32,
    /// The failure's text (`backend_failure`, `dead_letter`); `null` for `applied`.
    pub error: Option<String>,
}

impl HistoryEvent {
    /// The key readers dedupe by: a crash between the append and the applied state's save makes
    /// the restarted worker write the same job's event again.
    pub fn dedupe_key(&self) -> (Uuid, Family, EventKind) {
        (self.job, self.family, self.event)
    }

    /// `old` for people: the addresses joined by `separator`, or `none` when DNS held none.
    pub fn old_shown(&self, separator: &str, none: &str) -> String {
        if self.old.is_empty() {
            return none.to_owned();
        }
        let old: Vec<String> = self.old.iter().map(ToString::to_string).collect();
        old.join(separator)
    }

    /// `new` for people: the address, or `deleted` for a delete.
    pub fn new_shown(&self) -> String {
        self.new
            .map_or_else(|| "deleted".to_owned(), |address| address.to_string())
    }
}

/// Why the history could not be written or read, naming the file once.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot {action} the history {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("the history {path} is a symbolic link; it is not followed: remove it")]
    Symlink { path: PathBuf },
    #[error("the history {path} is not a regular file")]
    NotRegular { path: PathBuf },
    #[error("cannot encode a history event for {path}: {cause}")]
    Encode {
        path: PathBuf,
        cause: serde_json::Error,
    },
}

impl HistoryError {
    pub(crate) fn io<'a>(
        action: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(io::Error) -> HistoryError + 'a {
        move |cause| HistoryError::Io {
            action,
            path: path.to_path_buf(),
            cause,
        }
    }
}

impl From<durable::DurableError> for HistoryError {
    fn from(err: durable::DurableError) -> Self {
        match err {
            durable::DurableError::Step {
                action,
                path,
                source,
            } => HistoryError::Io {
                action,
                path,
                cause: source,
            },
            durable::DurableError::Rename { to, source, .. } => HistoryError::Io {
                action: "rename into",
                path: to,
                cause: source,
            },
        }
    }
}

/// The worker's end: appends a pass's events, rotating by size.
#[derive(Debug)]
pub struct HistoryLog {
    dir: PathBuf,
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    syncs: u64,
}

/// `history.jsonl.<n>` beside `path`.
fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl HistoryLog {
    /// The history in `state_dir`, rotated once it would pass `max_bytes`, keeping `keep` rotated
    /// files (at least 1).
    pub fn new(state_dir: &Path, max_bytes: u64, keep: u32) -> HistoryLog {
        HistoryLog {
            dir: state_dir.to_path_buf(),
            path: state_dir.join(HISTORY_FILE_NAME),
            max_bytes,
            keep: keep.max(1),
            syncs: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many appends were made durable (one fsync each), for tests and the run's report.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Appends `events` with one write and one fsync (and, when the file was new, one fsync of the
    /// folder, so its name survives a crash too). Nothing is written for no events. On an error
    /// nothing of `events` stays in the file: the caller keeps them and tries again.
    pub fn append(&mut self, events: &[HistoryEvent]) -> Result<(), HistoryError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(events.len() * 320);
        for event in events {
            serde_json::to_writer(&mut bytes, event).map_err(|cause| HistoryError::Encode {
                path: self.path.clone(),
                cause,
            })?;
            bytes.push(b'\n');
        }
        let (mut file, mut created) = self.open_for_append()?;
        let mut len = file
            .metadata()
            .map_err(HistoryError::io("inspect", &self.path))?
            .len();
        len = self.cut_partial_last_line(&file, len)?;
        let added = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if len > 0 && len.saturating_add(added) > self.max_bytes {
            drop(file);
            self.rotate()?;
            (file, created) = self.open_for_append()?;
            len = 0;
        }
        if let Err(cause) = file.write_all(&bytes).and_then(|()| file.sync_data()) {
            // Cut a half-written pass back off (best effort), so the next append starts a line.
            let _ = file.set_len(len);
            return Err(HistoryError::Io {
                action: "append to",
                path: self.path.clone(),
                cause,
            });
        }
        if created {
            durable::sync_dir(&self.dir)?;
        }
        self.syncs += 1;
        Ok(())
    }

    /// Cuts `file` (of `len` bytes) back to just after its last newline, when it does not end in
    /// one: what follows is the part of a pass a killed worker wrote, which readers cannot parse
    /// and which would swallow the next event's line. Returns the length left. One `pread` of the
    /// last byte when the file is whole; the scan back only after a kill.
    fn cut_partial_last_line(&self, file: &File, len: u64) -> Result<u64, HistoryError> {
        const CHUNK: u64 = 64 * 1024;
        let mut end = len;
        let mut buf = vec![0u8; 1];
        let keep = loop {
            if end == 0 {
                break 0;
            }
            let start = end.saturating_sub(if end == len { 1 } else { CHUNK });
            let want = usize::try_from(end - start).unwrap_or(usize::MAX);
            buf.resize(want, 0);
            file.read_exact_at(&mut buf, start)
                .map_err(HistoryError::io("read the end of", &self.path))?;
            if let Some(at) = buf.iter().rposition(|&byte| byte == b'\n') {
                break u64::try_from(at).map_or(end, |at| start + at + 1);
            }
            end = start;
        };
        if keep == len {
            return Ok(len);
        }
        file.set_len(keep)
            .and_then(|()| file.sync_data())
            .map_err(HistoryError::io("cut a half-written line off", &self.path))?;
        tracing::warn!(
            path = %self.path.display(),
            bytes = len - keep,
            "cut a half-written last line (a worker killed while appending) off the history"
        );
        Ok(keep)
    }

    /// Opens the current file for appending, creating it (0640 whatever the umask) if missing;
    /// the bool says it was created.
    fn open_for_append(&self) -> Result<(File, bool), HistoryError> {
        let flags = (OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits();
        // Read too: a half-written last line is found by reading the file's end.
        let opened = OpenOptions::new()
            .read(true)
            .append(true)
            .custom_flags(flags)
            .open(&self.path);
        let (file, created) = match opened {
            Ok(file) => (file, false),
            Err(cause) if cause.kind() == io::ErrorKind::NotFound => {
                let file = OpenOptions::new()
                    .append(true)
                    .create_new(true)
                    .mode(HISTORY_FILE_MODE)
                    .custom_flags(flags)
                    .open(&self.path)
                    .map_err(|cause| self.open_error(cause))?;
                file.set_permissions(std::fs::Permissions::from_mode(HISTORY_FILE_MODE))
                    .map_err(HistoryError::io("set the mode of", &self.path))?;
                (file, true)
            }
            Err(cause) => return Err(self.open_error(cause)),
        };
        let metadata = file
            .metadata()
            .map_err(HistoryError::io("inspect", &self.path))?;
        if !metadata.is_file() {
            return Err(HistoryError::NotRegular {
                path: self.path.clone(),
            });
        }
        Ok((file, created))
    }

    fn open_error(&self, cause: io::Error) -> HistoryError {
        if cause.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
            return HistoryError::Symlink {
                path: self.path.clone(),
            };
        }
        HistoryError::Io {
            action: "open",
            path: self.path.clone(),
            cause,
        }
    }

    /// `.keep-1` → `.keep` (replacing the oldest), …, `.1` → `.2`, the current file → `.1`. Renames
    /// only: a follower's open file lives on under its new name.
    fn rotate(&self) -> Result<(), HistoryError> {
        for n in (1..self.keep).rev() {
            let from = rotated(&self.path, n);
            match std::fs::rename(&from, rotated(&self.path, n + 1)) {
                Ok(()) => {}
                Err(cause) if cause.kind() == io::ErrorKind::NotFound => {}
                Err(cause) => return Err(HistoryError::io("rotate", &from)(cause)),
            }
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))
            .map_err(HistoryError::io("rotate", &self.path))?;
        // The new file's creation syncs the folder, which makes these renames durable with it.
        Ok(())
    }
}

/// Every event in the history files, oldest first, and how many lines could not be read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HistoryRead {
    pub events: Vec<HistoryEvent>,
    /// Lines skipped: not JSON, not an event, another version, or longer than [`MAX_EVENT_BYTES`].
    pub unreadable: usize,
}

/// The history files in `state_dir`, oldest first: `history.jsonl.<n>` from the highest `n`
/// down, then `history.jsonl`. Only names of that form count; missing ones are skipped.
pub fn history_files(state_dir: &Path) -> Result<Vec<PathBuf>, HistoryError> {
    let mut rotated_files: Vec<(u32, PathBuf)> = Vec::new();
    let entries = std::fs::read_dir(state_dir).map_err(HistoryError::io("list", state_dir))?;
    let prefix = format!("{HISTORY_FILE_NAME}.");
    let mut current = None;
    for entry in entries {
        let entry = entry.map_err(HistoryError::io("list", state_dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name == HISTORY_FILE_NAME {
            current = Some(entry.path());
        } else if let Some(n) = name.strip_prefix(&prefix) {
            let digits = !n.is_empty() && n.bytes().all(|byte| byte.is_ascii_digit());
            if let Some(n) = n.parse::<u32>().ok().filter(|_| digits) {
                rotated_files.push((n, entry.path()));
            }
        }
    }
    rotated_files.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let mut files: Vec<PathBuf> = rotated_files.into_iter().map(|(_, path)| path).collect();
    files.extend(current);
    Ok(files)
}

/// Reads every history file in `state_dir`, oldest first (see [`history_files`]).
pub fn read_history(state_dir: &Path) -> Result<HistoryRead, HistoryError> {
    let mut read = HistoryRead::default();
    each_history_line(state_dir, |line| match line {
        Some(event) => read.events.push(event),
        None => read.unreadable += 1,
    })?;
    Ok(read)
}

/// Calls `each` for every line of the history files in `state_dir`, oldest first (an unreadable
/// line as `None`), holding one line at a time: for a reader that need not keep them all.
pub fn each_history_line(
    state_dir: &Path,
    mut each: impl FnMut(Option<HistoryEvent>),
) -> Result<(), HistoryError> {
    for path in history_files(state_dir)? {
        let file = match open_for_reading(&path) {
            Ok(file) => file,
            // Rotated away between the listing and the open: its lines are in the next name.
            Err(HistoryError::Io { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => {
                continue
            }
            Err(err) => return Err(err),
        };
        let mut lines = BufReader::new(file);
        read_lines(&mut lines, &path, &mut each)?;
    }
    Ok(())
}

/// Opens a history file to read: no symlink followed, no FIFO blocked on, regular files only.
pub fn open_for_reading(path: &Path) -> Result<File, HistoryError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
        .map_err(|cause| {
            if cause.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
                HistoryError::Symlink {
                    path: path.to_path_buf(),
                }
            } else {
                HistoryError::io("open", path)(cause)
            }
        })?;
    let metadata = file.metadata().map_err(HistoryError::io("inspect", path))?;
    if !metadata.is_file() {
        return Err(HistoryError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// The inode of an open history file (a follower tells a rotated file from the new one by it).
pub(crate) fn inode_of(file: &File, path: &Path) -> Result<u64, HistoryError> {
    Ok(file
        .metadata()
        .map_err(HistoryError::io("inspect", path))?
        .ino())
}

/// One line parsed: the event, or `None` for a line that is not one of this version.
pub fn parse_line(line: &[u8]) -> Option<HistoryEvent> {
    let event: HistoryEvent = serde_json::from_slice(line).ok()?;
    (event.v == HISTORY_VERSION).then_some(event)
}

/// Calls `each` for every complete line from `reader`'s position to its end (a line longer than
/// [`MAX_EVENT_BYTES`] as `None`), and returns how many bytes those lines took. A last line
/// without its newline is left unread (the writer's append is still under way).
pub fn read_lines(
    reader: &mut impl BufRead,
    path: &Path,
    mut each: impl FnMut(Option<HistoryEvent>),
) -> Result<u64, HistoryError> {
    let mut consumed = 0u64;
    let mut line = Vec::new();
    let mut overlong = false;
    loop {
        line.clear();
        let cap = u64::try_from(MAX_EVENT_BYTES).unwrap_or(u64::MAX) + 1;
        let read = (&mut *reader)
            .take(cap)
            .read_until(b'\n', &mut line)
            .map_err(HistoryError::io("read", path))?;
        if read == 0 {
            return Ok(consumed);
        }
        if line.last() != Some(&b'\n') {
            if read < MAX_EVENT_BYTES + 1 {
                // The end of the file, within a line still being written.
                return Ok(consumed);
            }
            // Over the cap: the rest of this line is skipped with it.
            overlong = true;
            consumed += u64::try_from(read).unwrap_or(u64::MAX);
            continue;
        }
        consumed += u64::try_from(read).unwrap_or(u64::MAX);
        if std::mem::take(&mut overlong) {
            each(None);
            continue;
        }
        each(parse_line(&line[..line.len() - 1]));
    }
}
