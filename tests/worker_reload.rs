//! Why this exists: SIGHUP re-reads the config of a running `dyndns-worker` (the real binary): a
//! zone and user added are applied without a restart, and a broken config leaves the old one
//! working.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use util::{eventually, Site, HOST, USER};

/// A continuous worker logging to `worker.log` in the site, killed on drop.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_worker(site: &Site) -> Worker {
    let log = std::fs::File::create(site.path().join("worker.log")).unwrap();
    let child = site
        .worker_command()
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let worker = Worker(child);
    wait_for_log(site, "dyndns-worker starting");
    worker
}

fn worker_log(site: &Site) -> String {
    std::fs::read_to_string(site.path().join("worker.log")).unwrap_or_default()
}

fn wait_for_log(site: &Site, marker: &str) {
    let seen = eventually(Duration::from_secs(10), || {
        worker_log(site).contains(marker)
    });
    assert!(
        seen,
        "no \"{marker}\" in the worker's log: {}",
        worker_log(site)
    );
}

fn hang_up(worker: &Worker) {
    kill(Pid::from_raw(worker.0.id() as i32), Signal::SIGHUP).unwrap();
}

fn spool(site: &Site, user: &str, host: &str, address: &str) {
    let writer = dyndns_queue::SpoolWriter::open(site.path().join("spool")).unwrap();
    let job = dyndns_queue::Job::new(
        user,
        host,
        Some(address.parse().unwrap()),
        None,
        SystemTime::now(),
        None,
    );
    writer.submit(&job).unwrap();
}

fn append_to_config(site: &Site, text: &str) {
    let mut config = std::fs::read_to_string(site.config_path()).unwrap();
    config.push_str(text);
    std::fs::write(site.config_path(), config).unwrap();
}

#[test]
fn a_zone_added_before_sighup_is_applied_by_the_running_worker() {
    let site = Site::new();
    let worker = start_worker(&site);
    let hash = bcrypt::hash("lab password", 4).unwrap();
    append_to_config(
        &site,
        &format!(
            "\n[[zone]]\nname = \"lab.example.org\"\n\n[[user]]\nname = \"lab\"\n\
             password_hash = \"{hash}\"\nhosts = [\"home.lab.example.org\"]\n"
        ),
    );
    hang_up(&worker);
    wait_for_log(&site, "config reloaded");
    spool(&site, "lab", "home.lab.example.org", "203.0.113.40");
    let applied = eventually(Duration::from_secs(10), || {
        site.plesk_records()
            .contains(&"home.lab.example.org. A 203.0.113.40".to_string())
    });
    assert!(
        applied,
        "records {:?}, failed/ {:?}: {}",
        site.plesk_records(),
        site.files_in("failed"),
        worker_log(&site)
    );
    assert!(site.files_in("failed").is_empty());
}

#[test]
fn a_broken_config_at_sighup_leaves_the_running_worker_on_the_old_one() {
    let site = Site::new();
    let worker = start_worker(&site);
    append_to_config(&site, "\n[[zone]]\nname = 7\n");
    hang_up(&worker);
    wait_for_log(&site, "config not reloaded");
    let log = worker_log(&site);
    assert!(
        log.contains(&format!("{}:", site.config_path().display())),
        "the error names the file: {log}"
    );
    spool(&site, USER, HOST, "203.0.113.41");
    let applied = eventually(Duration::from_secs(10), || {
        site.plesk_records()
            .contains(&format!("{HOST}. A 203.0.113.41"))
    });
    assert!(
        applied,
        "records {:?}: {}",
        site.plesk_records(),
        worker_log(&site)
    );
}

#[test]
fn a_config_whose_backend_cannot_be_built_at_sighup_is_refused_whole() {
    let site = Site::new();
    let worker = start_worker(&site);
    let hash = bcrypt::hash("cf password", 4).unwrap();
    append_to_config(
        &site,
        &format!(
            "\n[[zone]]\nname = \"cf.example.org\"\nbackend = \"cloudflare\"\n\n[[user]]\n\
             name = \"cf\"\npassword_hash = \"{hash}\"\nhosts = [\"home.cf.example.org\"]\n\n\
             [backend.cloudflare]\napi_token_file = \"no-such-token\"\n"
        ),
    );
    hang_up(&worker);
    wait_for_log(&site, "a backend cannot be built");
    assert!(!worker_log(&site).contains("config reloaded"));
    // The new user was not taken up without its backend: its job is refused as before the reload.
    spool(&site, "cf", "home.cf.example.org", "203.0.113.42");
    let refused = eventually(Duration::from_secs(10), || {
        !site.files_in("failed").is_empty()
    });
    assert!(refused, "{}", worker_log(&site));
    spool(&site, USER, HOST, "203.0.113.43");
    let applied = eventually(Duration::from_secs(10), || {
        site.plesk_records()
            .contains(&format!("{HOST}. A 203.0.113.43"))
    });
    assert!(
        applied,
        "the old config's backend still applies: {}",
        worker_log(&site)
    );
}

/// Whether `pid` has exited and waits to be reaped (a zombie keeps its pid, so signals sent to it
/// still reach no other process).
fn exited(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state == 'Z')
        })
        .unwrap_or(false)
}

/// SIGHUPs as fast as they can be sent: jobs that arrive meanwhile are still applied, and a SIGTERM
/// in the middle of it still ends the worker cleanly.
#[test]
fn a_sighup_storm_does_not_hold_back_the_jobs_that_arrive_meanwhile_nor_a_stop() {
    let site = Site::new();
    let mut worker = start_worker(&site);
    let pid = Pid::from_raw(worker.0.id() as i32);
    let storming = std::sync::atomic::AtomicBool::new(true);
    let (applied, stopped) = std::thread::scope(|scope| {
        scope.spawn(|| {
            while storming.load(std::sync::atomic::Ordering::SeqCst) {
                kill(pid, Signal::SIGHUP).unwrap();
                std::thread::yield_now();
            }
        });
        wait_for_log(&site, "config reloaded");
        let mut applied = true;
        for n in 1..=3 {
            spool(&site, USER, HOST, &format!("203.0.113.{n}"));
            applied &= eventually(Duration::from_secs(10), || {
                site.plesk_records()
                    .contains(&format!("{HOST}. A 203.0.113.{n}"))
            });
        }
        kill(pid, Signal::SIGTERM).unwrap();
        let stopped = eventually(Duration::from_secs(10), || exited(pid));
        storming.store(false, std::sync::atomic::Ordering::SeqCst);
        (applied, stopped)
    });
    assert!(
        applied,
        "records {:?}, new/ {:?}, cur/ {:?}",
        site.plesk_records(),
        site.files_in("new"),
        site.files_in("cur"),
    );
    assert!(site.files_in("failed").is_empty());
    assert!(stopped, "SIGTERM amid the storm: {}", worker_log(&site));
    let status = worker.0.wait().unwrap();
    assert!(status.success(), "{status}: {}", worker_log(&site));
}

/// A zone taken out of the config while its batch is at the backend: that batch finishes on the
/// config it started with; its job waiting in `cur/` and one arriving after are dead-lettered
/// with the reason (for `dyndns-worker failed retry` once the zone is back), none is stuck.
#[test]
fn a_zone_removed_while_its_batch_is_in_flight_finishes_that_batch_and_dead_letters_the_rest() {
    let site = Site::new();
    let hash = bcrypt::hash("lab password", 4).unwrap();
    let without_lab = std::fs::read_to_string(site.config_path()).unwrap();
    append_to_config(
        &site,
        &format!(
            "\n[[zone]]\nname = \"lab.example.org\"\n\n[[user]]\nname = \"lab\"\n\
             password_hash = \"{hash}\"\nhosts = [\"home.lab.example.org\"]\n"
        ),
    );
    let worker = start_worker(&site);
    site.plesk_control("delay", "2");
    spool(&site, "lab", "home.lab.example.org", "203.0.113.40");
    assert!(eventually(Duration::from_secs(10), || !site
        .plesk_calls()
        .is_empty()));
    // Batched behind the first: waits in cur/ while the backend is at work.
    spool(&site, "lab", "home.lab.example.org", "203.0.113.41");
    std::fs::write(site.config_path(), &without_lab).unwrap();
    hang_up(&worker);
    wait_for_log(&site, "config reloaded");
    spool(&site, "lab", "home.lab.example.org", "203.0.113.42");
    site.remove_plesk_control("delay");
    let settled = eventually(Duration::from_secs(20), || {
        site.files_in("new").is_empty()
            && site.files_in("cur").is_empty()
            && site.files_in("failed").len() == 4
    });
    assert!(
        settled,
        "new/ {:?}, cur/ {:?}, failed/ {:?}: {}",
        site.files_in("new"),
        site.files_in("cur"),
        site.files_in("failed"),
        worker_log(&site)
    );
    assert_eq!(
        site.plesk_records(),
        ["home.lab.example.org. A 203.0.113.40"],
        "the batch in flight finished, nothing after it reached the backend"
    );
    let log = worker_log(&site);
    assert_eq!(
        log.matches("outside every configured zone").count(),
        2,
        "{log}"
    );
}
