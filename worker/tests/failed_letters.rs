//! `dyndns-worker failed list | show | retry | purge` with the real binary on a temporary spool
//! and state folder (backend `none`): what an operator types to see and fix what failed, on a
//! `failed/` holding hostile entries, beside a running worker.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_site;

use std::fs::File;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cli_site::{stop, text, wait_for, Site};
use dyndns_queue::{read_history, AppliedState, EventKind, Job};

const HOST: &str = "home.dyn.example.com";
/// In the zone, but not among the user's hosts: the config no longer allows it.
const DROPPED: &str = "old.dyn.example.com";
const DAY: Duration = Duration::from_secs(86_400);
const SECRET: &str = "root-only secret 0123456789";

impl Site {
    fn failed(&self) -> PathBuf {
        self.path("spool").join("failed")
    }

    /// A dead letter holding a job for `host` received `ago`, with its reason, as the worker
    /// leaves one; returns the job and its name.
    fn dead_letter(&self, host: &str, v4: &str, ago: Duration) -> (Job, String) {
        let job = Job::new(
            "router",
            host,
            Some(v4.parse().expect("IPv4")),
            None,
            SystemTime::now() - ago,
            None,
        );
        let nanos = job
            .received_at
            .duration_since(UNIX_EPOCH)
            .expect("now")
            .as_nanos();
        let name = format!("{nanos:020}.{}.json", job.id);
        std::fs::write(self.failed().join(&name), job.to_json().expect("job")).expect("letter");
        self.reason(&name, "backend none refused it\nsecond line of the reason");
        (job, name)
    }

    fn reason(&self, name: &str, text: &str) -> PathBuf {
        let path = self.failed().join(format!("{name}.reason"));
        std::fs::write(&path, format!("2026-11-01T00:00:00Z: {text}\n")).expect("reason");
        path
    }

    fn names(&self, folder: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("spool").join(folder))
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
}

fn age(path: &Path, by: Duration) {
    let file = File::options().write(true).open(path).expect("open");
    file.set_modified(SystemTime::now() - by)
        .expect("set mtime");
}

#[test]
fn failed_list_and_show_read_hostile_entries_without_following_blocking_or_swallowing_them() {
    let site = Site::new(&[HOST]);
    let (_, good) = site.dead_letter(HOST, "203.0.113.4", Duration::from_secs(5));
    let secret = site.path("secret");
    std::fs::write(&secret, SECRET).expect("secret");
    symlink(&secret, site.failed().join("link.json")).expect("symlink");
    site.reason("link.json", "job file is a symbolic link");
    nix::unistd::mkfifo(
        &site.failed().join("fifo.json"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .expect("fifo");
    let huge = File::create(site.failed().join("huge.json")).expect("huge");
    huge.set_len(1 << 30).expect("a sparse GiB");
    std::fs::write(site.failed().join("junk.json"), "{\"version\":1,\"id\":").expect("junk");
    std::fs::create_dir(site.failed().join("dir.json")).expect("dir");

    let out = site.run(&["failed", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert_eq!(shown.lines().count(), 6, "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    let line = |id: &str| {
        shown
            .lines()
            .find(|line| line.starts_with(id))
            .unwrap_or_else(|| panic!("no line for {id}: {shown}"))
            .to_owned()
    };
    let good_line = line(&good);
    assert!(
        good_line.contains(&format!("{HOST} ipv4=203.0.113.4"))
            && good_line.contains("backend none refused it")
            && !good_line.contains("second line"),
        "{good_line}"
    );
    assert!(line("link.json").contains("symbolic link"), "{shown}");
    assert!(line("fifo.json").contains("fifo"), "{shown}");
    assert!(line("huge.json").contains("bytes"), "{shown}");
    assert!(
        line("junk.json").contains("not a well-formed job"),
        "{shown}"
    );
    assert!(line("dir.json").contains("directory"), "{shown}");

    let out = site.run(&["failed", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let letters = json.as_array().expect("a list");
    assert_eq!(letters.len(), 6);
    let entry = letters
        .iter()
        .find(|letter| letter["id"] == good.as_str())
        .expect("the good one");
    assert_eq!(entry["host"], HOST);
    assert_eq!(entry["families"][0], "ipv4=203.0.113.4");
    assert_eq!(
        entry["reason"],
        "2026-11-01T00:00:00Z: backend none refused it"
    );
    assert_eq!(entry["problem"], serde_json::Value::Null);
    let link = letters
        .iter()
        .find(|letter| letter["id"] == "link.json")
        .expect("the link");
    assert_eq!(link["kind"], "symbolic link");
    assert_eq!(link["host"], serde_json::Value::Null);

    let out = site.run(&["failed", "show", &good[..24]]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains(&format!("\"host\": \"{HOST}\"")), "{shown}");
    assert!(
        shown.contains("backend none refused it\nsecond line of the reason"),
        "the whole reason: {shown}"
    );
    for hostile in [
        "link.json",
        "fifo.json",
        "huge.json",
        "junk.json",
        "dir.json",
    ] {
        let out = site.run(&["failed", "show", hostile]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        assert!(shown.contains("job: unreadable: "), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
    }
    let out = site.run(&["failed", "show", "nothing-like-it"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no dead letter"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&secret).expect("secret"), SECRET);
}

#[test]
fn a_retried_dead_letter_goes_back_to_new_and_the_running_worker_applies_it() {
    let site = Site::new(&[HOST]);
    let worker = site.start();
    let (job, name) = site.dead_letter(HOST, "203.0.113.5", Duration::from_secs(5));

    let id = job.id.to_string();
    let out = site.run(&["failed", "retry", &id[..13]]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("retried {name}: {HOST} ipv4=203.0.113.5")),
        "{}",
        text(&out.stdout)
    );
    assert!(
        site.names("failed").is_empty(),
        "{:?}",
        site.names("failed")
    );
    let state_dir = site.path("state");
    wait_for("the retried job applied", || {
        read_history(&state_dir).is_ok_and(|history| {
            history
                .events
                .iter()
                .any(|event| event.job == job.id && event.event == EventKind::Applied)
        })
    });
    wait_for("cur/ emptied", || site.names("cur").is_empty());
    let state = AppliedState::load(&AppliedState::path_in(&state_dir)).expect("state");
    assert_eq!(
        state.applied_address(HOST, dyndns_queue::Family::V4),
        Some("203.0.113.5".parse().expect("IPv4"))
    );
    assert!(site.names("new").is_empty());
    stop(worker);
}

#[test]
fn retry_refuses_a_stale_job_and_a_host_the_config_no_longer_allows_and_moves_nothing() {
    let site = Site::new(&[HOST]);
    let (_, stale) = site.dead_letter(HOST, "203.0.113.6", Duration::from_secs(3600));
    let (_, dropped) = site.dead_letter(DROPPED, "203.0.113.7", Duration::from_secs(5));
    let mut state = AppliedState::default();
    let handled = SystemTime::now() - Duration::from_secs(60);
    state.record_applied(HOST, "192.0.2.7".parse().expect("IPv4"), handled, handled);
    state
        .save(&AppliedState::path_in(&site.path("state")))
        .expect("state");
    let before = site.names("failed");

    let out = site.run(&["failed", "retry", &stale]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!("refused {stale}: it was received at"))
            && said.contains("roll DNS back"),
        "{said}"
    );
    let out = site.run(&["failed", "retry", &dropped]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!("refused {dropped}: today's config refuses it")),
        "{said}"
    );
    let out = site.run(&["failed", "retry", "--all"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).matches("refused ").count(), 2);

    assert_eq!(site.names("failed"), before, "nothing moved");
    assert!(site.names("new").is_empty());
}

#[test]
fn purge_removes_only_letters_older_than_days_never_follows_a_symlink_and_leaves_a_directory() {
    let site = Site::new(&[HOST]);
    let (_, old) = site.dead_letter(HOST, "203.0.113.8", DAY);
    age(&site.failed().join(format!("{old}.reason")), 8 * DAY);
    let (_, young) = site.dead_letter(HOST, "203.0.113.9", DAY);
    age(&site.failed().join(format!("{young}.reason")), 6 * DAY);
    let secret = site.path("secret");
    std::fs::write(&secret, SECRET).expect("secret");
    symlink(&secret, site.failed().join("link.json")).expect("symlink");
    age(&site.reason("link.json", "a link"), 8 * DAY);
    std::fs::create_dir(site.failed().join("dir.json")).expect("dir");
    std::fs::write(site.failed().join("dir.json").join("inside"), "x").expect("inside");
    age(&site.reason("dir.json", "a directory"), 8 * DAY);

    let out = site.run(&["failed", "purge", "--older-than", "7"]);
    assert_eq!(out.status.code(), Some(1), "the directory is left");
    assert!(
        text(&out.stdout).contains("2 dead letter(s) older than 7 day(s) removed"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("is a directory"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        site.names("failed"),
        [
            young.clone(),
            format!("{young}.reason"),
            "dir.json".to_owned(),
            "dir.json.reason".to_owned(),
        ]
    );
    assert_eq!(std::fs::read_to_string(&secret).expect("secret"), SECRET);
    assert!(site.failed().join("dir.json").join("inside").exists());

    let out = site.run(&["failed", "purge", "--older-than", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(site.names("failed"), ["dir.json", "dir.json.reason"]);
}

/// `failed retry --all | head -1` panicked at its second line (the pipe closed), leaving every
/// letter after the first in `failed/`.
#[test]
fn retry_all_piped_into_a_reader_that_quit_still_retries_every_letter() {
    let site = Site::new(&[HOST]);
    for n in 1..=3 {
        site.dead_letter(HOST, &format!("203.0.113.{n}"), Duration::from_secs(60));
    }
    let out = site.run_into_a_closed_pipe(&["failed", "retry", "--all"]);
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        site.names("failed").is_empty(),
        "{:?}",
        site.names("failed")
    );
    assert_eq!(site.names("new").len(), 3, "{:?}", site.names("new"));
}

/// `failed retry --all` beside a running worker while new updates for the same host keep
/// arriving: a letter judged fresh by the retry but older than a change the worker applied
/// meanwhile is superseded by the worker, never applied over it; DNS ends on the newest update.
#[test]
fn retry_all_beside_a_running_worker_and_arriving_updates_never_rolls_dns_back() {
    let site = Site::new(&[HOST]);
    let worker = site.start();
    for n in 1..=30u64 {
        site.dead_letter(HOST, &format!("203.0.113.{n}"), Duration::from_secs(31 - n));
    }
    let writer = dyndns_queue::SpoolWriter::open(site.path("spool")).expect("spool");
    let last = std::thread::scope(|scope| {
        let arriving = scope.spawn(|| {
            let mut last = String::new();
            for n in 0..40u8 {
                last = format!("198.51.100.{n}");
                let job = Job::new(
                    "router",
                    HOST,
                    Some(last.parse().expect("IPv4")),
                    None,
                    SystemTime::now(),
                    None,
                );
                writer.submit(&job).expect("spool");
                std::thread::sleep(Duration::from_millis(5));
            }
            last
        });
        let out = site.run(&["failed", "retry", "--all"]);
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{}",
            text(&out.stderr)
        );
        arriving.join().expect("the updates")
    });
    wait_for("the spool emptied", || {
        site.names("new").is_empty() && site.names("cur").is_empty()
    });
    let state = AppliedState::load(&AppliedState::path_in(&site.path("state"))).expect("state");
    assert_eq!(
        state.applied_address(HOST, dyndns_queue::Family::V4),
        Some(last.parse().expect("IPv4")),
        "DNS holds the newest update"
    );
    stop(worker);
}
