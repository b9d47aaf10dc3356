//! Why this exists: whether a worker is alive, and since when, must be answerable by processes that
//! may not touch the worker's lock (the frontend's `/health` and `/status`, as the state folder's
//! group) and by `dyndns-worker status`. The worker replaces `heartbeat.json` in the state folder
//! atomically at start and every `[worker] heartbeat_secs` while it holds the lock, and marks it
//! stopped at a clean exit; this file is that format and its reading.
//!
//! A reader judges it by `beat_at` against `interval_secs`: a worker killed outright leaves a file
//! that simply stops beating. Mode 0640; the set-group-ID state folder gives it the readers' group.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::hostile::{read_regular_capped, CappedRead, ReadOptions};
use crate::worker_counts::WorkerCounts;

/// The heartbeat's name in the state folder.
pub const HEARTBEAT_FILE_NAME: &str = "heartbeat.json";

/// The format this build writes and reads; another number is an error, not a guess.
pub const HEARTBEAT_VERSION: u32 = 1;

const HEARTBEAT_FILE_MODE: u32 = 0o640;

/// Far more than a heartbeat ever holds, its counts for every backend kind included.
const MAX_HEARTBEAT_BYTES: u64 = 64 * 1024;

/// How the beating worker runs (`dyndns-worker --run-once`, `--timeout`, or as a service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    Once,
    Timeout,
    Continuous,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Once => "once",
            RunMode::Timeout => "timeout",
            RunMode::Continuous => "continuous",
        }
    }
}

/// The contents of `heartbeat.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// [`HEARTBEAT_VERSION`].
    pub v: u32,
    pub pid: u32,
    /// When this worker took the spool lock.
    #[serde(with = "crate::rfc3339")]
    pub started_at: SystemTime,
    /// The latest beat.
    #[serde(with = "crate::rfc3339")]
    pub beat_at: SystemTime,
    /// Seconds between beats (`[worker] heartbeat_secs`), so a reader knows what "recent" means.
    pub interval_secs: u64,
    pub mode: RunMode,
    /// The worker's version (its package version).
    pub version: String,
    /// Set by a clean exit: the worker no longer holds the lock. Absent while it runs.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::rfc3339::option"
    )]
    pub stopped_at: Option<SystemTime>,
    /// What this worker did since its start, per backend, as of the beat (`/metrics` reads it).
    #[serde(default, skip_serializing_if = "WorkerCounts::is_empty")]
    pub counts: WorkerCounts,
    /// Dead letters in `failed/` at the beat: that folder is root's alone, so the frontend learns
    /// the number here. Absent when the folder could not be listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
}

/// Why the heartbeat could not be written or read, naming the file once.
#[derive(Debug, thiserror::Error)]
pub enum HeartbeatError {
    #[error("cannot {action} the heartbeat {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("the heartbeat {path} is not a regular file of at most {MAX_HEARTBEAT_BYTES} bytes")]
    NotRegular { path: PathBuf },
    #[error("the heartbeat {path} is not a version {HEARTBEAT_VERSION} heartbeat: {cause}")]
    Corrupt {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error(
        "the heartbeat {path} has version {version}; this dyndns reads version {HEARTBEAT_VERSION}"
    )]
    UnknownVersion { path: PathBuf, version: u32 },
    #[error("cannot encode the heartbeat for {path}: {cause}")]
    Encode {
        path: PathBuf,
        cause: serde_json::Error,
    },
}

impl Heartbeat {
    /// `heartbeat.json` inside `state_dir`.
    pub fn path_in(state_dir: &Path) -> PathBuf {
        state_dir.join(HEARTBEAT_FILE_NAME)
    }

    /// Is the worker that wrote it still meant to be running (no clean exit recorded)?
    pub fn is_running(&self) -> bool {
        self.stopped_at.is_none()
    }

    /// How long ago the last beat was, by `now`; zero if the beat lies ahead of it.
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.beat_at).unwrap_or_default()
    }

    /// Whether the last beat lies within `max` of `now`, on either side. A beat further ahead
    /// than that was written by a clock since stepped back (or a wrong one): it proves nothing
    /// until the next beat, which a running worker writes within its interval.
    pub fn is_recent(&self, now: SystemTime, max: Duration) -> bool {
        match now.duration_since(self.beat_at) {
            Ok(age) => age <= max,
            Err(ahead) => ahead.duration() <= max,
        }
    }

    /// Whether the last beat lies more than `max` ahead of `now` (see [`Heartbeat::is_recent`]).
    pub fn is_from_future(&self, now: SystemTime, max: Duration) -> bool {
        self.beat_at
            .duration_since(now)
            .is_ok_and(|ahead| ahead > max)
    }

    /// Replaces the file in `state_dir` atomically (temporary file, fsync, rename). The folder is
    /// not synced: a beat lost to a power cut is worth less than a second disk flush per beat.
    pub fn write(&self, state_dir: &Path) -> Result<(), HeartbeatError> {
        let path = Heartbeat::path_in(state_dir);
        let mut bytes =
            serde_json::to_vec_pretty(self).map_err(|cause| HeartbeatError::Encode {
                path: path.clone(),
                cause,
            })?;
        bytes.push(b'\n');
        let tmp = state_dir.join(format!(
            ".{HEARTBEAT_FILE_NAME}.tmp-{}",
            uuid::Uuid::new_v4().simple()
        ));
        durable::write_exact_then_rename(&tmp, &path, &bytes, HEARTBEAT_FILE_MODE, None).map_err(
            |err| match err {
                durable::DurableError::Step { action, source, .. } => HeartbeatError::Io {
                    action,
                    path: path.clone(),
                    cause: source,
                },
                durable::DurableError::Rename { source, .. } => HeartbeatError::Io {
                    action: "replace",
                    path: path.clone(),
                    cause: source,
                },
            },
        )
    }

    /// The heartbeat in `state_dir`; `None` when no worker ever beat there. Read as hostile as
    /// `applied.json` is: regular file only, size capped, no FIFO blocked on, no symlink followed.
    pub fn read(state_dir: &Path) -> Result<Option<Heartbeat>, HeartbeatError> {
        let path = Heartbeat::path_in(state_dir);
        let options = ReadOptions {
            follow_symlink: false,
            one_link: false,
            cap: MAX_HEARTBEAT_BYTES,
        };
        let bytes = match read_regular_capped(&path, options) {
            Ok(bytes) => bytes,
            Err(CappedRead::Io(cause)) if cause.kind() == io::ErrorKind::NotFound => {
                return Ok(None)
            }
            Err(CappedRead::Io(cause)) => {
                return Err(HeartbeatError::Io {
                    action: "read",
                    path,
                    cause,
                })
            }
            Err(_) => return Err(HeartbeatError::NotRegular { path }),
        };
        #[derive(Deserialize)]
        struct VersionProbe {
            v: u32,
        }
        let corrupt = |cause| HeartbeatError::Corrupt {
            path: path.clone(),
            cause,
        };
        let probe: VersionProbe = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if probe.v != HEARTBEAT_VERSION {
            return Err(HeartbeatError::UnknownVersion {
                path,
                version: probe.v,
            });
        }
        Ok(Some(serde_json::from_slice(&bytes).map_err(corrupt)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::UNIX_EPOCH;

    fn beat() -> Heartbeat {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_449_600);
        Heartbeat {
            v: HEARTBEAT_VERSION,
            pid: 42,
            started_at: at,
            beat_at: at + Duration::from_secs(30),
            interval_secs: 30,
            mode: RunMode::Continuous,
            version: "0.1.0".into(),
            stopped_at: None,
            counts: WorkerCounts::default(),
            failed: None,
        }
    }

    #[test]
    fn a_heartbeat_round_trips_at_mode_0640_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(Heartbeat::read(dir.path()).expect("reads"), None);
        let mut heartbeat = beat();
        heartbeat.write(dir.path()).expect("writes");
        assert_eq!(
            Heartbeat::read(dir.path()).expect("reads"),
            Some(heartbeat.clone())
        );
        let path = Heartbeat::path_in(dir.path());
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o7777, 0o640);
        let text = std::fs::read_to_string(&path).expect("text");
        assert!(text.contains(r#""mode": "continuous""#), "{text}");
        assert!(!text.contains("stopped_at"), "{text}");

        heartbeat.stopped_at = Some(heartbeat.beat_at);
        heartbeat.write(dir.path()).expect("writes");
        let read = Heartbeat::read(dir.path()).expect("reads").expect("there");
        assert!(!read.is_running());
        assert_eq!(
            read.age(heartbeat.beat_at + Duration::from_secs(5)),
            Duration::from_secs(5)
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, [HEARTBEAT_FILE_NAME], "no temporary file left");
    }

    #[test]
    fn a_heartbeat_from_the_future_is_recent_only_within_the_max_age() {
        let heartbeat = beat();
        let max = Duration::from_secs(60);
        let at = heartbeat.beat_at;
        assert!(heartbeat.is_recent(at + max, max));
        assert!(!heartbeat.is_recent(at + max + Duration::from_secs(1), max));
        assert!(
            heartbeat.is_recent(at - max, max),
            "a clock a little behind"
        );
        let an_hour = Duration::from_secs(3600);
        assert!(
            !heartbeat.is_recent(at - an_hour, max),
            "stepped back an hour"
        );
        assert!(heartbeat.is_from_future(at - an_hour, max));
        assert!(!heartbeat.is_from_future(at - max, max));
    }

    #[test]
    fn a_heartbeat_of_another_version_or_a_symlink_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = Heartbeat::path_in(dir.path());
        std::fs::write(&path, r#"{"v":2}"#).expect("write");
        let err = Heartbeat::read(dir.path()).expect_err("version 2");
        assert!(
            matches!(err, HeartbeatError::UnknownVersion { version: 2, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );

        std::fs::remove_file(&path).expect("remove");
        let elsewhere = dir.path().join("elsewhere.json");
        beat().write(dir.path()).expect("writes");
        std::fs::rename(&path, &elsewhere).expect("move");
        std::os::unix::fs::symlink(&elsewhere, &path).expect("symlink");
        let err = Heartbeat::read(dir.path()).expect_err("a symlink");
        assert!(matches!(err, HeartbeatError::Io { .. }), "{err}");
    }
}
