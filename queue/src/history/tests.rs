//! The history's append, rotation and readers, on a temporary state folder.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

use super::*;

fn event(n: u64) -> HistoryEvent {
    let at = UNIX_EPOCH + Duration::from_secs(1_795_449_600 + n);
    HistoryEvent {
        v: HISTORY_VERSION,
        time: at,
        event: EventKind::Applied,
        host: format!("h{n}.dyn.example.com"),
        family: Family::V4,
        old: vec!["192.0.2.1".parse().expect("IPv4")],
        new: Some("192.0.2.2".parse().expect("IPv4")),
        user: "router".into(),
        client: None,
        backend: Some("zonefile".into()),
        zone: Some("example.com".into()),
        job: Uuid::now_v7(),
        received_at: at,
        ms: Some(3),
        changed: true,
        failures: 0,
        error: None,
    }
}

fn hosts(events: &[HistoryEvent]) -> Vec<String> {
    events.iter().map(|event| event.host.clone()).collect()
}

#[test]
fn a_pass_is_one_append_and_one_sync_read_back_oldest_first_at_mode_0640() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = HistoryLog::new(dir.path(), 10 << 20, 5);
    log.append(&[]).expect("nothing to append");
    assert_eq!(log.syncs(), 0);
    assert!(!log.path().exists(), "no events, no file");
    log.append(&[event(1), event(2)]).expect("append");
    log.append(&[event(3)]).expect("append");
    assert_eq!(log.syncs(), 2, "one sync per pass, not per event");

    let read = read_history(dir.path()).expect("read");
    assert_eq!(hosts(&read.events), hosts(&[event(1), event(2), event(3)]));
    assert_eq!(read.unreadable, 0);
    let mode = std::fs::metadata(log.path())
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);
    let text = std::fs::read_to_string(log.path()).expect("text");
    assert_eq!(text.lines().count(), 3);
    assert!(text.ends_with('\n'));
    assert!(
        text.contains(r#""time":"2026-11-23T16:00:01.000000000Z","event":"applied""#),
        "{text}"
    );
}

#[test]
fn a_delete_is_written_with_new_null() {
    let mut delete = event(1);
    delete.new = None;
    let line = serde_json::to_string(&delete).expect("encodes");
    assert!(line.contains(r#""new":null"#), "{line}");
    assert_eq!(parse_line(line.as_bytes()), Some(delete));
}

#[test]
fn rotation_at_the_size_bound_keeps_the_configured_number_of_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let line_len = serde_json::to_vec(&event(10)).expect("encodes").len() as u64 + 1;
    // Three lines fit; the fourth rotates.
    let mut log = HistoryLog::new(dir.path(), 3 * line_len + 2, 2);
    for n in 10..30 {
        log.append(&[event(n)]).expect("append");
    }
    let names: Vec<String> = history_files(dir.path())
        .expect("list")
        .iter()
        .map(|path| {
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        ["history.jsonl.2", "history.jsonl.1", "history.jsonl"],
        "two rotated files and the current one"
    );
    for path in history_files(dir.path()).expect("list") {
        let len = std::fs::metadata(&path).expect("stat").len();
        assert!(len <= 3 * line_len + 2, "{} is {len} bytes", path.display());
    }
    // What is kept is the newest events, in order, with no gap: 10-12, …, 19-21 rotated out,
    // 22-24 in .2, 25-27 in .1, 28-29 current.
    let read = read_history(dir.path()).expect("read");
    let expected: Vec<HistoryEvent> = (22..30).map(event).collect();
    assert_eq!(hosts(&read.events), hosts(&expected));
}

#[test]
fn a_symlink_planted_as_history_jsonl_is_not_followed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("shadow");
    std::fs::write(&target, b"secret\n").expect("target");
    std::os::unix::fs::symlink(&target, dir.path().join(HISTORY_FILE_NAME)).expect("symlink");
    let mut log = HistoryLog::new(dir.path(), 10 << 20, 5);
    let err = log.append(&[event(1)]).expect_err("refused");
    assert!(matches!(err, HistoryError::Symlink { .. }), "{err}");
    assert!(err.to_string().contains("history.jsonl"), "{err}");
    assert_eq!(std::fs::read(&target).expect("target"), b"secret\n");
    let err = read_history(dir.path()).expect_err("readers refuse it too");
    assert!(matches!(err, HistoryError::Symlink { .. }), "{err}");
}

#[test]
fn corrupt_lines_are_skipped_and_counted_and_a_half_written_last_line_waits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = HistoryLog::new(dir.path(), 10 << 20, 5);
    log.append(&[event(1)]).expect("append");
    let mut file = OpenOptions::new()
        .append(true)
        .open(log.path())
        .expect("open");
    let mut other_version = serde_json::to_value(event(9)).expect("value");
    other_version["v"] = 2.into();
    writeln!(file, "not json").expect("write");
    writeln!(file, "{other_version}").expect("write");
    file.write_all(&vec![b'x'; MAX_EVENT_BYTES + 10])
        .expect("write");
    file.write_all(b"\n").expect("write");
    drop(file);
    log.append(&[event(2)]).expect("append");
    let mut half = OpenOptions::new()
        .append(true)
        .open(log.path())
        .expect("open");
    half.write_all(br#"{"v":1,"time":"#).expect("write");

    let read = read_history(dir.path()).expect("read");
    assert_eq!(hosts(&read.events), hosts(&[event(1), event(2)]));
    assert_eq!(read.unreadable, 3, "bad JSON, version 2, overlong");
}

#[test]
fn a_follower_reads_what_is_appended_across_rotations_and_resumes_from_its_cursor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut follower = HistoryFollower::from_oldest(dir.path());
    assert_eq!(follower.poll().expect("no file yet"), []);
    assert_eq!(follower.cursor(), None);

    let line_len = serde_json::to_vec(&event(10)).expect("encodes").len() as u64 + 1;
    let mut log = HistoryLog::new(dir.path(), 2 * line_len, 3);
    log.append(&[event(10)]).expect("append");
    assert_eq!(hosts(&follower.poll().expect("poll")), hosts(&[event(10)]));
    assert_eq!(follower.poll().expect("poll"), [], "nothing twice");

    // Three appends, two rotations, between two polls: all of it, in order.
    for n in 11..14 {
        log.append(&[event(n)]).expect("append");
    }
    let got = follower.poll().expect("poll");
    assert_eq!(hosts(&got), hosts(&(11..14).map(event).collect::<Vec<_>>()));

    // A new follower from the cursor (the notifier restarted) misses nothing and repeats nothing,
    // even when the file it stood in was rotated meanwhile.
    let cursor = follower.cursor().expect("a cursor");
    for n in 14..17 {
        log.append(&[event(n)]).expect("append");
    }
    let mut resumed = HistoryFollower::resume(dir.path(), cursor);
    let got = resumed.poll().expect("poll");
    assert_eq!(hosts(&got), hosts(&(14..17).map(event).collect::<Vec<_>>()));

    let mut at_end = HistoryFollower::from_end(dir.path());
    assert_eq!(at_end.poll().expect("poll"), []);
    log.append(&[event(17)]).expect("append");
    assert_eq!(hosts(&at_end.poll().expect("poll")), hosts(&[event(17)]));
    assert_eq!(at_end.unreadable(), 0);
}

#[test]
fn a_worker_killed_mid_append_left_a_partial_line_that_the_next_append_glued_onto() {
    let dir = tempfile::tempdir().expect("temp dir");
    HistoryLog::new(dir.path(), 10 << 20, 5)
        .append(&[event(1)])
        .expect("append");
    let path = dir.path().join(HISTORY_FILE_NAME);
    let whole = std::fs::metadata(&path).expect("stat").len();
    // What a kill leaves of a pass longer than a page: whole lines, then part of one, no newline
    // anywhere in the last 64 KiB chunk read back.
    let mut killed = OpenOptions::new().append(true).open(&path).expect("open");
    let second = serde_json::to_string(&event(2)).expect("encode");
    writeln!(killed, "{second}").expect("write");
    let partial = format!("{{\"v\":1,\"host\":\"{}", "x".repeat(70 * 1024));
    killed.write_all(partial.as_bytes()).expect("write");
    drop(killed);
    let before_restart = std::fs::metadata(&path).expect("stat").len();

    // The restarted worker's log.
    let mut log = HistoryLog::new(dir.path(), 10 << 20, 5);
    log.append(&[event(3)]).expect("append");

    let read = read_history(dir.path()).expect("read");
    assert_eq!(
        hosts(&read.events),
        hosts(&[event(1), event(2), event(3)]),
        "the event after the partial line is not lost"
    );
    assert_eq!(read.unreadable, 0, "the partial line was cut off");
    let len = std::fs::metadata(&path).expect("stat").len();
    let third = serde_json::to_string(&event(3)).expect("encode");
    let second_len = u64::try_from(second.len()).expect("small") + 1;
    let third_len = u64::try_from(third.len()).expect("small") + 1;
    assert_eq!(len, whole + second_len + third_len);
    assert!(before_restart > len);
}

#[test]
fn a_history_without_any_newline_is_cut_to_empty_before_the_next_append() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(HISTORY_FILE_NAME);
    std::fs::write(&path, br#"{"v":1,"time":"#).expect("write");
    let mut log = HistoryLog::new(dir.path(), 10 << 20, 5);
    log.append(&[event(1)]).expect("append");
    let read = read_history(dir.path()).expect("read");
    assert_eq!(hosts(&read.events), hosts(&[event(1)]));
    assert_eq!(read.unreadable, 0);
}

/// An operator emptied the history in place (`: > history.jsonl`, or logrotate's copytruncate):
/// same inode, shorter than where a follower stood. The follower waited at its old offset, so the
/// frontend's last errors and the notifier missed every event until the file grew past it, and
/// then read from inside a line.
#[test]
fn a_history_emptied_in_place_is_followed_again_from_its_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = HistoryLog::new(dir.path(), 10 << 20, 5);
    log.append(&[event(1), event(2), event(3)]).expect("append");
    let mut follower = HistoryFollower::from_oldest(dir.path());
    assert_eq!(follower.poll().expect("poll").len(), 3);

    let path = dir.path().join(HISTORY_FILE_NAME);
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .expect("empty it");
    let mut log = HistoryLog::new(dir.path(), 10 << 20, 5);
    log.append(&[event(4)]).expect("append");
    assert_eq!(hosts(&follower.poll().expect("poll")), hosts(&[event(4)]));
    assert_eq!(follower.unreadable(), 0);
}
