//! The history window reads each byte once, keeps only the window, and holds at most its budget.

use std::io::Write;
use std::time::{Duration, SystemTime};

use dyndns_queue::{EventKind, Family, HistoryEvent, HISTORY_VERSION};

use super::*;

/// A day ago plus `secs`: before the files' modification times, as events are.
fn at(secs: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(86_400) + Duration::from_secs(secs)
}

fn event(host: &str, time: SystemTime, error: Option<&str>) -> HistoryEvent {
    HistoryEvent {
        v: HISTORY_VERSION,
        time,
        event: if error.is_some() {
            EventKind::BackendFailure
        } else {
            EventKind::Applied
        },
        host: host.into(),
        family: Family::V4,
        old: Vec::new(),
        new: Some("203.0.113.7".parse().unwrap()),
        user: "router".into(),
        client: None,
        backend: Some("plesk".into()),
        zone: Some("example.com".into()),
        job: uuid::Uuid::new_v4(),
        received_at: time,
        ms: Some(3),
        changed: true,
        failures: u32::from(error.is_some()),
        error: error.map(str::to_owned),
    }
}

/// Appends `events` to `path` as the worker does; the bytes written.
fn append(path: &Path, events: &[HistoryEvent]) -> u64 {
    let mut bytes = Vec::new();
    for event in events {
        serde_json::to_writer(&mut bytes, event).unwrap();
        bytes.push(b'\n');
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    bytes.len() as u64
}

fn hosts(window: &HistoryWindow) -> Vec<String> {
    let mut hosts: Vec<String> = window.events().map(|event| event.host.clone()).collect();
    hosts.sort();
    hosts
}

#[test]
fn a_page_load_reads_only_what_was_appended_or_rotated_in_since_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("history.jsonl");
    let first = append(&current, &[event("a.dyn.example.com", at(10), None)]);
    let mut window = HistoryWindow::default();
    window.refresh(dir.path(), at(0)).unwrap();
    assert_eq!(window.bytes_read(), first);
    window.refresh(dir.path(), at(0)).unwrap();
    assert_eq!(
        window.bytes_read(),
        first,
        "an unchanged history is not read again"
    );

    let second = append(&current, &[event("b.dyn.example.com", at(20), None)]);
    window.refresh(dir.path(), at(0)).unwrap();
    assert_eq!(window.bytes_read(), first + second);

    // Rotation renames: the old file is the same inode under `.1`, and only the new one is read.
    std::fs::rename(&current, dir.path().join("history.jsonl.1")).unwrap();
    let third = append(&current, &[event("c.dyn.example.com", at(30), None)]);
    window.refresh(dir.path(), at(0)).unwrap();
    assert_eq!(window.bytes_read(), first + second + third);
    assert_eq!(
        hosts(&window),
        [
            "a.dyn.example.com",
            "b.dyn.example.com",
            "c.dyn.example.com"
        ]
    );
}

#[test]
fn a_line_still_being_written_is_read_once_it_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("history.jsonl");
    let mut line = serde_json::to_vec(&event("a.dyn.example.com", at(10), None)).unwrap();
    std::fs::write(&current, &line[..40]).unwrap();
    let mut window = HistoryWindow::default();
    window.refresh(dir.path(), at(0)).unwrap();
    assert_eq!((window.events().count(), window.unreadable()), (0, 0));
    line.push(b'\n');
    std::fs::write(&current, &line).unwrap();
    window.refresh(dir.path(), at(0)).unwrap();
    assert_eq!(hosts(&window), ["a.dyn.example.com"]);
}

#[test]
fn a_history_longer_than_the_budget_keeps_its_newest_lines_and_says_it_was_cut() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("history.jsonl");
    let events: Vec<HistoryEvent> = (0..40)
        .map(|n| event(&format!("h{n:02}.dyn.example.com"), at(n), None))
        .collect();
    let line = append(&current, &events[..1]);
    append(&current, &events[1..]);
    let mut window = HistoryWindow::with_budget(line * 5 + line / 2);
    window.refresh(dir.path(), at(0)).unwrap();
    assert!(window.cut());
    assert_eq!(
        hosts(&window),
        [
            "h35.dyn.example.com",
            "h36.dyn.example.com",
            "h37.dyn.example.com",
            "h38.dyn.example.com",
            "h39.dyn.example.com"
        ],
        "the newest whole lines, none cut in half"
    );
    assert_eq!(window.unreadable(), 0);
    assert!(window.bytes_read() <= line * 6, "{}", window.bytes_read());
}

#[test]
fn events_before_the_window_are_dropped_and_older_files_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("history.jsonl.1");
    append(&old, &[event("old.dyn.example.com", at(10), None)]);
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    let current = dir.path().join("history.jsonl");
    append(
        &current,
        &[
            event("before.dyn.example.com", at(50), None),
            event("inside.dyn.example.com", at(150), None),
        ],
    );
    let mut window = HistoryWindow::default();
    window.refresh(dir.path(), at(100)).unwrap();
    assert_eq!(hosts(&window), ["inside.dyn.example.com"]);
    let current_len = std::fs::metadata(&current).unwrap().len();
    assert_eq!(
        window.bytes_read(),
        current_len,
        "the old file was not read"
    );
    // The window moves on: what falls out of it is forgotten.
    window.refresh(dir.path(), at(200)).unwrap();
    assert_eq!(hosts(&window), Vec::<String>::new());
}

#[test]
fn a_file_replaced_in_the_same_inode_is_read_anew() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("history.jsonl");
    append(&current, &[event("first.dyn.example.com", at(10), None)]);
    let mut window = HistoryWindow::default();
    window.refresh(dir.path(), at(0)).unwrap();
    // Rewritten in place, longer: same inode and a larger size, but another first line.
    let mut text = serde_json::to_vec(&event("second.dyn.example.com", at(20), None)).unwrap();
    text.push(b'\n');
    serde_json::to_writer(&mut text, &event("third.dyn.example.com", at(30), None)).unwrap();
    text.push(b'\n');
    std::fs::write(&current, text).unwrap();
    window.refresh(dir.path(), at(0)).unwrap();
    assert_eq!(
        hosts(&window),
        ["second.dyn.example.com", "third.dyn.example.com"]
    );
}

#[test]
fn a_long_error_text_is_cut_and_a_bad_line_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("history.jsonl");
    let long = "x".repeat(5000);
    append(&current, &[event("a.dyn.example.com", at(10), Some(&long))]);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&current)
        .unwrap()
        .write_all(b"{not json\n")
        .unwrap();
    let mut window = HistoryWindow::default();
    window.refresh(dir.path(), at(0)).unwrap();
    let error = window.events().next().unwrap().error.clone().unwrap();
    assert_eq!(error.chars().count(), MAX_ERROR_CHARS + 1);
    assert!(error.ends_with('\u{2026}'));
    assert_eq!(window.unreadable(), 1);
}
