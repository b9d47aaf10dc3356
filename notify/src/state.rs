//! Why this exists: the notifier's one file, `notify-state.json` in `[notifier] state_dir`: the
//! cursor in the history, every target's outbox (what it still owes, when it last sent per host),
//! and the keys of the events told lately. They are saved together and atomically (tmp, fsync,
//! rename, fsync of the folder): the cursor never says "past an event" unless that event was
//! delivered or sits in a saved outbox, so a restart neither drops nor resends.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use dyndns_queue::{HistoryCursor, HistoryEvent};
use nix::fcntl::OFlag;
use serde::{Deserialize, Serialize};

use crate::outbox::TargetOutbox;

pub const STATE_FILE_NAME: &str = "notify-state.json";
/// This build's format; another number is refused rather than misread.
pub const STATE_VERSION: u32 = 1;
/// Keys of recent events remembered to recognise the worker's repeats. The worker repeats at most
/// the events of its last pass before a crash, and tells them again right after it restarts.
pub const SEEN_KEYS: usize = 4096;
/// A state file is a cursor, ten events per host per target and the keys: far below this.
const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;
/// Only the notifier's user reads it: it holds the addresses and users of the history.
const STATE_FILE_MODE: u32 = 0o600;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} the notifier's state {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("the notifier's state {path} is not a state file this version reads ({cause}); move it aside to start again from the end of the history")]
    Corrupt { path: PathBuf, cause: String },
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StateError + 'a {
    move |cause| StateError::Io {
        action,
        path: path.to_path_buf(),
        cause,
    }
}

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    pub v: u32,
    /// Where reading goes on; `None` while no history file existed (the next start reads from
    /// the oldest file, which is then all new).
    pub cursor: Option<HistoryCursor>,
    /// Dedupe keys (`job/family/event`) of the events read lately, oldest first.
    pub seen: VecDeque<String>,
    /// By target id (`notify[0] ntfy https://…`).
    pub targets: BTreeMap<String, TargetOutbox>,
}

/// The state as the notifier holds it, with a set for the dedupe lookups.
#[derive(Debug)]
pub struct NotifyState {
    pub path: PathBuf,
    pub saved: SavedState,
    seen_set: HashSet<String>,
    /// How many times it was written (tests count them).
    pub saves: u64,
}

pub fn dedupe_key(event: &HistoryEvent) -> String {
    let (job, family, kind) = event.dedupe_key();
    format!("{job}/{}/{}", family.as_str(), kind.as_str())
}

impl NotifyState {
    /// The state in `dir`, or `None` when there is none yet (the first start).
    pub fn load(dir: &Path) -> Result<Option<NotifyState>, StateError> {
        let path = dir.join(STATE_FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
            .open(&path);
        let file = match file {
            Ok(file) => file,
            Err(cause) if cause.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(cause) => return Err(io_error("open", &path)(cause)),
        };
        let metadata = file.metadata().map_err(io_error("inspect", &path))?;
        if !metadata.is_file() || metadata.len() > MAX_STATE_BYTES {
            return Err(StateError::Corrupt {
                path,
                cause: "not a regular file of a sane size".into(),
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_STATE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(io_error("read", &path))?;
        let saved: SavedState =
            serde_json::from_slice(&bytes).map_err(|cause| StateError::Corrupt {
                path: path.clone(),
                cause: cause.to_string(),
            })?;
        if saved.v != STATE_VERSION {
            return Err(StateError::Corrupt {
                path,
                cause: format!("version {}", saved.v),
            });
        }
        Ok(Some(NotifyState::new(path, saved)))
    }

    /// A state that is not saved yet.
    pub fn fresh(dir: &Path) -> NotifyState {
        NotifyState::new(
            dir.join(STATE_FILE_NAME),
            SavedState {
                v: STATE_VERSION,
                ..SavedState::default()
            },
        )
    }

    fn new(path: PathBuf, saved: SavedState) -> NotifyState {
        let seen_set = saved.seen.iter().cloned().collect();
        NotifyState {
            path,
            saved,
            seen_set,
            saves: 0,
        }
    }

    /// Remembers `event`'s key; false when it was seen already (a repeat to skip).
    pub fn first_sight(&mut self, event: &HistoryEvent) -> bool {
        let key = dedupe_key(event);
        if self.seen_set.contains(&key) {
            return false;
        }
        self.seen_set.insert(key.clone());
        self.saved.seen.push_back(key);
        while self.saved.seen.len() > SEEN_KEYS {
            if let Some(old) = self.saved.seen.pop_front() {
                self.seen_set.remove(&old);
            }
        }
        true
    }

    /// Replaces the file atomically and durably.
    pub fn save(&mut self) -> Result<(), StateError> {
        let path = &self.path;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        let tmp = dir.join(format!("{STATE_FILE_NAME}.tmp"));
        let bytes = serde_json::to_vec(&self.saved).map_err(|cause| StateError::Corrupt {
            path: path.clone(),
            cause: cause.to_string(),
        })?;
        // A stale temp file (a crash during an earlier save) is replaced; O_NOFOLLOW refuses a
        // planted symlink.
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(cause) if cause.kind() == io::ErrorKind::NotFound => {}
            Err(cause) => return Err(io_error("remove", &tmp)(cause)),
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(STATE_FILE_MODE)
            .custom_flags(OFlag::O_NOFOLLOW.bits())
            .open(&tmp)
            .map_err(io_error("create", &tmp))?;
        let written = file.write_all(&bytes).and_then(|()| file.sync_all());
        if let Err(cause) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error("write", &tmp)(cause));
        }
        drop(file);
        if let Err(cause) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error("rename into", path)(cause));
        }
        File::open(dir)
            .and_then(|folder| folder.sync_all())
            .map_err(io_error("sync the folder of", path))?;
        self.saves += 1;
        Ok(())
    }
}
