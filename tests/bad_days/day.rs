//! One installation for a bad day: a site on the zone-file backend, the continuous worker and the
//! notifier as running processes (killed on drop), the zone's addresses, the history, and a wall
//! clock the test can step under the running processes (libfaketime, Debian package `faketime`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dyndns_queue::HistoryEvent;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::notify_util::Receiver;
use crate::util::{eventually, Frontend, Site};

/// How long a test waits for what a running process does in a second or two.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A site whose worker writes `zones/example.com.zone`, beating every second; `frontend_extra`
/// goes into `[frontend]` (e.g. `heartbeat_max_age_secs`).
pub fn zone_file_site(frontend_extra: &str) -> Site {
    let site = Site::with(
        frontend_extra.to_owned(),
        "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
    );
    let text = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace("backend = \"plesk\"", "backend = \"zonefile\"")
        .replace("rescan_secs = 1", "rescan_secs = 1\nheartbeat_secs = 1")
        + "\n[backend.zonefile]\npath = \"zones/{zone}.zone\"\n";
    std::fs::write(site.config_path(), text).unwrap();
    std::fs::create_dir_all(site.path().join("zones")).unwrap();
    site
}

/// Adds a `[notifier]` with its folder in the site and one `[[notify]]` of `kind` (`webhook`,
/// `ntfy`) to `receiver`, with `extra` keys (`min_interval = 0`).
pub fn notify_to(site: &Site, kind: &str, receiver: &Receiver, extra: &str) {
    std::fs::create_dir_all(site.path().join("notify")).unwrap();
    let mut text = std::fs::read_to_string(site.config_path()).unwrap();
    text.push_str(&format!(
        "\n[notifier]\nstate_dir = \"notify\"\n\n[[notify]]\nkind = \"{kind}\"\nurl = \"{}\"\n{extra}\n",
        receiver.url("/notify")
    ));
    std::fs::write(site.config_path(), text).unwrap();
}

/// The continuous worker and the frontend on `site`.
pub fn start_both(site: &Site) -> (Running, Frontend) {
    let worker = start_worker(site, None);
    (worker, site.start_frontend())
}

/// An update of `host` to `address` through the frontend, answered `good`.
pub fn update_good(frontend: &Frontend, host: &str, address: &str) {
    let reply = frontend.update(&format!("hostname={host}&myip={address}"));
    assert_eq!(reply.body, format!("good {address}\n"));
}

/// The A records of `name` (relative to example.com, e.g. `home.dyn`) in the zone file, sorted.
pub fn zone_a(site: &Site, name: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(site.path().join("zones/example.com.zone")).unwrap_or_default();
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.first() == Some(&name) && fields.contains(&"A"))
                .then(|| fields.last().unwrap().to_string())
        })
        .collect();
    found.sort();
    found
}

/// Waits until the zone file gives `home.dyn` exactly `address`.
pub fn wait_for_home(site: &Site, address: &str) {
    let landed = eventually(PATIENCE, || zone_a(site, "home.dyn") == [address]);
    assert!(
        landed,
        "home.dyn never became {address}: zone {:?}, failed/ {:?}, worker log:\n{}",
        zone_a(site, "home.dyn"),
        site.files_in("failed"),
        log(site, "worker.log")
    );
}

/// Every event in the site's history, oldest first.
pub fn history(site: &Site) -> Vec<HistoryEvent> {
    dyndns_queue::read_history(&site.path().join("state"))
        .unwrap()
        .events
}

/// A log file of the site, or "" before it exists.
pub fn log(site: &Site, name: &str) -> String {
    std::fs::read_to_string(site.path().join(name)).unwrap_or_default()
}

/// A process a test started, logging to a file in the site; SIGKILLed and reaped on drop.
pub struct Running {
    child: Child,
}

impl Running {
    /// Starts `command` with its stderr in `<site>/<log>` (appended: a restart keeps the earlier
    /// lines) and waits until that log shows `ready`.
    pub fn start(site: &Site, mut command: Command, log_name: &str, ready: &str) -> Running {
        let before = log(site, log_name).matches(ready).count();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(site.path().join(log_name))
            .unwrap();
        let child = command
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut running = Running { child };
        let started = eventually(PATIENCE, || {
            assert!(
                running.child.try_wait().unwrap().is_none(),
                "{log_name}: the process exited at start:\n{}",
                log(site, log_name)
            );
            log(site, log_name).matches(ready).count() > before
        });
        assert!(
            started,
            "no \"{ready}\" in {log_name}:\n{}",
            log(site, log_name)
        );
        running
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Waits (bounded) for the process to exit after a signal, and asserts it exited cleanly.
    pub fn wait_exit(mut self) {
        let exited = eventually(PATIENCE, || self.child.try_wait().unwrap().is_some());
        assert!(exited, "the process did not stop");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }

    /// SIGKILL and reap: the process is gone when this returns.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The continuous `dyndns-worker` on the site's config, logging to `worker.log`.
pub fn start_worker(site: &Site, clock: Option<&Clock>) -> Running {
    let mut command = site.worker_command();
    if let Some(clock) = clock {
        clock.apply(&mut command);
    }
    Running::start(site, command, "worker.log", "dyndns-worker starting")
}

/// The continuous `dyndns-notify` on the site's config, logging to `notify.log`.
pub fn start_notifier(site: &Site, clock: Option<&Clock>) -> Running {
    let mut command = Command::new(notify_binary());
    command.arg("--config").arg(site.config_path());
    if let Some(clock) = clock {
        clock.apply(&mut command);
    }
    Running::start(
        site,
        command,
        "notify.log",
        "dyndns-notify follows the history",
    )
}

/// The notifier is built beside the frontend by `cargo test --workspace`.
fn notify_binary() -> PathBuf {
    let path = crate::util::frontend_binary().with_file_name("dyndns-notify");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

/// libfaketime, from the Debian package `faketime`.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// A wall clock shared by the processes started with it, steppable while they run: libfaketime
/// reads its offset from a file on every call. Only the wall clock moves (as when NTP or an
/// administrator steps it); the monotonic clock, which timers and backoff use, does not.
pub struct Clock {
    offset_file: PathBuf,
}

impl Clock {
    /// At the true time; `None` outside CI when libfaketime is missing (said loudly), a failure
    /// with `CI=true`.
    pub fn new(site: &Site) -> Option<Clock> {
        if !Path::new(LIBFAKETIME).exists() {
            let why = format!("{LIBFAKETIME} is missing (Debian package faketime)");
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("\n!!!!!!!! WARNING: {why}: this test did NOT run !!!!!!!!\n");
            return None;
        }
        let clock = Clock {
            offset_file: site.path().join("clock-offset"),
        };
        clock.set("+0");
        Some(clock)
    }

    /// Sets the offset from the true time, in libfaketime's words: `-1h`, `+0`, `+1d`.
    pub fn set(&self, offset: &str) {
        let tmp = self.offset_file.with_extension("tmp");
        std::fs::write(&tmp, format!("{offset}\n")).unwrap();
        std::fs::rename(&tmp, &self.offset_file).unwrap();
    }

    pub fn apply(&self, command: &mut Command) {
        command
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME_TIMESTAMP_FILE", &self.offset_file)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
}
