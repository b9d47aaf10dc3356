//! Why this exists: the notifier (and anything else that reacts to what the worker did) follows
//! `history.jsonl` as it grows, across rotations, and resumes after a restart where it stopped;
//! doing that right (a rotated file read to its end before the next, a half-written line left for
//! later, a cursor that survives renames) is done once, here.

use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    history_files, inode_of, open_for_reading, read_lines, HistoryError, HistoryEvent,
    HISTORY_FILE_NAME,
};

/// Where a follower stands: the file by inode (rotation renames it, never rewrites it) and the
/// byte after the last whole line it returned. Kept durably by the follower's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryCursor {
    pub inode: u64,
    pub offset: u64,
    /// The file's creation time (nanoseconds since the epoch), where the file system keeps one.
    /// ext4 gives a deleted file's inode to the next new file: once rotation has removed the
    /// cursor's file, the next `history.jsonl` often has its inode, and resuming there at `offset`
    /// skipped that many bytes of new events. An inode with another creation time is another file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub born: Option<u64>,
}

/// When `file` was created, in nanoseconds since the epoch; `None` where the file system does not
/// say.
fn born_of(file: &File) -> Option<u64> {
    let created = file.metadata().ok()?.created().ok()?;
    let since = created.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(since.as_nanos()).ok()
}

struct Reading {
    file: File,
    path: PathBuf,
    inode: u64,
    born: Option<u64>,
    offset: u64,
}

/// Where a new follower begins.
enum Start {
    /// The oldest file's first line.
    Oldest,
    /// After what the current file holds now.
    End,
    /// A cursor from an earlier follower.
    At(HistoryCursor),
}

/// Returns the events appended since the last [`HistoryFollower::poll`], oldest first.
pub struct HistoryFollower {
    dir: PathBuf,
    path: PathBuf,
    start: Option<Start>,
    reading: Option<Reading>,
    unreadable: usize,
    /// Files may have been rotated away unread since the last [`HistoryFollower::take_gap`].
    gap: bool,
}

impl HistoryFollower {
    /// From the first line of the oldest history file.
    pub fn from_oldest(state_dir: &Path) -> HistoryFollower {
        HistoryFollower::new(state_dir, Start::Oldest)
    }

    /// From what is appended after now.
    pub fn from_end(state_dir: &Path) -> HistoryFollower {
        HistoryFollower::new(state_dir, Start::End)
    }

    /// From `cursor`: its file if it is still there (under any of the history names), else from the
    /// oldest file, every one of which is then newer than the cursor.
    pub fn resume(state_dir: &Path, cursor: HistoryCursor) -> HistoryFollower {
        HistoryFollower::new(state_dir, Start::At(cursor))
    }

    fn new(state_dir: &Path, start: Start) -> HistoryFollower {
        HistoryFollower {
            dir: state_dir.to_path_buf(),
            path: state_dir.join(HISTORY_FILE_NAME),
            start: Some(start),
            reading: None,
            unreadable: 0,
            gap: false,
        }
    }

    /// Where the follower stands after the events returned so far; `None` before any file existed.
    pub fn cursor(&self) -> Option<HistoryCursor> {
        self.reading.as_ref().map(|reading| HistoryCursor {
            inode: reading.inode,
            offset: reading.offset,
            born: reading.born,
        })
    }

    /// Whether, since the last call, the file the follower stood in was gone when it looked for
    /// what follows it (rotated away: more rotations than the worker keeps files while the
    /// follower was not reading), so events in files removed meanwhile may never have been read.
    pub fn take_gap(&mut self) -> bool {
        std::mem::take(&mut self.gap)
    }

    /// The folder it follows the history in.
    pub fn history_dir(&self) -> &Path {
        &self.dir
    }

    /// Lines skipped so far because they were not events.
    pub fn unreadable(&self) -> usize {
        self.unreadable
    }

    /// Every whole event line appended since the last call, across rotations, oldest first.
    pub fn poll(&mut self) -> Result<Vec<HistoryEvent>, HistoryError> {
        let mut events = Vec::new();
        if self.reading.is_none() && !self.begin()? {
            return Ok(events);
        }
        loop {
            self.read_on(&mut events)?;
            let Some((inode, at_current_name)) = self
                .reading
                .as_ref()
                .map(|reading| (reading.inode, reading.path == self.path))
            else {
                return Ok(events);
            };
            match std::fs::symlink_metadata(&self.path) {
                Ok(metadata) if metadata.ino() == inode => return Ok(events),
                // Between a rotation's rename and the new file: it comes with the next append.
                Err(cause) if cause.kind() == io::ErrorKind::NotFound => {
                    if at_current_name {
                        return Ok(events);
                    }
                }
                Err(cause) => return Err(HistoryError::io("inspect", &self.path)(cause)),
                Ok(_) => {}
            }
            // Our file was rotated: the writer appended to it before renaming it, so what it
            // holds now is all it will hold.
            self.read_on(&mut events)?;
            if !self.open_after(Some(inode))? {
                return Ok(events);
            }
        }
    }

    /// Opens the first file as the start says; false when there is none yet.
    fn begin(&mut self) -> Result<bool, HistoryError> {
        match self.start.take() {
            None | Some(Start::Oldest) => self.open_after(None),
            Some(Start::End) => match open_for_reading(&self.path) {
                Ok(file) => {
                    let inode = inode_of(&file, &self.path)?;
                    let offset = file
                        .metadata()
                        .map_err(HistoryError::io("inspect", &self.path))?
                        .len();
                    self.reading = Some(Reading {
                        born: born_of(&file),
                        file,
                        path: self.path.clone(),
                        inode,
                        offset,
                    });
                    Ok(true)
                }
                Err(HistoryError::Io { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => {
                    // Everything from the file's creation on is new.
                    Ok(false)
                }
                Err(err) => Err(err),
            },
            Some(Start::At(cursor)) => {
                for path in history_files(&self.dir)? {
                    let Ok(file) = open_for_reading(&path) else {
                        continue;
                    };
                    let born = born_of(&file);
                    let same_birth = match (cursor.born, born) {
                        (Some(saved), Some(found)) => saved == found,
                        _ => true,
                    };
                    if inode_of(&file, &path)? == cursor.inode && same_birth {
                        self.reading = Some(Reading {
                            file,
                            path,
                            inode: cursor.inode,
                            born,
                            offset: cursor.offset,
                        });
                        return Ok(true);
                    }
                }
                // The cursor's file is gone: on with the first file made after it. None yet
                // (the current file removed by hand, no event since): wait, still at the cursor.
                if self.open_born_after(cursor.born)? {
                    self.gap = true;
                    return Ok(true);
                }
                self.start = Some(Start::At(cursor));
                Ok(false)
            }
        }
    }

    /// The history files there are now, oldest first, open, with their inodes.
    fn chain(&self) -> Result<Vec<(PathBuf, File, u64)>, HistoryError> {
        let mut chain = Vec::new();
        for path in history_files(&self.dir)? {
            match open_for_reading(&path) {
                Ok(file) => {
                    let found = inode_of(&file, &path)?;
                    chain.push((path, file, found));
                }
                Err(HistoryError::Io { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        Ok(chain)
    }

    /// Opens the oldest file made after `born` (any file made later is newer: rotation renames,
    /// and a name says nothing once a file was removed by hand); with `None`, the oldest file.
    /// False when there is none.
    fn open_born_after(&mut self, born: Option<u64>) -> Result<bool, HistoryError> {
        let next = self.chain()?.into_iter().find(|(_, file, _)| match born {
            // Creation times tick in clock ticks, not nanoseconds: a file made in the same tick
            // is taken, as is one whose time is not known; better told twice than never.
            Some(born) => born_of(file).is_none_or(|found| found >= born),
            None => true,
        });
        Ok(self.start_reading(next))
    }

    fn start_reading(&mut self, next: Option<(PathBuf, File, u64)>) -> bool {
        match next {
            Some((path, file, inode)) => {
                self.reading = Some(Reading {
                    born: born_of(&file),
                    file,
                    path,
                    inode,
                    offset: 0,
                });
                true
            }
            None => false,
        }
    }

    /// Opens the file that follows the one with `inode` (with `None`, the oldest; when that one is
    /// gone, the oldest made after it); false when there is none.
    fn open_after(&mut self, inode: Option<u64>) -> Result<bool, HistoryError> {
        let chain = self.chain()?;
        let Some(inode) = inode else {
            return Ok(self.start_reading(chain.into_iter().next()));
        };
        if let Some(index) = chain.iter().position(|(_, _, found)| *found == inode) {
            return Ok(self.start_reading(chain.into_iter().nth(index + 1)));
        }
        // Our file is gone (rotated away, or removed by hand): the files before it in the chain
        // were read already; go on with the first one made after it.
        let born = self.reading.as_ref().and_then(|reading| reading.born);
        let moved = self.open_born_after(born)?;
        if moved {
            self.gap = true;
        }
        Ok(moved)
    }

    /// Reads the whole lines after the cursor of the file being read.
    fn read_on(&mut self, events: &mut Vec<HistoryEvent>) -> Result<(), HistoryError> {
        let Some(reading) = &mut self.reading else {
            return Ok(());
        };
        let len = reading
            .file
            .metadata()
            .map_err(HistoryError::io("inspect", &reading.path))?
            .len();
        if len < reading.offset {
            // Emptied in place (`: > history.jsonl`, a copytruncate): what it holds now is new.
            reading.offset = 0;
        }
        reading
            .file
            .seek(SeekFrom::Start(reading.offset))
            .map_err(HistoryError::io("read", &reading.path))?;
        let mut lines = BufReader::new(&reading.file);
        let unreadable = &mut self.unreadable;
        let consumed = read_lines(&mut lines, &reading.path, |line| match line {
            Some(event) => events.push(event),
            None => *unreadable += 1,
        })?;
        reading.offset += consumed;
        Ok(())
    }
}
