//! Why this exists: `/health`, `/status`, `/metrics` (and the status page) tell what the worker
//! did from the files it leaves in the state folder, which the frontend's user may read as the
//! folder's group and never writes: `heartbeat.json` (alive, since when, its counts and the dead
//! letters), `applied.json` (each host's addresses) and `history.jsonl` (each host's last error),
//! plus how many jobs wait in `new/` and `cur/`. Reading them is done here once, for every
//! endpoint and the status page (which keeps only its timeline apart, `history_window.rs`), and
//! kept cheap for pollers:
//! - [`StatusReader::health`] reads only the heartbeat (a few hundred bytes) and counts two spool
//!   folders: a load balancer may probe it every second.
//! - [`StatusReader::status`] re-reads `applied.json` only when its version (inode, size, time:
//!   `file_version.rs`) changed, and follows `history.jsonl` from where it stopped (across
//!   rotations, `HistoryFollower`), folding new events into each host's last error; a dashboard
//!   polling an idle installation costs three `stat`s and the heartbeat.
//!
//! Nothing here writes anything, and no path or error detail reaches a response: problems are
//! fixed words, the detail is logged once when it changes.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use dyndns_config::{Config, HeartbeatCheck};
use dyndns_queue::{
    AppliedState, Heartbeat, HistoryFollower, LastError, LastErrors, SpoolDirs, HISTORY_FILE_NAME,
};

use crate::file_version::FileVersion;

/// The reader behind the three endpoints; one per frontend, shared by every request.
pub struct StatusReader {
    state_dir: PathBuf,
    spool: SpoolDirs,
    heartbeat_check: HeartbeatCheck,
    /// The worker's `heartbeat_secs`, for judging before any heartbeat exists.
    heartbeat_interval_secs: u64,
    cache: Mutex<Cache>,
    /// Apart from `cache`: `/health` must not wait while a `/status` or a page follows a long
    /// history under that lock.
    heartbeat_problem: Mutex<Option<String>>,
}

/// What `/health` needs: the spool, the heartbeat, and how old it may be.
#[derive(Debug)]
pub struct Health {
    /// `tmp/` and `new/` take a job (`access(2)` as this user, and room on the file system).
    pub spool_writable: bool,
    /// Job files in `new/`, and in `cur/`; `None` where the folder cannot be listed.
    pub new: Option<usize>,
    pub cur: Option<usize>,
    /// The heartbeat; `None` when no worker ever beat here.
    pub heartbeat: Option<Heartbeat>,
    /// Why the heartbeat could not be read (logged once; the status page shows it to its
    /// signed-in user, the JSON endpoints only say "unreadable").
    pub heartbeat_error: Option<String>,
    /// How old the last beat is.
    pub heartbeat_age: Option<Duration>,
    /// The oldest beat still recent; `None`: the heartbeat is not checked.
    pub max_age: Option<Duration>,
    /// When this was looked at.
    pub checked_at: SystemTime,
}

impl Health {
    /// Files in `new/` and `cur/`: what the worker still has to do.
    pub fn spool_depth(&self) -> Option<usize> {
        Some(self.new? + self.cur?)
    }

    /// The worker beat recently enough (always, when the heartbeat is not checked).
    pub fn worker_recent(&self) -> bool {
        match (self.max_age, &self.heartbeat) {
            (None, _) => true,
            (Some(max), Some(beat)) => beat.is_recent(self.checked_at, max),
            (Some(_), None) => false,
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.spool_writable && self.worker_recent()
    }

    /// Why it is healthy or not, in a few fixed words.
    pub fn verdict(&self) -> &'static str {
        if !self.spool_writable {
            "spool not writable"
        } else if self.worker_recent() {
            "ok"
        } else if self.heartbeat_error.is_some() {
            "worker heartbeat unreadable"
        } else if self.heartbeat.is_none() {
            "no worker heartbeat"
        } else if self.heartbeat.as_ref().is_some_and(|beat| {
            self.max_age
                .is_some_and(|max| beat.is_from_future(self.checked_at, max))
        }) {
            "worker heartbeat from the future"
        } else {
            "worker heartbeat too old"
        }
    }
}

/// One host as `/status` shows it.
#[derive(Debug, Clone)]
pub struct HostSummary {
    pub hostname: String,
    /// What DNS holds by the last change applied; `None` after a delete or before any.
    pub ipv4: Option<IpAddr>,
    pub ipv6: Option<IpAddr>,
    /// When the newest of those changes was applied.
    pub last_update: Option<SystemTime>,
    pub last_error: Option<LastError>,
}

/// What `applied.json` and `history.jsonl` say, as of the last look: the same for `/status` and
/// the status page.
#[derive(Debug, Clone)]
pub struct WorkerFiles {
    /// Empty where `applied.json` is missing or unreadable.
    pub applied: Arc<AppliedState>,
    /// Each host's last failure, folded from the whole history in the order it was written.
    pub last_errors: Arc<LastErrors>,
    /// Why `applied.json` could not be read (its path and cause; logged once).
    pub applied_error: Option<String>,
    /// Why `history.jsonl` could not be followed (its path and cause; logged once).
    pub history_error: Option<String>,
}

/// Everything `/status` shows.
#[derive(Debug)]
pub struct Status {
    pub health: Health,
    /// Every host `applied.json` or the history knows, by name.
    pub hosts: Vec<HostSummary>,
    /// Fixed words naming what could not be read (`heartbeat.json`, `applied.json`,
    /// `history.jsonl`).
    pub problems: Vec<&'static str>,
}

/// Overall: `down` when `/health` fails, `degraded` when a host's last change still fails or a
/// state file cannot be read, else `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    Ok,
    Degraded,
    Down,
}

impl Overall {
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Ok => "ok",
            Overall::Degraded => "degraded",
            Overall::Down => "down",
        }
    }
}

impl Status {
    pub fn overall(&self) -> Overall {
        if !self.health.is_healthy() {
            Overall::Down
        } else if !self.problems.is_empty()
            || self
                .hosts
                .iter()
                .any(|host| host.last_error.as_ref().is_some_and(|error| error.current))
        {
            Overall::Degraded
        } else {
            Overall::Ok
        }
    }
}

/// What was read before, by file version.
struct Cache {
    applied: Option<(FileVersion, Arc<AppliedState>)>,
    applied_problem: Option<String>,
    history_version: Option<FileVersion>,
    follower: HistoryFollower,
    errors: Arc<LastErrors>,
    history_problem: Option<String>,
}

/// Logs `problem` when it differs from the last one logged under `slot` (a poller must not write
/// a line per poll), and forgets it once it is gone.
fn note_problem(slot: &mut Option<String>, problem: Option<String>) {
    if let Some(text) = &problem {
        if slot.as_ref() != Some(text) {
            tracing::warn!(error = %text, "the status endpoints cannot read a worker file");
        }
    }
    *slot = problem;
}

impl StatusReader {
    pub fn new(config: &Config) -> StatusReader {
        let state_dir = config.worker.state_dir.clone();
        StatusReader {
            spool: SpoolDirs::at(&config.spool_dir),
            heartbeat_check: config.frontend.heartbeat_check,
            heartbeat_interval_secs: config.worker.heartbeat.as_secs(),
            cache: Mutex::new(Cache {
                applied: None,
                applied_problem: None,
                history_version: None,
                follower: HistoryFollower::from_oldest(&state_dir),
                errors: Arc::default(),
                history_problem: None,
            }),
            heartbeat_problem: Mutex::new(None),
            state_dir,
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // Nothing that can panic runs while it is held.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The spool and the heartbeat as of `now`: no history, no applied state.
    pub fn health(&self, now: SystemTime) -> Health {
        let (heartbeat, heartbeat_error) = match Heartbeat::read(&self.state_dir) {
            Ok(heartbeat) => (heartbeat, None),
            Err(error) => (None, Some(error.to_string())),
        };
        note_problem(
            &mut self
                .heartbeat_problem
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            heartbeat_error.clone(),
        );
        let interval = heartbeat
            .as_ref()
            .map_or(self.heartbeat_interval_secs, |beat| beat.interval_secs);
        Health {
            spool_writable: self.spool.is_writable(),
            new: self.spool.count_new(),
            cur: self.spool.count_cur(),
            heartbeat_age: heartbeat.as_ref().map(|beat| beat.age(now)),
            heartbeat_error,
            heartbeat,
            max_age: self.heartbeat_check.max_age(interval),
            checked_at: now,
        }
    }

    /// `applied.json` (re-read only when its version changed) and the last errors (the history
    /// followed from where it stopped), as of `now`.
    pub fn worker_files(&self, now: SystemTime) -> WorkerFiles {
        let mut cache = self.cache();
        let applied = refresh_applied(&mut cache, &self.state_dir, now, AppliedState::load);
        refresh_history(&mut cache, &self.state_dir, now);
        WorkerFiles {
            applied,
            last_errors: Arc::clone(&cache.errors),
            applied_error: cache.applied_problem.clone(),
            history_error: cache.history_problem.clone(),
        }
    }

    /// [`StatusReader::health`] and every host's addresses and last error.
    pub fn status(&self, now: SystemTime) -> Status {
        let health = self.health(now);
        let WorkerFiles {
            applied,
            last_errors,
            applied_error,
            history_error,
        } = self.worker_files(now);
        let mut problems = Vec::new();
        // Also when `/health` leaves the heartbeat out: the `failed` count comes from it.
        if health.heartbeat_error.is_some() {
            problems.push("heartbeat.json unreadable");
        }
        if applied_error.is_some() {
            problems.push("applied.json unreadable");
        }
        if history_error.is_some() {
            problems.push("history.jsonl unreadable");
        }
        let mut hosts: Vec<HostSummary> = applied
            .hosts()
            .map(|(host, state)| {
                let address = |family: &Option<dyndns_queue::FamilyState>| {
                    family.as_ref().and_then(|family| family.address)
                };
                let last_update = [&state.ipv4, &state.ipv6]
                    .into_iter()
                    .flatten()
                    .filter_map(dyndns_queue::FamilyState::applied_at)
                    .max();
                HostSummary {
                    hostname: host.to_owned(),
                    ipv4: address(&state.ipv4),
                    ipv6: address(&state.ipv6),
                    last_update,
                    last_error: last_errors.get(host).cloned(),
                }
            })
            .collect();
        // Hosts that only ever failed are in the history alone.
        for (host, error) in last_errors.iter() {
            if applied.host(host).is_none() {
                hosts.push(HostSummary {
                    hostname: host.to_owned(),
                    ipv4: None,
                    ipv6: None,
                    last_update: None,
                    last_error: Some(error.clone()),
                });
            }
        }
        hosts.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        Status {
            health,
            hosts,
            problems,
        }
    }
}

/// `applied.json` as of now: the cached copy while its version stands, else read again with
/// `load` (an unreadable one counts as empty, and is a problem). The version is taken before the
/// read: a file replaced in between is cached under its older version, so the next call reads it
/// again; taken after, the old contents would stand for the new version until the next change.
fn refresh_applied(
    cache: &mut Cache,
    state_dir: &std::path::Path,
    now: SystemTime,
    load: impl FnOnce(&std::path::Path) -> Result<AppliedState, dyndns_queue::StateError>,
) -> Arc<AppliedState> {
    let path = AppliedState::path_in(state_dir);
    let version = FileVersion::of(&path);
    if let (Some(version), Some((seen, state))) = (version, &cache.applied) {
        if version == *seen {
            return Arc::clone(state);
        }
    }
    match load(&path) {
        Ok(state) => {
            let state = Arc::new(state);
            note_problem(&mut cache.applied_problem, None);
            cache.applied = version
                .filter(|version| version.is_settled(now))
                .map(|version| (version, Arc::clone(&state)));
            state
        }
        Err(error) => {
            note_problem(&mut cache.applied_problem, Some(error.to_string()));
            cache.applied = None;
            Arc::new(AppliedState::default())
        }
    }
}

/// Folds what was appended to the history since the last call into the last errors, unless
/// `history.jsonl` is the version seen last time.
fn refresh_history(cache: &mut Cache, state_dir: &std::path::Path, now: SystemTime) {
    let version = FileVersion::of(&state_dir.join(HISTORY_FILE_NAME));
    if version.is_some() && version == cache.history_version {
        return;
    }
    match cache.follower.poll() {
        Ok(events) => {
            note_problem(&mut cache.history_problem, None);
            if !events.is_empty() {
                // Copied only when a page still holds the last errors it was given.
                let errors = Arc::make_mut(&mut cache.errors);
                for event in &events {
                    errors.observe(event);
                }
            }
            cache.history_version = version.filter(|version| version.is_settled(now));
        }
        Err(error) => {
            note_problem(&mut cache.history_problem, Some(error.to_string()));
            cache.history_version = None;
        }
    }
}

/// A continuous worker's heartbeat beaten at `beat_at` (pid 0: nothing here uses the pid).
#[cfg(test)]
pub(crate) fn beat_for_tests(beat_at: SystemTime, failed: Option<u64>) -> Heartbeat {
    Heartbeat {
        v: dyndns_queue::HEARTBEAT_VERSION,
        pid: 0,
        started_at: beat_at,
        beat_at,
        interval_secs: 30,
        mode: dyndns_queue::RunMode::Continuous,
        version: "0.1.0".into(),
        stopped_at: None,
        counts: Default::default(),
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config of [`config`] with its spool and state folders made.
    fn prepared(dir: &std::path::Path) -> Config {
        let config = config(dir);
        SpoolDirs::at(&config.spool_dir).create_all().unwrap();
        std::fs::create_dir_all(&config.worker.state_dir).unwrap();
        config
    }

    fn config(dir: &std::path::Path) -> Config {
        let text = r#"
[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "none"
state_dir = "state"

[[zone]]
name = "dyn.example.com"

[[user]]
name = "router"
token_hashes = ["sha256:abababababababababababababababababababababababababababababababab"]
hosts = ["home.dyn.example.com"]
"#;
        Config::parse(text, &dir.join("dyndns.toml")).unwrap()
    }

    fn set_modified(path: &std::path::Path, at: SystemTime) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }

    #[test]
    fn applied_json_is_read_once_per_version_and_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let config = prepared(dir.path());
        let path = AppliedState::path_in(&config.worker.state_dir);
        let now = SystemTime::now();
        let mut state = AppliedState::default();
        state.record_applied(
            "home.dyn.example.com",
            "203.0.113.7".parse().unwrap(),
            now,
            now,
        );
        state.save(&path).unwrap();
        let an_hour_ago = now - Duration::from_secs(3600);
        set_modified(&path, an_hour_ago);
        let reader = StatusReader::new(&config);
        let address = |reader: &StatusReader| reader.status(now).hosts[0].ipv4;
        assert_eq!(address(&reader), Some("203.0.113.7".parse().unwrap()));

        // Same inode, size and time, other bytes: a poll does not read the file again.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("203.0.113.7", "203.0.113.8")).unwrap();
        set_modified(&path, an_hour_ago);
        assert_eq!(address(&reader), Some("203.0.113.7".parse().unwrap()));

        // A new version (here its time) is read.
        set_modified(&path, an_hour_ago + Duration::from_secs(1));
        assert_eq!(address(&reader), Some("203.0.113.8".parse().unwrap()));
    }

    /// A first `/status` may follow megabytes of history under the cache's lock; a load
    /// balancer's `/health` meanwhile answered only after it.
    #[test]
    fn health_does_not_wait_for_a_status_read_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let config = prepared(dir.path());
        let reader = Arc::new(StatusReader::new(&config));
        // What a status read in progress holds.
        let reading = reader.cache();
        let (sender, answer) = std::sync::mpsc::channel();
        let probe = Arc::clone(&reader);
        std::thread::spawn(move || {
            let _ = sender.send(probe.health(SystemTime::now()).verdict());
        });
        let verdict = answer.recv_timeout(Duration::from_secs(10));
        drop(reading);
        assert_eq!(verdict, Ok("no worker heartbeat"));
    }

    /// A beat written before the clock stepped back an hour looked 0 s old for that hour: a worker
    /// killed right then was "ok" all along.
    #[test]
    fn a_heartbeat_from_the_future_is_not_recent() {
        let dir = tempfile::tempdir().unwrap();
        let config = prepared(dir.path());
        let now = SystemTime::now();
        let beat_at = now + Duration::from_secs(3600);
        beat_for_tests(beat_at, None)
            .write(&config.worker.state_dir)
            .unwrap();
        let reader = StatusReader::new(&config);
        let health = reader.health(now);
        assert!(!health.is_healthy());
        assert_eq!(health.verdict(), "worker heartbeat from the future");
        // Once the clock is back near the beat, it counts again.
        assert!(reader.health(beat_at).is_healthy());
    }

    /// The files of `state_dir` opened while `read` runs, by inotify's word.
    fn files_opened(state_dir: &std::path::Path, read: impl FnOnce()) -> Vec<String> {
        let mut inotify = inotify::Inotify::init().unwrap();
        inotify
            .watches()
            .add(state_dir, inotify::WatchMask::OPEN)
            .unwrap();
        read();
        let mut buffer = [0u8; 4096];
        let mut names = Vec::new();
        loop {
            match inotify.read_events(&mut buffer) {
                Ok(events) => {
                    let before = names.len();
                    names.extend(
                        events.filter_map(|event| Some(event.name?.to_string_lossy().into_owned())),
                    );
                    if names.len() == before {
                        return names;
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return names,
                Err(err) => panic!("inotify: {err}"),
            }
        }
    }

    /// `/health` is a load balancer's probe: it opens the heartbeat and nothing else of the
    /// state folder, however big the history (`/status` opens the rest).
    #[test]
    fn health_opens_only_the_heartbeat_never_the_history_or_applied_json() {
        let dir = tempfile::tempdir().unwrap();
        let config = prepared(dir.path());
        let state_dir = &config.worker.state_dir;
        let now = SystemTime::now();
        beat_for_tests(now, None).write(state_dir).unwrap();
        AppliedState::default()
            .save(&AppliedState::path_in(state_dir))
            .unwrap();
        std::fs::write(state_dir.join(HISTORY_FILE_NAME), "{}\n").unwrap();
        let reader = StatusReader::new(&config);
        for _ in 0..2 {
            let opened = files_opened(state_dir, || {
                assert!(reader.health(now).is_healthy());
            });
            assert_eq!(opened, ["heartbeat.json"]);
        }
        let opened = files_opened(state_dir, || {
            reader.status(now);
        });
        assert!(
            opened.iter().any(|name| name == HISTORY_FILE_NAME),
            "{opened:?}"
        );
        assert!(
            opened.iter().any(|name| name == "applied.json"),
            "{opened:?}"
        );
    }

    /// The worker replaces `applied.json` (by rename) around the reader's read: the next poll
    /// shows the new contents, although every version here is settled and so cached.
    #[test]
    fn applied_json_replaced_between_stat_and_read_is_read_again_at_the_next_poll() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let state_dir = config.worker.state_dir.clone();
        std::fs::create_dir_all(&state_dir).unwrap();
        let path = AppliedState::path_in(&state_dir);
        let now = SystemTime::now();
        let address = |n: u8| -> IpAddr { format!("203.0.113.{n}").parse().unwrap() };
        let save = |n: u8| {
            let mut state = AppliedState::default();
            state.record_applied("home.dyn.example.com", address(n), now, now);
            let tmp = state_dir.join("applied.json.new");
            state.save(&tmp).unwrap();
            set_modified(&tmp, now - Duration::from_secs(3600 - u64::from(n)));
            std::fs::rename(&tmp, &path).unwrap();
        };
        let shown = |state: &AppliedState| {
            state
                .host("home.dyn.example.com")
                .and_then(|host| host.ipv4.as_ref()?.address)
        };
        save(1);
        let mut cache = StatusReader::new(&config).cache.into_inner().unwrap();
        let replaced_meanwhile = |path: &std::path::Path| {
            save(2);
            AppliedState::load(path)
        };
        let first = refresh_applied(&mut cache, &state_dir, now, replaced_meanwhile);
        assert_eq!(
            shown(&first),
            Some(address(2)),
            "read after the replacement"
        );
        let next = refresh_applied(&mut cache, &state_dir, now, AppliedState::load);
        assert_eq!(shown(&next), Some(address(2)));

        // Replaced just after the read: the contents read stand for the version before.
        save(3);
        let replaced_after = |path: &std::path::Path| {
            let read = AppliedState::load(path);
            save(4);
            read
        };
        let read = refresh_applied(&mut cache, &state_dir, now, replaced_after);
        assert_eq!(shown(&read), Some(address(3)));
        let next = refresh_applied(&mut cache, &state_dir, now, AppliedState::load);
        assert_eq!(
            shown(&next),
            Some(address(4)),
            "not the old contents as the new version"
        );
    }

    /// With `heartbeat_max_age_secs = 0` a garbled heartbeat made no problem at all: `/status`
    /// said `ok` with `failed: null`, though "a state file cannot be read" is `degraded`.
    #[test]
    fn an_unreadable_heartbeat_is_a_problem_even_when_health_leaves_it_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = prepared(dir.path());
        config.frontend.heartbeat_check = HeartbeatCheck::Off;
        std::fs::write(config.worker.state_dir.join("heartbeat.json"), "{ half").unwrap();
        let status = StatusReader::new(&config).status(SystemTime::now());
        assert!(status.health.is_healthy(), "the heartbeat is not checked");
        assert_eq!(status.problems, ["heartbeat.json unreadable"]);
        assert_eq!(status.overall(), Overall::Degraded);
    }

    #[test]
    fn an_unreadable_applied_json_is_a_problem_in_fixed_words_and_makes_status_degraded() {
        let dir = tempfile::tempdir().unwrap();
        let config = prepared(dir.path());
        std::fs::write(
            AppliedState::path_in(&config.worker.state_dir),
            "{ half written",
        )
        .unwrap();
        let reader = StatusReader::new(&config);
        let status = reader.status(SystemTime::now());
        assert_eq!(status.problems, ["applied.json unreadable"]);
        assert!(status.hosts.is_empty());
        // No worker ever beat here, and `/health` wants a beat by default.
        assert_eq!(status.health.verdict(), "no worker heartbeat");
        assert_eq!(status.overall(), Overall::Down);
    }
}
