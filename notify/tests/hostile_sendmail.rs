//! Sendmail programs that misbehave on purpose: one that hangs (killed with its process group at
//! the timeout), one that leaves a daemon holding its stdout and stderr (delivered at its exit, not
//! held), one that floods stdout and stderr, and one that never reads a large message. Each
//! delivery ends within the target's timeout and a failed one stays owed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dyndns_config::notify::{NotifyKind, NotifyTarget, SendTo};
use dyndns_queue::EventKind;
use util::binary_site::eventually;
use util::*;

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn sendmail(program: &Path) -> NotifyTarget {
    NotifyTarget {
        id: "notify[0] sendmail".into(),
        label: "notify[0] sendmail".into(),
        kind: NotifyKind::Sendmail,
        send_to: SendTo::Sendmail {
            command: vec![program.display().to_string(), "-t".into()],
            to: vec!["admin@example.com".into()],
            from: "dyndns@example.com".into(),
        },
        on_change: true,
        on_failure: true,
        users: None,
        min_interval: Duration::ZERO,
        timeout: Duration::from_secs(2),
    }
}

fn alive(pid_file: &Path) -> bool {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// One delivery of one fresh event through `program`, run on a thread and bounded, whatever the
/// program does: (delivered, failed, owed) and how long it took.
fn deliver_through(
    program: &Path,
    events: Vec<dyndns_queue::HistoryEvent>,
) -> ((usize, usize, usize), Duration) {
    let site = Site::new();
    let mut notifier = started(&site, &[sendmail(program)]);
    history(&site.state()).append(&events).unwrap();
    let (sender, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let began = Instant::now();
        let report = once(&mut notifier, time(1000));
        let _ = sender.send((
            (report.delivered, report.failed, report.owed),
            began.elapsed(),
        ));
        drop(site);
    });
    result
        .recv_timeout(Duration::from_secs(20))
        .expect("the delivery did not end within 20 s")
}

#[test]
fn a_hanging_sendmail_is_killed_with_its_children_at_the_timeout_and_the_message_stays_owed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let program = script(
        dir.path(),
        "hangs",
        &format!("sleep 300 &\necho $! > '{}'\nwait", pid_file.display()),
    );
    let (report, took) = deliver_through(&program, vec![change("home.dyn.example.com", 1)]);
    assert_eq!(report, (0, 1, 1));
    assert!(took < Duration::from_secs(5), "{took:?}");
    eventually("the program's child killed too", || !alive(&pid_file));
}

#[test]
fn a_sendmail_that_leaves_a_daemon_holding_its_pipes_is_delivered_when_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("daemon.pid");
    let program = script(
        dir.path(),
        "forks",
        &format!(
            "cat > /dev/null\nsleep 300 &\necho $! > '{}'\nexit 0",
            pid_file.display()
        ),
    );
    let (report, took) = deliver_through(&program, vec![change("home.dyn.example.com", 1)]);
    assert_eq!(report, (1, 0, 0));
    assert!(
        took < Duration::from_secs(2),
        "not held by the daemon: {took:?}"
    );
    assert!(
        alive(&pid_file),
        "a delivered mail's queue runner is left to work"
    );
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

#[test]
fn a_sendmail_flooding_stdout_and_stderr_is_judged_by_its_status_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let flood = "head -c 8000000 /dev/zero | tr '\\0' x";
    let fails = script(
        dir.path(),
        "floods-and-fails",
        &format!("cat > /dev/null\n{flood}\n{flood} >&2\nexit 75"),
    );
    let (report, took) = deliver_through(&fails, vec![change("home.dyn.example.com", 1)]);
    assert_eq!(report, (0, 1, 1));
    assert!(took < Duration::from_secs(5), "{took:?}");
    let works = script(
        dir.path(),
        "floods-and-works",
        &format!("cat > /dev/null\n{flood}\n{flood} >&2\nexit 0"),
    );
    let (report, _) = deliver_through(&works, vec![change("home.dyn.example.com", 1)]);
    assert_eq!(report, (1, 0, 0));
}

#[test]
fn a_sendmail_that_never_reads_a_large_message_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(dir.path(), "never-reads", "sleep 300");
    // Eleven failures with long error texts: a message larger than a pipe's buffer.
    let events = (1..=11)
        .map(|n| dyndns_queue::HistoryEvent {
            error: Some("e".repeat(8000)),
            ..failure("home.dyn.example.com", n, EventKind::DeadLetter)
        })
        .collect();
    let (report, took) = deliver_through(&program, events);
    assert_eq!(report, (0, 1, 11));
    assert!(took < Duration::from_secs(5), "{took:?}");
}
