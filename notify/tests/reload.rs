//! The real `dyndns-notify` reloading its config on SIGHUP: a target added is told the next event
//! without a restart while the old one hears nothing twice, a broken config or an unreadable token
//! file is refused (logged with file, line, column and key) and the old target keeps hearing, and
//! SIGTERM after a reload still saves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use nix::sys::signal::{kill, Signal};
use util::binary_site::*;
// The real binary's site, not the library's (`util::Site`).
use util::binary_site::Site;
use util::*;

const RELOADED: &str = "config reloaded";
const REFUSED: &str = "config not reloaded";

fn hang_up(notifier: &Logged) {
    kill(pid(&notifier.child), Signal::SIGHUP).unwrap();
}

/// The `events[].new` addresses of requests to `path`.
fn addresses_to(receiver: &Receiver, path: &str) -> Vec<String> {
    receiver
        .received()
        .iter()
        .filter(|request| request.path == path)
        .flat_map(|request| {
            request.json()["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|event| event["new"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_target_added_by_reload_hears_the_next_event_and_the_old_one_nothing_twice() {
    let receiver = Receiver::start();
    let old = webhook(&receiver.url("/old"), "0");
    let site = Site::new(&old);
    let mut notifier = site.start_logged();
    eventually("the first save", || site.state_file().exists());
    let mut log = history(&site.state());
    log.append(&[change("home.dyn.example.com", 1)]).unwrap();
    receiver.wait_for(1);

    // A second table at the end keeps the first one's id (`notify[0] webhook <url>`); the
    // notifier's state folder cannot move while it runs.
    let new = webhook(&receiver.url("/new"), "0");
    site.write_config_in("moved", &format!("{old}\n{new}"));
    hang_up(&notifier);
    let text = notifier.wait_for_log(RELOADED, 1);
    assert!(
        text.contains("this setting needs a restart to change")
            && text.contains("notifier.state_dir"),
        "{text}"
    );

    log.append(&[change("home.dyn.example.com", 2)]).unwrap();
    receiver.wait_for(3);
    assert_eq!(addresses_to(&receiver, "/new"), ["198.51.100.2"]);
    assert_eq!(
        addresses_to(&receiver, "/old"),
        ["198.51.100.1", "198.51.100.2"],
        "the old target keeps its place: nothing resent"
    );

    kill(pid(&notifier.child), Signal::SIGTERM).unwrap();
    assert!(
        wait_exit(&mut notifier.child).success(),
        "{}",
        notifier.log()
    );
    assert!(!site.dir.path().join("moved").exists());
    let saved = std::fs::read_to_string(site.state_file()).unwrap();
    assert!(
        saved.contains(&receiver.url("/new")),
        "the new target's outbox is saved where the state was: {saved}"
    );
    site.write_config(&format!("{old}\n{new}"));
    succeeded(&site.once());
    assert_eq!(
        receiver.received().len(),
        3,
        "the cursor and both deliveries were saved at the stop"
    );
}

#[test]
fn a_broken_config_or_unreadable_token_on_reload_is_refused_and_the_old_target_keeps_hearing() {
    let receiver = Receiver::start();
    let old = webhook(&receiver.url("/old"), "0");
    let site = Site::new(&old);
    let notifier = site.start_logged();
    eventually("the first save", || site.state_file().exists());
    let mut log = history(&site.state());

    site.write_config(&webhook(&receiver.url("/old"), "\"soon\""));
    let config = std::fs::read_to_string(site.config_path()).unwrap();
    let line = config
        .lines()
        .position(|line| line.starts_with("min_interval = \"soon\""))
        .unwrap()
        + 1;
    hang_up(&notifier);
    let text = notifier.wait_for_log(REFUSED, 1);
    assert!(
        text.contains(&format!(
            "{}:{line}:1: key `notify[0].min_interval`",
            site.config_path().display()
        )),
        "{text}"
    );
    log.append(&[change("home.dyn.example.com", 1)]).unwrap();
    receiver.wait_for(1);

    let token = site.dir.path().join("ntfy.token");
    site.write_config(&format!(
        "{old}\n[[notify]]\nkind = \"ntfy\"\nurl = \"{}\"\ntoken_file = \"ntfy.token\"\n",
        receiver.url("/ntfy")
    ));
    hang_up(&notifier);
    let text = notifier.wait_for_log(REFUSED, 2);
    assert!(
        text.contains("notify[1].token_file") && text.contains(&token.display().to_string()),
        "{text}"
    );
    log.append(&[change("home.dyn.example.com", 2)]).unwrap();
    receiver.wait_for(2);
    assert_eq!(
        addresses_to(&receiver, "/old"),
        ["198.51.100.1", "198.51.100.2"]
    );
    assert!(addresses_to(&receiver, "/ntfy").is_empty());
    assert!(!notifier.log().contains(RELOADED), "{}", notifier.log());

    // Once the token is there, the same config is taken.
    std::fs::write(&token, "tk_reloaded\n").unwrap();
    hang_up(&notifier);
    notifier.wait_for_log(RELOADED, 1);
    log.append(&[change("home.dyn.example.com", 3)]).unwrap();
    receiver.wait_for(4);
    let ntfy: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|request| request.path == "/ntfy")
        .collect();
    assert_eq!(ntfy.len(), 1);
    assert_eq!(ntfy[0].headers["authorization"], "Bearer tk_reloaded");
    assert!(!notifier.log().contains("tk_reloaded"));
}

#[test]
fn a_sighup_storm_while_deliveries_flow_and_the_token_rotates_loses_and_doubles_nothing() {
    let receiver = Receiver::start();
    let site = Site::new("");
    let token_path = site.dir.path().join("hook.token");
    std::fs::write(&token_path, "tk_first\n").unwrap();
    site.write_config(&format!(
        "{}token_file = \"hook.token\"\n",
        webhook(&receiver.url("/hook"), "0")
    ));
    let mut notifier = site.start_logged();
    eventually("the first save", || site.state_file().exists());
    let mut log = history(&site.state());

    let pid = pid(&notifier.child);
    let storm = std::thread::spawn(move || {
        for _ in 0..400 {
            kill(pid, Signal::SIGHUP).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
    let mut jobs = Vec::new();
    for n in 1..=60u64 {
        let event = change(&format!("h{n}.dyn.example.com"), n);
        jobs.push(event.job.to_string());
        log.append(&[event]).unwrap();
        if n == 30 {
            // Rotated the way a secret manager does: a new file renamed over the old one.
            let fresh = site.dir.path().join("hook.token.new");
            std::fs::write(&fresh, "tk_second\n").unwrap();
            std::fs::rename(&fresh, &token_path).unwrap();
        }
    }
    storm.join().unwrap();
    receiver.wait_for(60);
    hang_up(&notifier);
    let reloads = notifier.log().matches(RELOADED).count();
    notifier.wait_for_log(RELOADED, reloads + 1);
    log.append(&[change("last.dyn.example.com", 61)]).unwrap();
    let got = receiver.wait_for(61);
    assert_eq!(
        got[60].headers["authorization"], "Bearer tk_second",
        "the rotated token is taken up"
    );
    let mut delivered = receiver.delivered_jobs();
    delivered.truncate(60);
    delivered.sort();
    jobs.sort();
    assert_eq!(delivered, jobs, "every event once");
    kill(pid, Signal::SIGTERM).unwrap();
    assert!(
        wait_exit(&mut notifier.child).success(),
        "{}",
        notifier.log()
    );
    assert_eq!(receiver.received().len(), 61, "nothing more");
    assert!(!notifier.log().contains("tk_"), "{}", notifier.log());
}

#[test]
fn a_sighup_while_a_receiver_hangs_waits_for_the_delivery_and_a_sigterm_then_still_saves() {
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    let mut notifier = site.start_logged();
    eventually("the first save", || site.state_file().exists());
    let mut log = history(&site.state());

    receiver.script(&[Answer::Hold]);
    log.append(&[change("home.dyn.example.com", 1)]).unwrap();
    receiver.wait_for(1);
    hang_up(&notifier);
    notifier.wait_for_log("SIGHUP: reloading", 1);
    log.append(&[change("other.dyn.example.com", 2)]).unwrap();
    assert!(
        !notifier.log().contains(RELOADED),
        "no reload during a delivery: {}",
        notifier.log()
    );
    receiver.release();
    notifier.wait_for_log(RELOADED, 1);
    receiver.wait_for(2);

    // Held again; a SIGHUP waits for it, and a SIGTERM during that wait stops once it settled.
    receiver.hold_again();
    receiver.script(&[Answer::Hold]);
    log.append(&[change("home.dyn.example.com", 3)]).unwrap();
    receiver.wait_for(3);
    hang_up(&notifier);
    notifier.wait_for_log("SIGHUP: reloading", 2);
    kill(pid(&notifier.child), Signal::SIGTERM).unwrap();
    notifier.wait_for_log("stopping once the deliveries under way have settled", 1);
    assert!(
        notifier.child.try_wait().unwrap().is_none(),
        "waits for the delivery"
    );
    receiver.release();
    assert!(
        wait_exit(&mut notifier.child).success(),
        "{}",
        notifier.log()
    );
    succeeded(&site.once());
    assert_eq!(
        receiver.received().len(),
        3,
        "the held delivery was saved as delivered at the stop"
    );
}

#[test]
fn a_token_file_that_is_a_fifo_refuses_the_reload_instead_of_hanging_the_notifier() {
    let receiver = Receiver::start();
    let old = webhook(&receiver.url("/old"), "0");
    let site = Site::new(&old);
    let mut notifier = site.start_logged();
    eventually("the first save", || site.state_file().exists());
    let mut log = history(&site.state());

    let fifo = site.dir.path().join("ntfy.token");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    site.write_config(&format!(
        "{old}\n[[notify]]\nkind = \"ntfy\"\nurl = \"{}\"\ntoken_file = \"ntfy.token\"\n",
        receiver.url("/ntfy")
    ));
    hang_up(&notifier);
    let text = notifier.wait_for_log(REFUSED, 1);
    assert!(
        text.contains("notify[1].token_file") && text.contains("not a regular file"),
        "{text}"
    );
    log.append(&[change("home.dyn.example.com", 1)]).unwrap();
    receiver.wait_for(1);
    assert_eq!(addresses_to(&receiver, "/old"), ["198.51.100.1"]);
    kill(pid(&notifier.child), Signal::SIGTERM).unwrap();
    assert!(wait_exit(&mut notifier.child).success());

    let output = site.once();
    assert!(!output.status.success(), "a start is refused too");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not a regular file"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
