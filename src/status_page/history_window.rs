//! Why this exists: the status page draws the last 30 days of `history.jsonl` on every load, and
//! the history may hold `history_max_bytes × (history_keep + 1)` bytes (the config allows far more
//! than a request should ever read). Reading it per request would let any user make the frontend
//! read it all again and again. So what was read is kept per file, known by device and inode (a
//! rotation renames, so a file read as `history.jsonl` is not read again as `history.jsonl.1`); a
//! file is read only from where the last read ended, files last written before the window are
//! never opened for their lines, and at most [`MAX_HISTORY_BYTES`] of the newest history are held:
//! beyond that the window is cut, and the page says so. Only events inside the window are kept,
//! with their error text cut to [`MAX_ERROR_CHARS`].

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::SystemTime;

use dyndns_queue::{history_files, open_for_reading, read_lines, HistoryError, HistoryEvent};

/// The most history the page reads and holds, newest first: about 100,000 events, some 30 days
/// of a few hundred hosts changing hourly. A longer history is cut at its oldest end.
pub const MAX_HISTORY_BYTES: u64 = 32 << 20;

/// An error text longer than this is cut (a backend's message may be a whole HTML error page).
pub const MAX_ERROR_CHARS: usize = 300;

/// How many bytes of a file's start identify it: an inode freed by a deleted file and reused by a
/// new one has other first bytes (another time, another job id).
const HEAD_BYTES: usize = 256;

/// The history files' events inside the window, kept between page loads.
pub struct HistoryWindow {
    files: Vec<ReadFile>,
    /// [`MAX_HISTORY_BYTES`], smaller in tests.
    budget: u64,
    /// The newest history exceeded the budget at the last refresh: older lines of the window were
    /// not read.
    cut: bool,
    /// Bytes read from history files so far, to prove by counting that a load reads only what is
    /// new.
    bytes_read: u64,
}

impl Default for HistoryWindow {
    fn default() -> HistoryWindow {
        HistoryWindow::with_budget(MAX_HISTORY_BYTES)
    }
}

/// What was read of one file version.
struct ReadFile {
    dev: u64,
    ino: u64,
    head: Vec<u8>,
    /// Bytes up to here are read (a last line still being written is not).
    read_to: u64,
    /// `read_to` is a line's start; false after the budget moved it into the file.
    aligned: bool,
    events: Vec<HistoryEvent>,
    unreadable: usize,
}

impl ReadFile {
    fn new(dev: u64, ino: u64) -> ReadFile {
        ReadFile {
            dev,
            ino,
            head: Vec::new(),
            read_to: 0,
            aligned: true,
            events: Vec::new(),
            unreadable: 0,
        }
    }
}

impl HistoryWindow {
    fn with_budget(budget: u64) -> HistoryWindow {
        HistoryWindow {
            files: Vec::new(),
            budget,
            cut: false,
            bytes_read: 0,
        }
    }

    /// Brings the kept events up to date with the files in `state_dir`, keeping those at or after
    /// `since`. Reads only what was appended since the last call, and what a rotation brought in.
    pub fn refresh(&mut self, state_dir: &Path, since: SystemTime) -> Result<(), HistoryError> {
        let mut kept_files = Vec::new();
        let mut budget = self.budget;
        self.cut = false;
        // Newest first: the budget goes to the newest history.
        for path in history_files(state_dir)?.iter().rev() {
            if budget == 0 {
                self.cut = true;
                break;
            }
            let file = match open_for_reading(path) {
                Ok(file) => file,
                // Rotated away between the listing and the open: its lines are in the next name.
                Err(HistoryError::Io { cause, .. })
                    if cause.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue
                }
                Err(err) => return Err(err),
            };
            let metadata = file.metadata().map_err(io_error("inspect", path))?;
            if metadata.modified().is_ok_and(|modified| modified < since) {
                // Last written before the window: so were all older files.
                break;
            }
            let mut read = self
                .take(metadata.dev(), metadata.ino())
                .unwrap_or_else(|| ReadFile::new(metadata.dev(), metadata.ino()));
            let head = read_head(&file, path)?;
            if metadata.len() < read.read_to || !head.starts_with(&read.head) {
                // Not the file version read before (cut short, or a reused inode): read it anew.
                read = ReadFile::new(metadata.dev(), metadata.ino());
            }
            read.head = head;
            let held = metadata.len().min(budget);
            budget -= held;
            let start = metadata.len() - held;
            if start > read.read_to {
                // Beyond the budget: only the newest `held` bytes, from the first whole line.
                read.events.clear();
                read.read_to = start;
                read.aligned = false;
                self.cut = true;
            }
            self.bytes_read += read_from(&mut read, file, path, since)?;
            read.events.retain(|event| event.time >= since);
            kept_files.push(read);
        }
        self.files = kept_files;
        Ok(())
    }

    fn take(&mut self, dev: u64, ino: u64) -> Option<ReadFile> {
        let index = self
            .files
            .iter()
            .position(|file| file.dev == dev && file.ino == ino)?;
        Some(self.files.swap_remove(index))
    }

    /// Every kept event (files newest first, each file's lines in order). Repeats after a worker
    /// crash are still in: the reader dedupes.
    pub fn events(&self) -> impl Iterator<Item = &HistoryEvent> {
        self.files.iter().flat_map(|file| file.events.iter())
    }

    /// Lines of the read files that were not events this build reads.
    pub fn unreadable(&self) -> usize {
        self.files.iter().map(|file| file.unreadable).sum()
    }

    /// Bytes read from history files since this frontend started.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Whether the last refresh left part of the window unread for [`MAX_HISTORY_BYTES`].
    pub fn cut(&self) -> bool {
        self.cut
    }
}

fn read_head(file: &File, path: &Path) -> Result<Vec<u8>, HistoryError> {
    let mut head = vec![0; HEAD_BYTES];
    let mut len = 0;
    while len < head.len() {
        match file.read_at(&mut head[len..], len as u64) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(cause) if cause.kind() == std::io::ErrorKind::Interrupted => {}
            Err(cause) => return Err(io_error("read", path)(cause)),
        }
    }
    head.truncate(len);
    Ok(head)
}

/// Reads `file` from `read.read_to` to its last whole line, and says how many bytes that took. A
/// start inside a line (the budget's cut) first skips to the next line.
fn read_from(
    read: &mut ReadFile,
    mut file: File,
    path: &Path,
    since: SystemTime,
) -> Result<u64, HistoryError> {
    let start = read.read_to;
    let mut before = [0u8; 1];
    if !read.aligned && start > 0 {
        file.read_exact_at(&mut before, start - 1)
            .map_err(io_error("read", path))?;
        read.aligned = before[0] == b'\n';
    }
    file.seek(SeekFrom::Start(start))
        .map_err(io_error("read", path))?;
    let mut lines = BufReader::new(file);
    let mut offset = start;
    if !read.aligned {
        let mut partial = Vec::new();
        let cap = u64::try_from(dyndns_queue::MAX_EVENT_BYTES).unwrap_or(u64::MAX) + 1;
        let skipped = (&mut lines)
            .take(cap)
            .read_until(b'\n', &mut partial)
            .map_err(io_error("read", path))?;
        if partial.last() != Some(&b'\n') && partial.len() < dyndns_queue::MAX_EVENT_BYTES {
            // No whole line after the cut yet: the next refresh looks again from the same place.
            return Ok(0);
        }
        offset += u64::try_from(skipped).unwrap_or(u64::MAX);
        read.aligned = true;
    }
    let events = &mut read.events;
    let unreadable = &mut read.unreadable;
    let consumed = read_lines(&mut lines, path, |line| match line {
        Some(mut event) if event.time >= since => {
            if let Some(error) = &mut event.error {
                cut_text(error, MAX_ERROR_CHARS);
            }
            events.push(event);
        }
        Some(_) => {}
        None => *unreadable += 1,
    })?;
    read.read_to = offset + consumed;
    Ok(offset - start + consumed)
}

/// The history error for a failed `action` on `path`.
fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> HistoryError + 'a {
    move |cause| HistoryError::Io {
        action,
        path: path.to_path_buf(),
        cause,
    }
}

/// Cuts `text` to `max` characters, marking the cut with `…`.
pub(super) fn cut_text(text: &mut String, max: usize) {
    if let Some((index, _)) = text.char_indices().nth(max) {
        text.truncate(index);
        text.push('\u{2026}');
    }
}

#[cfg(test)]
mod tests;
