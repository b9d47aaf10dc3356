//! Why this exists: `applied.json` may be tens of megabytes (the queue crate caps it at 64 MiB), and
//! the status page reads it on every load; it is read again only when it is a new version: another
//! inode, size or modification time, or modified in the last two seconds (a second save within one
//! tick of the file system's clock looks unchanged by time and size alone, as `accepted.rs` found).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use dyndns_queue::{AppliedState, StateError};

/// A file modified this recently may be replaced again unseen.
const SAME_TICK: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct AppliedCache {
    version: Option<Version>,
    state: AppliedState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Version {
    dev: u64,
    ino: u64,
    len: u64,
    modified: SystemTime,
}

impl AppliedCache {
    /// The applied state in `state_dir`, read again only if it changed; a missing file is an
    /// empty state (no worker ran yet).
    pub fn get(&mut self, state_dir: &Path, now: SystemTime) -> Result<&AppliedState, StateError> {
        let path = AppliedState::path_in(state_dir);
        let version = std::fs::metadata(&path).ok().and_then(|meta| {
            Some(Version {
                dev: meta.dev(),
                ino: meta.ino(),
                len: meta.len(),
                modified: meta.modified().ok()?,
            })
        });
        let settled = version.is_some_and(|version| {
            now.duration_since(version.modified)
                .is_ok_and(|age| age >= SAME_TICK)
        });
        if version.is_none() || version != self.version || !settled {
            // Forget the old state first: an error must not leave it shown as current.
            self.version = None;
            self.state = AppliedState::default();
            self.state = AppliedState::load(&path)?;
            self.version = version;
        }
        Ok(&self.state)
    }
}
