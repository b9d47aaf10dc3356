//! Why this exists: the operator's tools on `failed/` find what they are asked for, and a purge
//! removes exactly the old dead letters, never following a link or emptying a directory.

use super::*;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::unix::fs::symlink;

const DAY: Duration = Duration::from_secs(86_400);

fn spool() -> (tempfile::TempDir, SpoolDirs) {
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = SpoolDirs::at(root.path().join("spool"));
    dirs.create_all().expect("create spool");
    (root, dirs)
}

fn job() -> Job {
    Job::new(
        "router",
        "home.dyn.example.com",
        Some(Ipv4Addr::new(192, 0, 2, 7)),
        None,
        SystemTime::now(),
        None,
    )
}

fn age(path: &Path, by: Duration) {
    let file = File::options().write(true).open(path).expect("open");
    file.set_modified(SystemTime::now() - by)
        .expect("set mtime");
}

/// A dead letter `name` with its reason, dead-lettered `ago`.
fn letter(dirs: &SpoolDirs, name: &str, bytes: &[u8], ago: Duration) {
    std::fs::write(dirs.failed().join(name), bytes).expect("write letter");
    let reason = dirs.failed().join(format!("{name}.reason"));
    std::fs::write(&reason, "2026-01-01T00:00:00Z: the backend refused it\n").expect("reason");
    age(&reason, ago);
}

#[test]
fn a_dead_letter_is_found_by_its_name_or_a_unique_prefix_of_it_or_of_its_job_id() {
    let (_root, dirs) = spool();
    letter(&dirs, "00000000001795449600.aaaa1111.json", b"{}", DAY);
    letter(&dirs, "00000000001795449601.aaab2222.json", b"{}", DAY);
    std::fs::write(dirs.failed().join(".tmp-x.json"), "").expect("tmp");

    let names: Vec<String> = dirs
        .dead_letters()
        .expect("list")
        .iter()
        .map(DeadLetter::id)
        .collect();
    assert_eq!(
        names,
        [
            "00000000001795449600.aaaa1111.json",
            "00000000001795449601.aaab2222.json"
        ]
    );
    let found = dirs.find_dead_letter("aaab").expect("job id prefix");
    assert_eq!(found.id(), "00000000001795449601.aaab2222.json");
    assert!(found.has_reason);
    let found = dirs
        .find_dead_letter("00000000001795449600.")
        .expect("name prefix");
    assert_eq!(found.id(), "00000000001795449600.aaaa1111.json");
    assert!(matches!(
        dirs.find_dead_letter("aaa"),
        Err(DeadLetterError::Ambiguous { count: 2, .. })
    ));
    assert!(matches!(
        dirs.find_dead_letter("zzz"),
        Err(DeadLetterError::NotFound { .. })
    ));
    assert!(matches!(
        dirs.find_dead_letter(""),
        Err(DeadLetterError::Ambiguous { .. } | DeadLetterError::NotFound { .. })
    ));
}

#[test]
fn requeue_renames_into_new_under_a_time_ordered_fresh_name_then_drops_the_reason() {
    let (_root, dirs) = spool();
    let job = job();
    letter(&dirs, "a.json", &job.to_json().expect("json"), DAY);
    let found = dirs.find_dead_letter("a.json").expect("find");
    let read = dirs.read_dead_letter(&found).expect("read");
    assert_eq!(read, job);
    let to = dirs.requeue_dead_letter(&found, &read).expect("requeue");
    let nanos = job
        .received_at
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let name = to.file_name().expect("name").to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("{nanos:020}.{}.retry-", job.id)),
        "{name}"
    );
    assert_eq!(
        std::fs::read(&to).expect("moved"),
        job.to_json().expect("json")
    );
    assert!(dirs.dead_letters().expect("list").is_empty());
    assert_eq!(
        std::fs::read_dir(dirs.failed()).expect("list").count(),
        0,
        "the reason went with it"
    );
    assert!(matches!(
        dirs.requeue_dead_letter(&found, &read),
        Err(DeadLetterError::Spool(SpoolError::Vanished { .. }))
    ));
}

#[test]
fn purge_removes_only_old_letters_never_follows_a_symlink_and_refuses_a_directory() {
    let (root, dirs) = spool();
    letter(&dirs, "old.json", b"{}", 10 * DAY);
    letter(&dirs, "young.json", b"{}", DAY);
    // A symlink to a file outside failed/: the link goes, the file stays.
    let outside = root.path().join("precious");
    std::fs::write(&outside, "keep me").expect("outside");
    symlink(&outside, dirs.failed().join("link.json")).expect("symlink");
    let reason = dirs.failed().join("link.json.reason");
    std::fs::write(&reason, "why").expect("reason");
    age(&reason, 10 * DAY);
    // A directory: reported, left as it is.
    std::fs::create_dir(dirs.failed().join("dir.json")).expect("dir");
    std::fs::write(dirs.failed().join("dir.json").join("inside"), "x").expect("inside");
    let reason = dirs.failed().join("dir.json.reason");
    std::fs::write(&reason, "why").expect("reason");
    age(&reason, 10 * DAY);
    // A reason whose letter is gone.
    let orphan = dirs.failed().join("gone.json.reason");
    std::fs::write(&orphan, "why").expect("orphan");
    age(&orphan, 10 * DAY);

    let purge = dirs
        .purge_dead_letters(7 * DAY, SystemTime::now())
        .expect("purge");
    let mut removed = purge.removed.clone();
    removed.sort();
    assert_eq!(removed, [OsString::from("link.json"), "old.json".into()]);
    assert_eq!(purge.orphan_reasons, 1);
    assert_eq!(purge.left.len(), 1, "{:?}", purge.left);
    assert!(matches!(purge.left[0], DeadLetterError::Directory { .. }));
    assert_eq!(std::fs::read_to_string(&outside).expect("kept"), "keep me");
    let mut left: Vec<String> = std::fs::read_dir(dirs.failed())
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "dir.json",
            "dir.json.reason",
            "young.json",
            "young.json.reason"
        ]
    );
    assert!(dirs.failed().join("dir.json").join("inside").exists());
}
