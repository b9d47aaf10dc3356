//! Why this exists: one small harness for the in-process worker: a temporary spool, state folder
//! and config, the fake backend, a wall clock that moves with tokio's (paused) time, and helpers
//! that read the spool and `applied.json` the way a test asserts on them.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dyndns_config::{BackendKind, Config};
use dyndns_queue::{AppliedState, Family, Job, SpoolDirs};
use dyndns_worker::backend::{Backend, Backends};
use dyndns_worker::{run_with_clock, Clock, Mode, Report, WorkerError};
use tokio::time::Instant;

use crate::fake::FakeBackend;

pub const HOST: &str = "home.dyn.example.com";
pub const OTHER: &str = "lab.dyn.example.com";
/// A host in a second backend zone (`example.net`), so a pass has two batches.
pub const ELSEWHERE: &str = "home.dyn.example.net";

/// 2026-11-23T16:00:00Z, the tests' "now" when they start.
pub fn start_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_449_600)
}

/// Wall time that starts at [`start_time`] and advances with tokio's (paused) clock, unless a test
/// steps it back as an administrator or NTP would.
pub struct TestClock {
    started: Instant,
    stepped_back: Mutex<Duration>,
}

impl TestClock {
    pub fn new() -> TestClock {
        TestClock {
            started: Instant::now(),
            stepped_back: Mutex::new(Duration::ZERO),
        }
    }

    pub fn step_back(&self, by: Duration) {
        *self.stepped_back.lock().expect("clock lock") += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        start_time() + self.started.elapsed() - *self.stepped_back.lock().expect("clock lock")
    }
}

pub struct Bench {
    /// Holds the spool, state and config; removed on drop.
    _dir: tempfile::TempDir,
    pub config: Arc<Config>,
    pub backend: Arc<FakeBackend>,
    pub clock: Arc<TestClock>,
}

impl Bench {
    /// A bench whose worker rescans only hourly, so every wake-up in a test is an event or a timer
    /// the worker set itself.
    pub fn new() -> Bench {
        Bench::with_rescan(3600)
    }

    pub fn with_rescan(rescan_secs: u64) -> Bench {
        Bench::edited(rescan_secs, |text| text)
    }

    /// A bench whose config text `edit` changes first (another backend for a zone, say).
    pub fn edited(rescan_secs: u64, edit: impl FnOnce(String) -> String) -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = format!(
            r#"[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "zonefile"
state_dir = "state"
rescan_secs = {rescan_secs}

[[zone]]
name = "dyn.example.com"
backend_zone = "example.com"

[[zone]]
name = "dyn.example.net"
backend_zone = "example.net"

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$pCo1hhnvnRFyDG0NwEtJag$c7C8W5Fix7yHkvomRxg75R8EQ1L9i2n5gx7SbwxKcAQ"
hosts = ["{HOST}", "{OTHER}", "{ELSEWHERE}"]

[backend.zonefile]
path = "zones/{{zone}}.zone"
"#
        );
        let path = dir.path().join("dyndns.toml");
        std::fs::write(&path, edit(text)).expect("write config");
        let config = Config::load(&path).unwrap_or_else(|err| panic!("{err}"));
        SpoolDirs::at(&config.spool_dir)
            .create_all()
            .expect("create the spool");
        std::fs::create_dir_all(&config.worker.state_dir).expect("create the state folder");
        Bench {
            _dir: dir,
            config: Arc::new(config),
            backend: Arc::new(FakeBackend::default()),
            clock: Arc::new(TestClock::new()),
        }
    }

    pub fn spool(&self) -> SpoolDirs {
        SpoolDirs::at(&self.config.spool_dir)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.config.worker.state_dir.clone()
    }

    pub fn state(&self) -> AppliedState {
        AppliedState::load(&AppliedState::path_in(&self.state_dir())).expect("applied.json loads")
    }

    /// A job as the frontend writes it, received `seconds_ago` before the test clock's now.
    pub fn job(&self, host: &str, v4: Option<&str>, v6: Option<&str>, seconds_ago: i64) -> Job {
        let now = self.clock.now();
        let received_at = if seconds_ago >= 0 {
            now - Duration::from_secs(seconds_ago.unsigned_abs())
        } else {
            now + Duration::from_secs(seconds_ago.unsigned_abs())
        };
        Job::new(
            "router",
            host,
            v4.map(|text| text.parse::<Ipv4Addr>().expect("IPv4 literal")),
            v6.map(|text| text.parse::<Ipv6Addr>().expect("IPv6 literal")),
            received_at,
            None,
        )
    }

    /// A delete of `families` as the frontend writes it, received `seconds_ago` before now.
    pub fn delete_job(&self, host: &str, families: &[Family], seconds_ago: u64) -> Job {
        let received_at = self.clock.now() - Duration::from_secs(seconds_ago);
        Job::deleting("router", host, families.to_vec(), received_at, None)
    }

    /// Drops `job` into `new/` under the name the frontend would give it; returns that name.
    pub fn spool_job(&self, job: &Job) -> String {
        let nanos = job
            .received_at
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos();
        let name = format!("{nanos:020}.{}.json", job.id);
        std::fs::write(
            self.spool().new().join(&name),
            job.to_json().expect("sample job writes"),
        )
        .expect("spool job");
        name
    }

    pub fn run(&self, mode: Mode) -> impl Future<Output = Result<Report, WorkerError>> + 'static {
        self.run_until(mode, std::future::pending())
    }

    pub fn run_until(
        &self,
        mode: Mode,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = Result<Report, WorkerError>> + 'static {
        run_with_clock(
            self.config.clone(),
            self.backend.clone() as Arc<dyn Backend>,
            mode,
            shutdown,
            self.clock.clone(),
        )
    }

    /// The worker with the zones on `zonefile` (the config's default) served by `zonefile` and
    /// those on `none` by `none`: two backends of a test's own.
    pub fn run_split(
        &self,
        zonefile: Arc<dyn Backend>,
        none: Arc<dyn Backend>,
        mode: Mode,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = Result<Report, WorkerError>> + 'static {
        let backends = Backends::new(BTreeMap::from([
            (BackendKind::ZoneFile, zonefile),
            (BackendKind::None, none),
        ]));
        run_with_clock(
            self.config.clone(),
            backends,
            mode,
            shutdown,
            self.clock.clone(),
        )
    }

    pub async fn run_once(&self) -> Report {
        self.run(Mode::RunOnce)
            .await
            .unwrap_or_else(|err| panic!("the worker failed: {err}"))
    }
}

pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("address literal")
}

pub fn family_state(state: &AppliedState, family: Family) -> dyndns_queue::FamilyState {
    state
        .family(HOST, family)
        .cloned()
        .unwrap_or_else(|| panic!("applied.json has no {family} entry for {HOST}"))
}
