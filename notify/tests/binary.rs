//! The real `dyndns-notify` binary: `--once` runs, the continuous mode killed with SIGKILL between
//! a delivery and its save (one resend, never more), stopped with SIGTERM, a start refused over a
//! missing token, a worker killed -9 while a notification is under way, and a second notifier on
//! the same state folder refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use dyndns_queue::{read_history, HistoryLog};
use nix::sys::signal::{kill, Signal};
use util::binary_site::*;
// The real binary's site, not the library's (`util::Site`).
use util::binary_site::Site;
use util::*;

/// The test binary runs itself as a stand-in worker when this names a state folder.
const STAND_IN_ENV: &str = "DYNDNS_NOTIFY_TEST_WORKER_STATE";

#[test]
fn once_starts_at_the_end_delivers_holds_back_by_rate_and_resends_nothing() {
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "\"1h\""));
    let mut log = history(&site.state());
    log.append(&[change("old.dyn.example.com", 1)]).unwrap();
    succeeded(&site.once());
    assert!(
        receiver.received().is_empty(),
        "the history before the first start is not news"
    );
    let mode = std::fs::metadata(site.state_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    log.append(&[change("home.dyn.example.com", 2)]).unwrap();
    succeeded(&site.once());
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["events"][0]["new"], "198.51.100.2");
    log.append(&[change("home.dyn.example.com", 3)]).unwrap();
    succeeded(&site.once());
    assert_eq!(
        receiver.received().len(),
        1,
        "one message per host per hour"
    );
    let saved = std::fs::read_to_string(site.state_file()).unwrap();
    assert!(
        saved.contains("198.51.100.3"),
        "the held-back change is owed: {saved}"
    );
    succeeded(&site.once());
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing resent, nothing early"
    );
}

#[test]
fn killed_between_delivery_and_cursor_save_resends_at_most_once() {
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    succeeded(&site.once());
    let mut notifier = site.start();
    receiver.script(&[Answer::Hold]);
    history(&site.state())
        .append(&[change("home.dyn.example.com", 1)])
        .unwrap();
    // The receiver has the message; the notifier waits for the answer and has saved nothing.
    receiver.wait_for(1);
    kill(pid(&notifier), Signal::SIGKILL).unwrap();
    wait_exit(&mut notifier);
    receiver.release();
    succeeded(&site.once());
    let got = receiver.wait_for(2);
    assert_eq!(
        got[0].json()["events"],
        got[1].json()["events"],
        "the same message, once more"
    );
    succeeded(&site.once());
    assert_eq!(receiver.received().len(), 2, "and never again");
}

#[test]
fn sigterm_stops_the_continuous_notifier_after_saving() {
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    let mut notifier = site.start();
    eventually("the first save", || site.state_file().exists());
    history(&site.state())
        .append(&[change("home.dyn.example.com", 1)])
        .unwrap();
    receiver.wait_for(1);
    kill(pid(&notifier), Signal::SIGTERM).unwrap();
    let status = wait_exit(&mut notifier);
    assert!(status.success(), "{status:?}");
    succeeded(&site.once());
    assert_eq!(
        receiver.received().len(),
        1,
        "the delivery was saved before the exit"
    );
}

#[test]
fn a_missing_token_file_stops_the_start_naming_its_key() {
    let site = Site::new(
        "[[notify]]\nkind = \"gotify\"\nurl = \"http://127.0.0.1:9\"\ntoken_file = \"gotify.token\"\n",
    );
    let output = site.once();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("notify[0].token_file"), "{stderr}");
    assert!(stderr.contains("gotify.token"), "{stderr}");
}

#[test]
fn a_token_never_reaches_the_log_even_at_trace_level() {
    let receiver = Receiver::start();
    let site = Site::new(&format!(
        "[[notify]]\nkind = \"ntfy\"\nurl = \"{}\"\ntoken_file = \"ntfy.token\"\nmin_interval = 0\n",
        receiver.url("/t")
    ));
    std::fs::write(site.dir.path().join("ntfy.token"), "tk_never_logged\n").unwrap();
    succeeded(&site.once());
    history(&site.state())
        .append(&[change("home.dyn.example.com", 1)])
        .unwrap();
    receiver.script(&[Answer::Status(401)]);
    let output = site
        .command()
        .arg("--once")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "a failed delivery");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(!stderr.contains("tk_never_logged"), "{stderr}");
    // The topic may be the secret (a public ntfy server): logs show the server only.
    assert!(!stderr.contains(&receiver.url("/t")), "{stderr}");
    assert!(
        stderr.contains(&format!("http://{}/…", receiver.addr)),
        "{stderr}"
    );
    assert_eq!(
        receiver.received()[0].headers["authorization"],
        "Bearer tk_never_logged"
    );
}

/// The stand-in worker the next test kills: this test binary run again with `STAND_IN_ENV` set
/// appends passes of three events to the history until it is killed.
fn worker_stand_in(state: std::ffi::OsString) {
    let mut log = HistoryLog::new(Path::new(&state), 10 << 20, 5);
    // A host per event, so every event is listed by job id (none only counted); a few hundred
    // at most, so the notifier's one message per host is quick to check.
    for pass in 0u64..100 {
        let events: Vec<_> = (0..3)
            .map(|n| change(&format!("h{pass}-{n}.dyn.example.com"), pass))
            .collect();
        log.append(&events).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(PATIENCE);
}

#[test]
fn worker_killed_during_a_notification_leaves_history_and_notifier_consistent() {
    if let Some(state) = std::env::var_os(STAND_IN_ENV) {
        return worker_stand_in(state);
    }
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    let mut notifier = site.start();
    eventually("the first save", || site.state_file().exists());
    // The first notification is held under way while the worker goes on and is killed.
    receiver.script(&[Answer::Hold]);
    let mut worker = Command::new(std::env::current_exe().unwrap())
        .args([
            "worker_killed_during_a_notification_leaves_history_and_notifier_consistent",
            "--exact",
            "--nocapture",
        ])
        .env(STAND_IN_ENV, site.state())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    receiver.wait_for(1);
    eventually("a few dozen passes", || {
        read_history(&site.state()).unwrap().events.len() >= 90
    });
    kill(pid(&worker), Signal::SIGKILL).unwrap();
    wait_exit(&mut worker);
    receiver.release();

    let recorded = read_history(&site.state()).unwrap();
    assert_eq!(recorded.unreadable, 0, "a killed worker leaves whole lines");
    let expected: HashSet<String> = recorded.events.iter().map(|e| e.job.to_string()).collect();
    eventually("every recorded event delivered", || {
        receiver.delivered_jobs().len() >= expected.len()
    });
    let delivered = receiver.delivered_jobs();
    let unique: HashSet<String> = delivered.iter().cloned().collect();
    assert_eq!(
        unique, expected,
        "every event the worker recorded, and only those"
    );
    assert_eq!(delivered.len(), unique.len(), "none twice");
    kill(pid(&notifier), Signal::SIGTERM).unwrap();
    assert!(wait_exit(&mut notifier).success());
}

#[test]
fn a_second_notifier_on_one_state_folder_is_refused_so_nothing_is_sent_twice() {
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    let mut notifier = site.start();
    eventually("the first save", || site.state_file().exists());
    history(&site.state())
        .append(&[change("home.dyn.example.com", 1)])
        .unwrap();
    receiver.wait_for(1);
    // A `--once` by hand beside the service.
    let second = site.once();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another dyndns-notify runs on") && stderr.contains("notify.lock"),
        "{stderr}"
    );
    history(&site.state())
        .append(&[change("home.dyn.example.com", 2)])
        .unwrap();
    receiver.wait_for(2);
    kill(pid(&notifier), Signal::SIGTERM).unwrap();
    assert!(wait_exit(&mut notifier).success());
    succeeded(&site.once());
    assert_eq!(receiver.received().len(), 2, "each event once");
}

#[test]
fn history_rotated_past_the_cursor_while_down_is_warned_of_and_a_reused_inode_skips_nothing() {
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    // 4 KiB files, one rotated file kept: a dozen events per file.
    let mut log = HistoryLog::new(&site.state(), 4096, 1);
    log.append(&[change("old.dyn.example.com", 1)]).unwrap();
    succeeded(&site.once());
    log.append(&[change("home.dyn.example.com", 2)]).unwrap();
    succeeded(&site.once());
    assert_eq!(receiver.delivered_jobs().len(), 1);

    // While the notifier is down, the file its cursor is in is rotated out of existence; ext4
    // gives its inode to a later `history.jsonl`, which the cursor must not be read as.
    for n in 3..80 {
        log.append(&[change(&format!("h{n}.dyn.example.com"), n)])
            .unwrap();
    }
    let mut remaining: Vec<String> = read_history(&site.state())
        .unwrap()
        .events
        .iter()
        .map(|event| event.job.to_string())
        .collect();
    assert!(remaining.len() < 77, "events were rotated away");
    let output = site.once();
    succeeded(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("history_max_bytes") && stderr.contains("history_keep"),
        "the lost events are reported, with how to avoid it: {stderr}"
    );
    let mut delivered = receiver.delivered_jobs().split_off(1);
    delivered.sort();
    remaining.sort();
    assert_eq!(
        delivered, remaining,
        "what the history still holds, each once"
    );

    log.append(&[change("home.dyn.example.com", 81)]).unwrap();
    let output = site.once();
    succeeded(&output);
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("history_keep"),
        "no gap is reported once the cursor is found again"
    );
    assert_eq!(receiver.delivered_jobs().len(), remaining.len() + 2);
}

#[test]
fn a_broken_or_hostile_state_file_stops_the_start_naming_it_and_is_left_as_it_was() {
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    let mut log = history(&site.state());
    log.append(&[change("old.dyn.example.com", 1)]).unwrap();
    succeeded(&site.once());
    let good = std::fs::read(site.state_file()).unwrap();
    log.append(&[change("home.dyn.example.com", 2)]).unwrap();
    let path = site.state_file();
    let elsewhere = site.dir.path().join("elsewhere.json");
    std::fs::write(&elsewhere, &good).unwrap();

    let cases: [(&str, &dyn Fn()); 5] = [
        ("truncated", &|| {
            std::fs::write(&path, &good[..good.len() / 2]).unwrap()
        }),
        ("garbage", &|| {
            std::fs::write(&path, b"\x00\xff{not json\n").unwrap()
        }),
        ("huge and sparse", &|| {
            std::fs::File::create(&path)
                .unwrap()
                .set_len(8 << 30)
                .unwrap()
        }),
        ("a symlink", &|| {
            std::os::unix::fs::symlink(&elsewhere, &path).unwrap()
        }),
        ("a FIFO", &|| {
            nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap()
        }),
    ];
    for (what, make) in cases {
        std::fs::remove_file(&path).unwrap();
        make();
        let before = std::fs::symlink_metadata(&path).unwrap();
        let output = site.once();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()),
            "{what}: the error names the file: {stderr}"
        );
        let after = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(
            (before.ino(), before.len(), before.file_type()),
            (after.ino(), after.len(), after.file_type()),
            "{what}: left as it was"
        );
        assert!(receiver.received().is_empty(), "{what}: nothing sent");
    }
    assert_eq!(std::fs::read(&elsewhere).unwrap(), good, "never followed");

    // Put back, it resumes where it was: the change since is sent once.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, &good).unwrap();
    succeeded(&site.once());
    assert_eq!(receiver.delivered_jobs().len(), 1);
}

#[test]
fn a_root_run_on_a_state_folder_owned_by_the_notifier_user_is_refused_so_the_service_can_still_start(
) {
    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "needs root");
        eprintln!("\n!!!!!!!! WARNING: not root: this test did NOT run !!!!!!!!\n");
        return;
    }
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    let folder = site.dir.path().join("notify");
    let nobody = nix::unistd::Uid::from_raw(65534);
    nix::unistd::chown(&folder, Some(nobody), None).unwrap();
    // `sudo dyndns-notify --once` by hand: root's files in it would be 0600 root, which the
    // service, as its own user, could then neither read nor lock.
    let output = site.once();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&folder.display().to_string())
            && stderr.contains(
                "root's files there would stop the notifier's service from starting; run it as \
                 that user (`sudo -u nobody dyndns-notify --once`)"
            ),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        0,
        "nothing made in the folder"
    );

    // Run as the folder's owner it starts.
    nix::unistd::chown(&folder, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    succeeded(&site.once());
    assert!(site.state_file().exists());
}
