//! Why this exists: dead letters keep what failed beside why, under names found without scanning
//! the folder, and go away once older than the retention.

use super::*;
use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::symlink;

fn locked() -> (tempfile::TempDir, SpoolDirs, SpoolLock) {
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = SpoolDirs::at(root.path().join("spool"));
    dirs.create_all().expect("create spool");
    let lock = dirs.lock().expect("lock the spool");
    (root, dirs, lock)
}

/// Puts `bytes` straight into `cur/<name>`, as if claimed.
fn plant_claimed(dirs: &SpoolDirs, name: &str, bytes: &[u8]) {
    std::fs::write(dirs.cur().join(name), bytes).expect("plant job");
}

fn names(dir: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    names
}

fn age(path: &Path, by: Duration) {
    let file = File::options().write(true).open(path).expect("open");
    file.set_modified(SystemTime::now() - by)
        .expect("set mtime");
}

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn dead_letter_moves_the_entry_beside_its_reason() {
    let (_root, dirs, lock) = locked();
    plant_claimed(&dirs, "bad.json", b"nope");
    let moved = lock
        .dead_letter("bad.json", "not a well-formed job")
        .expect("dead letter");
    assert_eq!(moved, dirs.failed().join("bad.json"));
    assert!(!dirs.cur().join("bad.json").exists());
    assert_eq!(std::fs::read(&moved).expect("moved file"), b"nope");
    let reason = std::fs::read_to_string(dirs.failed().join("bad.json.reason")).expect("reason");
    assert!(reason.ends_with(": not a well-formed job\n"), "{reason:?}");
    let time = reason.split(": ").next().expect("time prefix");
    assert!(rfc3339::parse(time).is_ok(), "{reason:?}");
    assert_eq!(
        names(&dirs.failed()),
        ["bad.json", "bad.json.reason"],
        "no temporary reason file left behind"
    );
}

#[test]
fn a_taken_dead_letter_name_gets_a_unique_suffix_without_counting_up() {
    let (_root, dirs, lock) = locked();
    let mut moved = Vec::new();
    for round in 0..3 {
        plant_claimed(&dirs, "dup.json", format!("round {round}").as_bytes());
        moved.push(lock.dead_letter("dup.json", "again").expect("dead letter"));
    }
    assert_eq!(moved[0], dirs.failed().join("dup.json"));
    for (round, path) in moved.iter().enumerate().skip(1) {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let suffix = name
            .strip_prefix("dup.json.")
            .expect("the original name first");
        assert_eq!(suffix.len(), 32, "a uuid, not a counter: {name}");
        assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
        assert_eq!(
            std::fs::read(path).expect("read"),
            format!("round {round}").as_bytes()
        );
        let reason =
            std::fs::read_to_string(with_suffix(path.as_os_str(), ".reason")).expect("its reason");
        assert!(reason.contains("original name \"dup.json\""), "{reason}");
    }
    assert_eq!(names(&dirs.failed()).len(), 6);
}

#[test]
fn a_hostile_name_looking_like_a_temporary_file_is_not_swept_away() {
    let (_root, dirs, lock) = locked();
    plant_claimed(&dirs, ".tmp-x.reason", b"");
    let moved = lock
        .dead_letter(".tmp-x.reason", "odd")
        .expect("dead letter");
    let moved = moved.file_name().expect("name").to_string_lossy();
    // Nor is it taken for the reason of `_.tmp-x` when retention comes.
    assert!(moved.starts_with("_.tmp-x.reason."), "{moved}");
    assert!(!moved.ends_with(".reason"), "{moved}");
}

#[test]
fn dead_letter_moves_entries_that_are_not_files() {
    let (root, dirs, lock) = locked();
    std::fs::create_dir(dirs.cur().join("dir")).expect("mkdir");
    nix::unistd::mkfifo(&dirs.cur().join("fifo"), nix::sys::stat::Mode::S_IRWXU).expect("fifo");
    let target = root.path().join("target");
    std::fs::write(&target, b"keep").expect("target");
    symlink(&target, dirs.cur().join("link")).expect("symlink");
    for name in ["dir", "fifo", "link"] {
        lock.dead_letter(name, "not a regular file").expect(name);
    }
    assert!(names(&dirs.cur()).is_empty());
    assert!(dirs.failed().join("dir").is_dir());
    let link = std::fs::symlink_metadata(dirs.failed().join("link")).expect("lstat");
    assert!(link.file_type().is_symlink());
    assert_eq!(std::fs::read(&target).expect("target"), b"keep");
}

#[test]
fn dead_letter_reason_is_one_bounded_line() {
    let (_root, dirs, lock) = locked();
    plant_claimed(&dirs, "x", b"");
    let hostile = format!("line one\nline two\r{}", "a".repeat(10_000));
    lock.dead_letter("x", &hostile).expect("dead letter");
    let reason = std::fs::read_to_string(dirs.failed().join("x.reason")).expect("reason");
    assert_eq!(reason.lines().count(), 1, "{reason:?}");
    assert!(reason.contains(r"line one\nline two\r"), "{reason:?}");
    assert!(
        reason.len() < MAX_REASON_BYTES + 100,
        "{} bytes",
        reason.len()
    );
}

#[test]
fn dead_letter_shortens_names_too_long_for_a_reason_file() {
    let (_root, dirs, lock) = locked();
    let long = "x".repeat(250);
    plant_claimed(&dirs, &long, b"");
    let moved = lock.dead_letter(&long, "odd").expect("dead letter");
    let moved_name = moved
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert_eq!(moved_name, format!("{}.truncated", "x".repeat(150)));
    let reason =
        std::fs::read_to_string(with_suffix(moved.as_os_str(), ".reason")).expect("reason");
    assert!(reason.contains(&long), "original name kept in the reason");
    // A second one of that name still fits in NAME_MAX with its unique suffix.
    plant_claimed(&dirs, &long, b"");
    lock.dead_letter(&long, "odd").expect("second dead letter");
}

#[test]
fn dead_letter_of_a_vanished_entry_writes_no_reason() {
    let (_root, dirs, lock) = locked();
    let err = lock.dead_letter("gone", "why").expect_err("vanished");
    assert!(matches!(err, SpoolError::Vanished { .. }), "{err}");
    assert!(names(&dirs.failed()).is_empty());
}

#[test]
fn dead_letter_part_keeps_only_the_failed_family_and_removes_the_claimed_job() {
    let (_root, dirs, lock) = locked();
    let job = Job::new(
        "alice",
        "home.example.org",
        Some(Ipv4Addr::new(192, 0, 2, 1)),
        Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        SystemTime::now(),
        None,
    );
    plant_claimed(
        &dirs,
        "dual.json",
        &job.to_json().expect("sample job writes"),
    );
    let mut part = job.clone();
    part.ipv6 = None;
    let moved = lock
        .dead_letter_part("dual.json", &part, "ipv4 192.0.2.1: refused")
        .expect("dead letter part");
    assert_eq!(moved, dirs.failed().join("dual.json"));
    assert!(names(&dirs.cur()).is_empty(), "the job left cur/");
    let written = Job::parse(&std::fs::read(&moved).expect("read")).expect("a valid job");
    assert_eq!(
        written, part,
        "moved back into new/, it retries exactly what failed"
    );
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let metadata = std::fs::metadata(&moved).expect("stat");
    assert_eq!(metadata.uid(), nix::unistd::geteuid().as_raw());
    assert_eq!(metadata.permissions().mode() & 0o7777, 0o640);
    let reason = std::fs::read_to_string(dirs.failed().join("dual.json.reason")).expect("reason");
    assert!(reason.contains("ipv4 192.0.2.1: refused"), "{reason}");
    assert_eq!(
        names(&dirs.failed()).len(),
        2,
        "no temporary file left behind"
    );
}

#[test]
fn dead_letters_older_than_the_retention_are_removed_with_their_reasons() {
    let (_root, dirs, lock) = locked();
    let failed = dirs.failed();
    for name in ["old.json", "new.json"] {
        plant_claimed(&dirs, name, b"{}");
        lock.dead_letter(name, "why").expect("dead letter");
    }
    std::fs::create_dir(dirs.cur().join("olddir")).expect("mkdir");
    lock.dead_letter("olddir", "a directory")
        .expect("dead letter");
    // The reason's time is when it was dead-lettered; the job's own may be anything.
    age(&failed.join("old.json.reason"), 31 * DAY);
    age(&failed.join("olddir.reason"), 31 * DAY);
    age(&failed.join("new.json"), 400 * DAY);
    // Debris of a crash while writing, and a file no worker put there.
    std::fs::write(failed.join(".tmp-abc.reason"), b"half").expect("tmp");
    age(&failed.join(".tmp-abc.reason"), 31 * DAY);
    std::fs::write(failed.join("notes"), b"keep").expect("notes");
    age(&failed.join("notes"), 400 * DAY);

    let retention = lock
        .remove_expired_dead_letters(30 * DAY, SystemTime::now())
        .expect("retention");
    assert_eq!((retention.removed, retention.left.len()), (2, 0));
    assert_eq!(names(&failed), ["new.json", "new.json.reason", "notes"]);
}

/// A frontend can build a directory tree deep enough that removing it recursively overflows the
/// worker's stack or runs out of descriptors; one error also stopped every later removal.
#[test]
fn retention_leaves_a_directory_tree_for_a_person_and_goes_on() {
    let (_root, dirs, lock) = locked();
    let failed = dirs.failed();
    std::fs::create_dir_all(dirs.cur().join("tree/d/d/d")).expect("tree");
    lock.dead_letter("tree", "a directory")
        .expect("dead letter");
    plant_claimed(&dirs, "old.json", b"{}");
    lock.dead_letter("old.json", "why").expect("dead letter");
    for reason in ["tree.reason", "old.json.reason"] {
        age(&failed.join(reason), 31 * DAY);
    }

    let retention = lock
        .remove_expired_dead_letters(30 * DAY, SystemTime::now())
        .expect("retention");

    assert_eq!(retention.removed, 1);
    assert_eq!(names(&failed), ["tree", "tree.reason"]);
    assert!(failed.join("tree/d/d/d").is_dir(), "never descended into");
    assert_eq!(retention.left.len(), 1);
    let left = retention.left[0].to_string();
    assert!(
        left.contains(&failed.join("tree").display().to_string()),
        "{left}"
    );
}

#[test]
fn an_old_reason_file_naming_dot_or_dot_dot_removes_only_itself() {
    let (_root, dirs, lock) = locked();
    let failed = dirs.failed();
    // As an older worker left hostile names: the "reasons" of "", "." and "..".
    for name in [".reason", "..reason", "...reason"] {
        std::fs::write(failed.join(name), b"not a job").expect("plant");
        age(&failed.join(name), 31 * DAY);
    }
    std::fs::write(dirs.new().join("job.json"), b"{}").expect("pending job");

    let retention = lock
        .remove_expired_dead_letters(30 * DAY, SystemTime::now())
        .expect("retention");

    assert_eq!(retention.removed, 0);
    assert!(names(&failed).is_empty());
    assert_eq!(names(&dirs.new()), ["job.json"]);
    assert!(dirs.lock_path().is_file());
}
