//! `dyndns-worker history`, `status` and the heartbeat, with the real binary on a temporary spool
//! and state folder (backend `none`): what an operator types, and the crash the history's order
//! is for (a kill between the history append and the save of `applied.json`).

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_site;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cli_site::{stop, text, wait_for, Site};
use dyndns_queue::{
    read_history, EventKind, Family, Heartbeat, HistoryEvent, HistoryLog, Job, HISTORY_FILE_NAME,
    HISTORY_VERSION,
};

const HOST: &str = "home.dyn.example.com";
const OTHER: &str = "lab.dyn.example.com";

impl Site {
    /// A job as the frontend writes it into `folder` (`new`, `cur` or `failed`).
    fn job_in(&self, folder: &str, host: &str, v4: &str) -> Job {
        let job = Job::new(
            "router",
            host,
            Some(v4.parse().expect("IPv4")),
            None,
            SystemTime::now() - Duration::from_secs(1),
            Some("198.51.100.9".parse().expect("client")),
        );
        let nanos = job
            .received_at
            .duration_since(UNIX_EPOCH)
            .expect("now")
            .as_nanos();
        let name = format!("{nanos:020}.{}.json", job.id);
        let path = self.path("spool").join(folder).join(&name);
        // Written beside and renamed in, as the frontend does: a running worker woken by the
        // file's creation read it empty and dead-lettered it.
        let written = self.path("spool").join("tmp").join(&name);
        std::fs::write(&written, job.to_json().expect("job")).expect("spool job");
        std::fs::rename(&written, &path).expect("move the job in");
        if folder == "failed" {
            std::fs::write(path.with_file_name(format!("{name}.reason")), "refused\n")
                .expect("reason");
        }
        job
    }

    fn history(&self) -> Vec<HistoryEvent> {
        read_history(&self.state_dir()).expect("history").events
    }
}

fn event(host: &str, kind: EventKind, ago: Duration, error: Option<&str>) -> HistoryEvent {
    let at = SystemTime::now() - ago;
    HistoryEvent {
        v: HISTORY_VERSION,
        time: at,
        event: kind,
        host: host.to_owned(),
        family: Family::V4,
        old: vec!["192.0.2.1".parse().expect("IPv4")],
        new: Some("192.0.2.2".parse().expect("IPv4")),
        user: "router".into(),
        client: Some("198.51.100.9".parse().expect("client")),
        backend: Some("none".into()),
        zone: Some("example.com".into()),
        job: uuid::Uuid::now_v7(),
        received_at: at,
        ms: Some(4),
        changed: true,
        failures: u32::from(error.is_some()),
        error: error.map(str::to_owned),
    }
}

#[test]
fn history_filters_by_host_and_since_in_both_forms() {
    let site = Site::new(&[HOST, OTHER]);
    let mut log = HistoryLog::new(&site.state_dir(), 10 << 20, 5);
    let hour = Duration::from_secs(3600);
    let old = event(HOST, EventKind::Applied, 3 * hour, None);
    let failed = event(
        HOST,
        EventKind::BackendFailure,
        hour / 2,
        Some("connection refused"),
    );
    let other = event(OTHER, EventKind::Applied, hour / 4, None);
    log.append(&[old.clone(), failed.clone()]).expect("append");
    log.append(std::slice::from_ref(&other)).expect("append");

    let all = site.run(&["history"]);
    assert!(all.status.success(), "{}", text(&all.stderr));
    assert_eq!(text(&all.stdout).lines().count(), 3);

    let json = site.run(&[
        "history",
        "HOME.dyn.example.com.",
        "--since",
        "1h",
        "--json",
    ]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let lines: Vec<HistoryEvent> = text(&json.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a stored event"))
        .collect();
    assert_eq!(
        lines,
        std::slice::from_ref(&failed),
        "the host's events of the last hour only"
    );

    let human = site.run(&["history", HOST]);
    let human = text(&human.stdout);
    let lines: Vec<&str> = human.lines().collect();
    assert_eq!(lines.len(), 2, "{human}");
    assert!(
        lines[0].contains(" applied ") && lines[0].contains("192.0.2.1 -> 192.0.2.2"),
        "{human}"
    );
    assert!(
        lines[0].contains("user router from 198.51.100.9 via none zone example.com 4 ms"),
        "{human}"
    );
    assert!(
        lines[1].contains("backend_failure") && lines[1].ends_with(": \"connection refused\""),
        "{human}"
    );
    assert!(lines[1].contains(&failed.job.to_string()), "{human}");

    let bad = site.run(&["history", "--since", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
}

#[test]
fn status_counts_pending_in_flight_and_failed_jobs_and_shows_hosts_in_text_and_json() {
    let site = Site::new(&[HOST, OTHER]);
    site.job_in("new", HOST, "203.0.113.1");
    site.job_in("new", OTHER, "203.0.113.2");
    site.job_in("cur", HOST, "203.0.113.3");
    site.job_in("failed", HOST, "203.0.113.4");
    let mut state = dyndns_queue::AppliedState::default();
    let applied_at = SystemTime::now() - Duration::from_secs(60);
    state.record_applied(
        HOST,
        "192.0.2.7".parse().expect("IPv4"),
        applied_at,
        applied_at,
    );
    state
        .save(&dyndns_queue::AppliedState::path_in(&site.state_dir()))
        .expect("state");
    HistoryLog::new(&site.state_dir(), 10 << 20, 5)
        .append(&[event(
            OTHER,
            EventKind::DeadLetter,
            Duration::from_secs(30),
            Some("refused: bad"),
        )])
        .expect("history");

    let out = site.run(&["status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("worker: not running (none has run here yet)"),
        "{shown}"
    );
    assert!(
        shown.contains("spool: 2 pending (new/), 1 in flight (cur/), 1 failed (failed/)"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("{HOST}\n  ipv4  192.0.2.7 since ")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("{OTHER}\n  last error ")),
        "{shown}"
    );
    assert!(
        shown.contains("dead_letter (still failing): \"refused: bad\""),
        "{shown}"
    );

    let out = site.run(&["status", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["pending"], 2);
    assert_eq!(json["in_flight"], 1);
    assert_eq!(json["failed"], 1);
    assert_eq!(json["worker"]["lock"], "free");
    assert_eq!(json["worker"]["heartbeat"], serde_json::Value::Null);
    assert_eq!(json["hosts"][0]["host"], HOST);
    assert_eq!(json["hosts"][0]["ipv4"]["address"], "192.0.2.7");
    assert_eq!(json["hosts"][1]["host"], OTHER);
    assert_eq!(json["hosts"][1]["last_error"]["event"], "dead_letter");
    assert_eq!(json["hosts"][1]["last_error"]["current"], true);
}

#[test]
fn the_running_worker_beats_holds_the_lock_in_status_and_marks_its_clean_exit() {
    let site = Site::new(&[HOST, OTHER]);
    let worker = site.start();
    let read = || Heartbeat::read(&site.state_dir()).ok().flatten();
    wait_for("the first heartbeat", || read().is_some());
    let first = read().expect("a heartbeat");
    assert!(first.is_running());
    assert_eq!(first.pid, worker.id());
    wait_for("a later beat", || {
        read().is_some_and(|beat| beat.beat_at >= first.beat_at + Duration::from_secs(1))
    });

    let out = site.run(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["worker"]["lock"], "held", "{json}");
    assert_eq!(json["worker"]["heartbeat"]["mode"], "continuous");
    let out = site.run(&["status"]);
    assert!(
        text(&out.stdout).starts_with("worker: running (pid "),
        "{}",
        text(&out.stdout)
    );
    // The probe took nothing the worker needs: it still applies a job.
    site.job_in("new", HOST, "203.0.113.9");
    wait_for("the job's event", || !site.history().is_empty());

    stop(worker);
    let last = read().expect("a heartbeat");
    assert!(!last.is_running(), "{last:?}");
    let out = site.run(&["status"]);
    assert!(
        text(&out.stdout).contains("worker: not running (the last one, pid"),
        "{}",
        text(&out.stdout)
    );
}

/// The history is appended before `applied.json` is saved: a worker killed in between leaves the
/// job in `cur/`, the next run applies it again, and the event is there twice, never missing.
#[test]
fn a_kill_between_the_history_append_and_the_state_save_repeats_the_event_never_loses_it() {
    let site = Site::new(&[HOST, OTHER]);
    let worker = site.start();
    wait_for("the worker's start", || {
        Heartbeat::read(&site.state_dir()).ok().flatten().is_some()
    });
    // applied.json cannot be replaced while a folder holds its name: every save fails.
    let state_path = site.state_dir().join("applied.json");
    std::fs::create_dir(&state_path).expect("block the save");
    let job = site.job_in("new", HOST, "203.0.113.7");
    wait_for("the applied event", || !site.history().is_empty());
    let mut worker = worker;
    worker.kill().expect("kill -9");
    worker.wait().expect("reaped");

    assert!(state_path.is_dir(), "nothing was saved");
    assert_eq!(
        std::fs::read_dir(site.spool().cur()).expect("cur").count(),
        1,
        "the job waits"
    );
    std::fs::remove_dir(&state_path).expect("unblock");
    let out = site.run(&["--run-once"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let events = site.history();
    let keys: Vec<_> = events.iter().map(HistoryEvent::dedupe_key).collect();
    assert_eq!(
        keys,
        [(job.id, Family::V4, EventKind::Applied); 2],
        "{events:?}"
    );
    assert_eq!(
        std::fs::read_dir(site.spool().cur()).expect("cur").count(),
        0
    );
    let state = dyndns_queue::AppliedState::load(&state_path).expect("saved now");
    assert_eq!(
        state.applied_address(HOST, Family::V4),
        job.ipv4.map(Into::into)
    );
}

#[test]
fn a_symlink_planted_as_history_jsonl_is_not_followed_and_updates_go_on() {
    let site = Site::new(&[HOST, OTHER]);
    let target = site.path("elsewhere");
    std::fs::write(&target, "untouched\n").expect("target");
    std::os::unix::fs::symlink(&target, site.state_dir().join(HISTORY_FILE_NAME)).expect("symlink");
    site.job_in("new", HOST, "203.0.113.7");

    let out = site.run(&["--run-once"]);

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "untouched\n"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("symbolic link") && stderr.contains(HISTORY_FILE_NAME),
        "{stderr}"
    );
    let state =
        dyndns_queue::AppliedState::load(&site.state_dir().join("applied.json")).expect("state");
    assert!(
        state.applied_address(HOST, Family::V4).is_some(),
        "the update still landed"
    );
    assert!(Path::new(&site.spool().cur())
        .read_dir()
        .expect("cur")
        .next()
        .is_none());
}

/// The frontend's group reads the state folder but not the lock (root, 0600) nor `failed/` (root,
/// 0700): `status` and `history` still answer, and say what they could not know.
#[test]
fn status_and_history_work_as_a_member_of_the_state_group() {
    use std::os::unix::fs::PermissionsExt;
    if !nix::unistd::Uid::effective().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the tests as root; this one needs to change users"
        );
        return;
    }
    let site = Site::new(&[HOST, OTHER]);
    let worker = site.start();
    wait_for("the first heartbeat", || {
        Heartbeat::read(&site.state_dir()).ok().flatten().is_some()
    });
    site.job_in("new", HOST, "203.0.113.7");
    wait_for("the applied event", || !site.history().is_empty());
    // The history line comes before the state's save: wait for both files the test re-owns.
    wait_for("the applied state", || {
        site.state_dir().join("applied.json").exists()
    });
    // As packaging lays it out, with `nogroup` for the frontend's group.
    let (nobody, nogroup) = (65534, 65534);
    let chgrp = |path: &Path, mode: u32| {
        std::os::unix::fs::chown(path, None, Some(nogroup)).expect("chgrp");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    chgrp(&site.path(""), 0o750);
    chgrp(&site.path("dyndns.toml"), 0o640);
    chgrp(&site.path("spool"), 0o750);
    chgrp(&site.spool().new(), 0o770);
    chgrp(&site.spool().cur(), 0o750);
    std::fs::set_permissions(
        site.spool().failed(),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod");
    chgrp(&site.state_dir(), 0o2750);
    for name in ["applied.json", HISTORY_FILE_NAME, "heartbeat.json"] {
        chgrp(&site.state_dir().join(name), 0o640);
    }
    // util-linux `setpriv` (in every Debian installation) also drops root's other groups.
    let as_member = |args: &[&str]| {
        let worker = site.worker(args);
        Command::new("/usr/bin/setpriv")
            .args([
                format!("--reuid={nobody}"),
                format!("--regid={nogroup}"),
                "--clear-groups".to_owned(),
            ])
            .arg(worker.get_program())
            .args(worker.get_args())
            .env_remove("RUST_LOG")
            .output()
            .expect("run as nobody through setpriv")
    };

    let out = as_member(&["status", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["worker"]["lock"], "unknown", "{json}");
    assert_eq!(json["failed"], serde_json::Value::Null, "{json}");
    assert_eq!(json["pending"], 0, "{json}");
    assert_eq!(json["hosts"][0]["ipv4"]["address"], "203.0.113.7", "{json}");
    let out = as_member(&["status"]);
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("worker: running by its heartbeat"),
        "{shown}"
    );
    assert!(shown.contains("? failed (failed/)"), "{shown}");
    let out = as_member(&["history", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    stop(worker);
}

/// `dyndns-worker history | head -1` panicked once `head` had its line: "failed printing to
/// stdout: Broken pipe", exit 101 and a backtrace. So did `status` and `failed list`.
#[test]
fn history_and_status_piped_into_a_reader_that_quit_end_quietly_without_a_panic() {
    let site = Site::new(&[HOST, OTHER]);
    let mut log = HistoryLog::new(&site.state_dir(), 10 << 20, 5);
    // More than a pipe holds, so the writes cannot all land before the reader is gone.
    let events: Vec<HistoryEvent> = (0..2000)
        .map(|_| event(HOST, EventKind::Applied, Duration::from_secs(60), None))
        .collect();
    log.append(&events).expect("append");
    for args in [
        &["history"][..],
        &["history", "--json"],
        &["status"],
        &["status", "--json"],
        &["failed", "list"],
    ] {
        let out = site.run_into_a_closed_pipe(args);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// `history` and `status` held every event of every history file in memory at once (and
/// `history` its whole output besides): some 110 MB for 50 MB of history, which the config allows
/// many times over. They go through the history a line at a time now.
#[test]
fn history_and_status_go_through_a_long_history_in_bounded_memory() {
    let site = Site::new(&[HOST, OTHER]);
    let failed = event(
        HOST,
        EventKind::BackendFailure,
        Duration::from_secs(60),
        Some("connection refused"),
    );
    let line = serde_json::to_string(&failed).expect("encode") + "\n";
    const LINES: usize = 120_000;
    let path = site.state_dir().join(HISTORY_FILE_NAME);
    std::fs::write(&path, line.repeat(LINES)).expect("write the history");
    assert!(std::fs::metadata(&path).expect("stat").len() > 40 << 20);
    let capped = |args: &[&str]| {
        let out = Command::new("prlimit")
            .arg(format!("--data={}", 32 << 20))
            .arg(env!("CARGO_BIN_EXE_dyndns-worker"))
            .arg("--config")
            .arg(site.path("dyndns.toml"))
            .args(args)
            .output()
            .expect("run prlimit (util-linux)");
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(capped(&["history", "--json"]).lines().count(), LINES);
    assert_eq!(capped(&["history", OTHER]).lines().count(), 0);
    let status = capped(&["status"]);
    assert!(status.contains("connection refused"), "{status}");
}
