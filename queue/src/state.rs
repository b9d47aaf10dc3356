//! Why this exists: the worker's record of what it last put into DNS per host and address
//! family, kept on disk so "nochg" and stale-job decisions survive restarts of either side.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::durable::{self, DurableError};
use crate::hostile::{read_regular_capped, CappedRead, ReadOptions};
use crate::rfc3339;

/// The only state-file format this build reads and writes.
const STATE_VERSION: u32 = 1;

/// The state file's name inside the state directory.
pub const STATE_FILE_NAME: &str = "applied.json";

/// The worker writes it as root; the frontend's group reads it.
const STATE_FILE_MODE: u32 = 0o640;

/// A state file is read whole; one host takes a few hundred bytes, so this is some 200,000 hosts,
/// and anything larger is not worth the memory of both processes.
pub const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// An address family, the unit DNS records (A, AAAA) are updated in; spelt `ipv4` and `ipv6` in
/// job files (`delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    #[serde(rename = "ipv4")]
    V4,
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    pub fn of(address: &IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The spelling used in job and state files: `ipv4` or `ipv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the worker knows about one host and family. With no `address` but an `applied_at` the
/// last change applied was a delete: the host has no record of the family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyState {
    /// The address last applied to DNS; `None` if no job for this family ever succeeded, or if
    /// the last one applied deleted the family's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// `received_at` of the newest job handled for this host and family, whether it was
    /// applied, dead-lettered or superseded; older jobs arriving later are stale.
    #[serde(with = "crate::rfc3339")]
    pub handled_received_at: SystemTime,
    /// When `address` was applied (or its records deleted).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::rfc3339::option"
    )]
    applied_at: Option<SystemTime>,
}

impl FamilyState {
    /// When the address was applied (or the records deleted); `None` if nothing ever landed.
    pub fn applied_at(&self) -> Option<SystemTime> {
        self.applied_at
    }

    /// The last change applied removed the family's records: DNS holds none.
    pub fn is_deleted(&self) -> bool {
        self.address.is_none() && self.applied_at.is_some()
    }
}

/// Both families of one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<FamilyState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<FamilyState>,
}

impl HostState {
    fn family(&self, family: Family) -> Option<&FamilyState> {
        match family {
            Family::V4 => self.ipv4.as_ref(),
            Family::V6 => self.ipv6.as_ref(),
        }
    }

    fn family_mut(&mut self, family: Family) -> &mut Option<FamilyState> {
        match family {
            Family::V4 => &mut self.ipv4,
            Family::V6 => &mut self.ipv6,
        }
    }
}

/// The contents of `applied.json`: per host (lower-case fqdn), per family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedState {
    hosts: BTreeMap<String, HostState>,
}

/// Why the applied state could not be loaded or saved, naming the file once. Each message carries
/// its cause, which is not exposed again as `source`, so a printed chain says it once.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the applied state {path}: {cause}")]
    Read { path: PathBuf, cause: io::Error },
    #[error("the applied state {path} is not a regular file")]
    NotRegular { path: PathBuf },
    #[error("the applied state {path} is {size} bytes, more than the {MAX_STATE_BYTES} a state file may have; move it away to start with an empty state")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("the applied state {path} is corrupt: {cause}")]
    Corrupt {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error("the applied state {path} has version {version}, but this dyndns only understands version {STATE_VERSION}")]
    UnknownVersion { path: PathBuf, version: u64 },
    #[error(
        "the applied state {path} is inconsistent: host {host:?} has {address} under {family}"
    )]
    Inconsistent {
        path: PathBuf,
        host: String,
        family: Family,
        address: IpAddr,
    },
    #[error("cannot encode the applied state for {path}: {cause}")]
    Encode {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error("cannot {action} {path}: {cause}")]
    Write {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
}

impl StateError {
    /// Whether the file holds something this build cannot use, but a fresh state would: it may
    /// be moved aside ([`AppliedState::set_aside`]). An unknown version is not: it is a newer
    /// dyndns's record, and replacing it would lose that on upgrade.
    pub fn is_corrupt(&self) -> bool {
        matches!(
            self,
            StateError::Corrupt { .. } | StateError::Inconsistent { .. }
        )
    }
}

impl From<DurableError> for StateError {
    fn from(err: DurableError) -> Self {
        match err {
            DurableError::Step {
                action,
                path,
                source,
            } => StateError::Write {
                action,
                path,
                cause: source,
            },
            DurableError::Rename { to, source, .. } => StateError::Write {
                action: "replace",
                path: to,
                cause: source,
            },
        }
    }
}

/// Read first and leniently, so a newer worker's file is reported as a newer version.
#[derive(Deserialize)]
struct VersionProbe {
    version: u64,
}

#[derive(Serialize)]
struct StateFileOut<'a> {
    version: u32,
    hosts: &'a BTreeMap<String, HostState>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFileIn {
    #[allow(dead_code)] // checked through VersionProbe; present so deny_unknown_fields allows it
    version: u32,
    hosts: BTreeMap<String, HostState>,
}

impl AppliedState {
    /// `applied.json` inside `state_dir`.
    pub fn path_in(state_dir: &Path) -> PathBuf {
        state_dir.join(STATE_FILE_NAME)
    }

    /// Loads `path`; a missing file is an empty state (first start), anything unreadable is
    /// an error rather than a silent reset, which would re-apply or skip updates.
    pub fn load(path: &Path) -> Result<AppliedState, StateError> {
        let bytes = match read_capped(path) {
            Ok(bytes) => bytes,
            Err(StateError::Read { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => {
                return Ok(AppliedState::default())
            }
            Err(err) => return Err(err),
        };
        let corrupt = |cause| StateError::Corrupt {
            path: path.to_path_buf(),
            cause,
        };
        let probe: VersionProbe = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if probe.version != u64::from(STATE_VERSION) {
            return Err(StateError::UnknownVersion {
                path: path.to_path_buf(),
                version: probe.version,
            });
        }
        let file: StateFileIn = serde_json::from_slice(&bytes).map_err(corrupt)?;
        let state = AppliedState { hosts: file.hosts };
        if let Some((host, family, address)) = state.inconsistency() {
            return Err(StateError::Inconsistent {
                path: path.to_path_buf(),
                host: host.to_owned(),
                family,
                address,
            });
        }
        Ok(state)
    }

    /// An address stored under the wrong family would be published as the wrong record type.
    fn inconsistency(&self) -> Option<(&str, Family, IpAddr)> {
        self.hosts.iter().find_map(|(host, state)| {
            [Family::V4, Family::V6].into_iter().find_map(|family| {
                let address = state.family(family)?.address?;
                (Family::of(&address) != family).then_some((host.as_str(), family, address))
            })
        })
    }

    /// Renames a corrupt `path` to `<name>.corrupt-<time>` beside it (with a random suffix if
    /// that is taken), so a fresh state never silently replaces it. Returns the new name.
    pub fn set_aside(path: &Path, now: SystemTime) -> Result<PathBuf, StateError> {
        let stamp = rfc3339::format(now).unwrap_or_else(|| "unknown-time".to_owned());
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".corrupt-{stamp}"));
        let mut aside = PathBuf::from(name);
        if std::fs::symlink_metadata(&aside).is_ok() {
            let mut unique = aside.into_os_string();
            unique.push(format!(".{}", uuid::Uuid::new_v4().simple()));
            aside = PathBuf::from(unique);
        }
        std::fs::rename(path, &aside).map_err(|cause| StateError::Write {
            action: "move aside",
            path: path.to_path_buf(),
            cause,
        })?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        durable::sync_dir(dir)?;
        Ok(aside)
    }

    /// Writes the state to `path` atomically: temporary file in the same directory, fsync,
    /// rename, fsync of the directory.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let mut bytes = serde_json::to_vec_pretty(&StateFileOut {
            version: STATE_VERSION,
            hosts: &self.hosts,
        })
        .map_err(|cause| StateError::Encode {
            path: path.to_path_buf(),
            cause,
        })?;
        bytes.push(b'\n');

        let Some(file_name) = path.file_name() else {
            let cause = io::Error::new(io::ErrorKind::InvalidInput, "path has no file name");
            return Err(StateError::Write {
                action: "save to",
                path: path.to_path_buf(),
                cause,
            });
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let tmp = dir.join(tmp_name);

        durable::write_then_rename(&tmp, path, &bytes, STATE_FILE_MODE)?;
        Ok(durable::sync_dir(dir)?)
    }

    /// A job for `host` set `address`, which is now in DNS.
    pub fn record_applied(
        &mut self,
        host: &str,
        address: IpAddr,
        received_at: SystemTime,
        applied_at: SystemTime,
    ) {
        let slot = self.slot(host, Family::of(&address));
        match slot {
            Some(state) => {
                state.address = Some(address);
                state.applied_at = Some(applied_at);
                state.handled_received_at = state.handled_received_at.max(received_at);
            }
            None => {
                *slot = Some(FamilyState {
                    address: Some(address),
                    handled_received_at: received_at,
                    applied_at: Some(applied_at),
                })
            }
        }
    }

    /// A job for `host` removed the records of `family`, which are now gone from DNS.
    pub fn record_deleted(
        &mut self,
        host: &str,
        family: Family,
        received_at: SystemTime,
        applied_at: SystemTime,
    ) {
        let slot = self.slot(host, family);
        let handled_received_at = slot.as_ref().map_or(received_at, |state| {
            state.handled_received_at.max(received_at)
        });
        *slot = Some(FamilyState {
            address: None,
            handled_received_at,
            applied_at: Some(applied_at),
        });
    }

    /// A job for `host` and `family` was dead-lettered or superseded: later-arriving older
    /// jobs are stale now, but DNS still holds the address applied before.
    pub fn record_handled(&mut self, host: &str, family: Family, received_at: SystemTime) {
        let slot = self.slot(host, family);
        match slot {
            Some(state) => {
                state.handled_received_at = state.handled_received_at.max(received_at);
            }
            None => {
                *slot = Some(FamilyState {
                    address: None,
                    handled_received_at: received_at,
                    applied_at: None,
                })
            }
        }
    }

    fn slot(&mut self, host: &str, family: Family) -> &mut Option<FamilyState> {
        self.hosts
            .entry(host.to_owned())
            .or_default()
            .family_mut(family)
    }

    pub fn host(&self, host: &str) -> Option<&HostState> {
        self.hosts.get(host)
    }

    pub fn family(&self, host: &str, family: Family) -> Option<&FamilyState> {
        self.host(host)?.family(family)
    }

    /// The address last applied for `host` and `family`, if any.
    pub fn applied_address(&self, host: &str, family: Family) -> Option<IpAddr> {
        self.family(host, family)?.address
    }

    pub fn handled_received_at(&self, host: &str, family: Family) -> Option<SystemTime> {
        Some(self.family(host, family)?.handled_received_at)
    }

    /// The newest `received_at` handled for any host and family: a time the machine's clock has
    /// already passed, whatever it says now.
    pub fn newest_handled(&self) -> Option<SystemTime> {
        self.hosts
            .values()
            .flat_map(|host| [&host.ipv4, &host.ipv6])
            .flatten()
            .map(|family| family.handled_received_at)
            .max()
    }

    pub fn hosts(&self) -> impl Iterator<Item = (&str, &HostState)> {
        self.hosts
            .iter()
            .map(|(host, state)| (host.as_str(), state))
    }
}

/// Reads `path` whole if it is a regular file of at most [`MAX_STATE_BYTES`]: a FIFO put there
/// must not hang either process (`O_NONBLOCK`), nor a huge file exhaust its memory. A symlink is
/// followed: only root can make one in the state folder.
fn read_capped(path: &Path) -> Result<Vec<u8>, StateError> {
    let options = ReadOptions {
        follow_symlink: true,
        one_link: false,
        cap: MAX_STATE_BYTES,
    };
    read_regular_capped(path, options).map_err(|problem| match problem {
        CappedRead::Io(cause) => StateError::Read {
            path: path.to_path_buf(),
            cause,
        },
        CappedRead::NotRegular(_) | CappedRead::HardLinked(_) => StateError::NotRegular {
            path: path.to_path_buf(),
        },
        CappedRead::TooLarge(size) => StateError::TooLarge {
            path: path.to_path_buf(),
            size,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::{Duration, UNIX_EPOCH};

    const HOST: &str = "home.example.org";

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::new(1_795_449_600 + seconds, 123_456_789)
    }

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn family_of_address() {
        assert_eq!(Family::of(&v4(1)), Family::V4);
        assert_eq!(Family::of(&IpAddr::V6(Ipv6Addr::LOCALHOST)), Family::V6);
        assert_eq!(Family::V6.to_string(), "ipv6");
    }

    #[test]
    fn missing_file_is_an_empty_state() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = AppliedState::load(&AppliedState::path_in(dir.path())).expect("load");
        assert!(state.hosts().next().is_none());
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = AppliedState::path_in(dir.path());
        let mut state = AppliedState::default();
        state.record_applied(HOST, v4(1), at(0), at(1));
        state.record_applied(HOST, "2001:db8::1".parse().expect("IPv6"), at(2), at(3));
        state.record_handled("other.example.org", Family::V4, at(4));
        state.save(&path).expect("save");

        let loaded = AppliedState::load(&path).expect("load");
        assert_eq!(loaded, state);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(r#""version": 1"#), "{text}");
        assert!(text.contains("2026-11-23T16:00:01.123456789Z"), "{text}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [STATE_FILE_NAME], "no temporary file left behind");

        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o137, 0, "state file mode {mode:o} is at most 0640");

        // Saving again replaces the file.
        state.record_applied(HOST, v4(9), at(10), at(11));
        state.save(&path).expect("save again");
        let reloaded = AppliedState::load(&path).expect("reload");
        assert_eq!(reloaded.applied_address(HOST, Family::V4), Some(v4(9)));
    }

    #[test]
    fn record_handled_only_moves_forward_and_keeps_the_address() {
        let mut state = AppliedState::default();
        state.record_applied(HOST, v4(1), at(10), at(11));

        state.record_handled(HOST, Family::V4, at(20));
        let entry = state.family(HOST, Family::V4).expect("entry");
        assert_eq!(entry.address, Some(v4(1)));
        assert_eq!(entry.handled_received_at, at(20));
        assert_eq!(entry.applied_at, Some(at(11)));

        state.record_handled(HOST, Family::V4, at(5));
        assert_eq!(state.handled_received_at(HOST, Family::V4), Some(at(20)));
        assert_eq!(state.handled_received_at(HOST, Family::V6), None);
    }

    #[test]
    fn a_delete_is_recorded_without_address_and_survives_a_save() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = AppliedState::path_in(dir.path());
        let mut state = AppliedState::default();
        state.record_applied(HOST, v4(1), at(10), at(11));
        state.record_deleted(HOST, Family::V4, at(20), at(21));
        state.record_deleted(HOST, Family::V6, at(22), at(23));
        state.save(&path).expect("save");
        let loaded = AppliedState::load(&path).expect("load");
        assert_eq!(loaded, state);
        for family in [Family::V4, Family::V6] {
            let entry = loaded.family(HOST, family).expect("entry");
            assert!(entry.is_deleted(), "{family}: {entry:?}");
            assert_eq!(entry.address, None);
        }
        assert_eq!(loaded.handled_received_at(HOST, Family::V4), Some(at(20)));

        // A later dead letter does not bring the address back: DNS still holds none.
        state.record_handled(HOST, Family::V4, at(30));
        assert!(state.family(HOST, Family::V4).expect("entry").is_deleted());
        // An older delete applied late does not move handled back.
        state.record_deleted(HOST, Family::V4, at(5), at(31));
        assert_eq!(state.handled_received_at(HOST, Family::V4), Some(at(30)));
        // Applying an address again ends the deleted state.
        state.record_applied(HOST, v4(1), at(40), at(41));
        assert!(!state.family(HOST, Family::V4).expect("entry").is_deleted());
    }

    #[test]
    fn record_handled_without_prior_apply_has_no_address() {
        let mut state = AppliedState::default();
        state.record_handled(HOST, Family::V6, at(3));
        let entry = state.family(HOST, Family::V6).expect("entry");
        assert_eq!(entry.address, None);
        assert_eq!(entry.applied_at, None);
        assert_eq!(state.applied_address(HOST, Family::V6), None);
        assert!(!entry.is_deleted(), "never applied is not deleted");
        assert!(state.family(HOST, Family::V4).is_none());
    }

    #[test]
    fn applying_an_older_job_does_not_move_handled_back() {
        let mut state = AppliedState::default();
        state.record_handled(HOST, Family::V4, at(30));
        state.record_applied(HOST, v4(2), at(10), at(31));
        assert_eq!(state.applied_address(HOST, Family::V4), Some(v4(2)));
        assert_eq!(state.handled_received_at(HOST, Family::V4), Some(at(30)));
    }

    #[test]
    fn corrupt_file_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = AppliedState::path_in(dir.path());
        let load = |text: &str| {
            std::fs::write(&path, text).expect("write");
            let err = AppliedState::load(&path).expect_err(text);
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
            err
        };
        let err = load("{not json");
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        let err = load(r#"{"version":2,"hosts":{}}"#);
        assert!(
            matches!(err, StateError::UnknownVersion { version: 2, .. }),
            "{err}"
        );
        let err = load(r#"{"version":1,"hosts":{},"extra":0}"#);
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        let err = load(
            r#"{"version":1,"hosts":{"h":{"ipv6":{"address":"192.0.2.1","handled_received_at":"2026-11-23T16:00:00Z"}}}}"#,
        );
        assert!(matches!(err, StateError::Inconsistent { .. }), "{err}");
    }

    #[test]
    fn corrupt_state_is_set_aside_under_a_new_name_and_the_version_check_is_told_apart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = AppliedState::path_in(dir.path());
        std::fs::write(&path, "{not json").expect("write");
        let err = AppliedState::load(&path).expect_err("corrupt");
        assert!(err.is_corrupt(), "{err}");
        let aside = AppliedState::set_aside(&path, at(0)).expect("set aside");
        assert_eq!(
            aside.file_name().expect("name"),
            "applied.json.corrupt-2026-11-23T16:00:00.123456789Z"
        );
        assert_eq!(std::fs::read(&aside).expect("kept"), b"{not json");
        assert!(!path.exists());
        // The same second again: a unique name, never an overwrite.
        std::fs::write(&path, "[]").expect("write");
        let second = AppliedState::set_aside(&path, at(0)).expect("set aside again");
        assert_ne!(second, aside);
        assert_eq!(std::fs::read(&aside).expect("first kept"), b"{not json");

        std::fs::write(&path, r#"{"version":2,"hosts":{}}"#).expect("write");
        let err = AppliedState::load(&path).expect_err("newer version");
        assert!(!err.is_corrupt(), "a newer version is not corrupt: {err}");
    }

    #[test]
    fn state_errors_say_the_path_and_cause_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("not-a-dir").join(STATE_FILE_NAME);
        std::fs::write(dir.path().join("not-a-dir"), b"").expect("a file where a folder belongs");
        let err = AppliedState::default()
            .save(&path)
            .expect_err("cannot save");
        let text = err.to_string();
        assert_eq!(text.matches("not-a-dir").count(), 1, "{text}");
        assert!(text.contains("Not a directory"), "{text}");
        assert!(
            std::error::Error::source(&err).is_none(),
            "the cause is not repeated as source"
        );
    }

    #[test]
    fn a_fifo_at_applied_json_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = AppliedState::path_in(dir.path());
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        let (tx, rx) = std::sync::mpsc::channel();
        let loading = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(AppliedState::load(&loading));
        });
        let err = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("load returned within five seconds")
            .expect_err("not a state file");
        assert!(matches!(err, StateError::NotRegular { .. }), "{err}");
        assert!(
            !err.is_corrupt(),
            "an administrator's FIFO is not set aside"
        );
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn an_applied_json_too_large_to_be_sane_is_refused_before_reading() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = AppliedState::path_in(dir.path());
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(MAX_STATE_BYTES + 1).expect("sparse file");
        let err = AppliedState::load(&path).expect_err("too large");
        assert!(
            matches!(err, StateError::TooLarge { size, .. } if size == MAX_STATE_BYTES + 1),
            "{err}"
        );
    }
}
