//! Why this exists: the reader's hostile-input cases, each a file a compromised frontend could
//! plant in the spool.

use super::*;
use crate::SpoolWriter;
use std::net::Ipv4Addr;
use std::os::unix::fs::symlink;
use std::sync::mpsc;

fn spool() -> (tempfile::TempDir, SpoolDirs) {
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = SpoolDirs::at(root.path().join("spool"));
    dirs.create_all().expect("create spool");
    (root, dirs)
}

fn job() -> Job {
    Job::new(
        "alice",
        "home.example.org",
        Some(Ipv4Addr::new(192, 0, 2, 1)),
        None,
        SystemTime::now(),
        None,
    )
}

/// Puts `bytes` straight into `cur/<name>`, as if claimed.
fn plant_claimed(dirs: &SpoolDirs, name: &str, bytes: &[u8]) {
    std::fs::write(dirs.cur().join(name), bytes).expect("plant job");
}

fn job_json_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut value: serde_json::Value =
        serde_json::from_slice(&job().to_json()).expect("a job is a JSON object");
    edit(&mut value);
    serde_json::to_vec(&value).expect("a JSON value serializes")
}

fn names(dir: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    names
}

/// Runs `read_claimed` on another thread so a blocking open fails the test instead of hanging it.
fn read_within_a_second(dirs: &SpoolDirs, name: &str) -> Result<Job, JobError> {
    let (tx, rx) = mpsc::channel();
    let (dirs, name) = (dirs.clone(), name.to_owned());
    std::thread::spawn(move || {
        let _ = tx.send(dirs.read_claimed(&name));
    });
    rx.recv_timeout(Duration::from_secs(1))
        .expect("read_claimed returned within a second")
}

#[test]
fn submitted_job_is_claimed_read_and_completed() {
    let (_root, dirs) = spool();
    let writer = SpoolWriter::open(dirs.root()).expect("open writer");
    let job = job();
    writer.submit(&job).expect("submit");

    let listed = dirs.list_new().expect("list new");
    assert_eq!(listed.len(), 1);
    dirs.claim(&listed[0]).expect("claim");
    assert!(dirs.list_new().expect("list new").is_empty());
    assert_eq!(dirs.list_cur().expect("list cur"), listed);
    assert_eq!(dirs.read_claimed(&listed[0]).expect("read"), job);
    dirs.complete(&listed[0]).expect("complete");
    assert!(dirs.list_cur().expect("list cur").is_empty());
    dirs.complete(&listed[0]).expect("completing twice is fine");
}

#[test]
fn second_lock_fails_while_the_first_is_held() {
    let (_root, dirs) = spool();
    let first = dirs.lock().expect("first lock");
    let err = dirs.lock().expect_err("second lock");
    assert!(matches!(err, SpoolError::Locked { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("another dyndns-worker is already running"),
        "{err}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(first.path())
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "lock file mode {mode:o}");
    drop(first);
    dirs.lock().expect("lock after the first was dropped");
}

#[test]
fn lock_refuses_a_planted_symlink() {
    let (root, dirs) = spool();
    let target = root.path().join("elsewhere");
    symlink(&target, dirs.lock_path()).expect("plant symlink");
    assert!(dirs.lock().is_err());
    assert!(!target.exists(), "the symlink target was not created");
}

#[test]
fn listing_returns_every_kind_of_entry_sorted() {
    let (root, dirs) = spool();
    let new = dirs.new();
    std::fs::write(new.join("2.job.json"), b"{}").expect("file");
    std::fs::write(new.join(".hidden"), b"").expect("dotfile");
    std::fs::create_dir(new.join("3.dir")).expect("dir");
    nix::unistd::mkfifo(&new.join("1.fifo"), nix::sys::stat::Mode::S_IRWXU).expect("fifo");
    symlink(root.path(), new.join("0.link")).expect("symlink");
    assert_eq!(
        dirs.list_new().expect("list"),
        [".hidden", "0.link", "1.fifo", "2.job.json", "3.dir"]
    );
}

#[test]
fn non_utf8_name_is_dead_lettered_not_listed() {
    let (_root, dirs) = spool();
    let raw = OsStr::from_bytes(b"bad-\xff-name");
    std::fs::write(dirs.new().join(raw), b"{}").expect("plant");
    std::fs::write(dirs.new().join("good.json"), b"{}").expect("plant");
    assert_eq!(dirs.list_new().expect("list"), ["good.json"]);
    assert!(dirs.failed().join(raw).exists());
    let reason = std::fs::read_to_string(dirs.failed().join(with_suffix(raw, ".reason")))
        .expect("reason file");
    assert!(reason.contains("not UTF-8"), "{reason}");
}

#[test]
fn claim_of_a_vanished_file_is_distinguishable() {
    let (_root, dirs) = spool();
    let err = dirs.claim("gone.json").expect_err("nothing to claim");
    assert!(matches!(err, SpoolError::Vanished { .. }), "{err}");
}

#[test]
fn claim_does_not_overwrite_a_claimed_job() {
    let (_root, dirs) = spool();
    plant_claimed(&dirs, "same.json", b"claimed");
    std::fs::write(dirs.new().join("same.json"), b"impostor").expect("plant");
    let err = dirs.claim("same.json").expect_err("duplicate");
    assert!(matches!(err, SpoolError::Duplicate { .. }), "{err}");
    assert_eq!(
        std::fs::read(dirs.cur().join("same.json")).expect("read"),
        b"claimed"
    );
    assert_eq!(
        std::fs::read(dirs.failed().join("same.json")).expect("read"),
        b"impostor"
    );
}

#[test]
fn names_reaching_outside_the_spool_are_refused() {
    let (_root, dirs) = spool();
    for name in ["../worker.lock", "..", ""] {
        assert!(matches!(dirs.claim(name), Err(SpoolError::BadName { .. })));
        assert!(matches!(
            dirs.complete(name),
            Err(SpoolError::BadName { .. })
        ));
        assert!(matches!(
            dirs.dead_letter(name, "x"),
            Err(SpoolError::BadName { .. })
        ));
        assert!(matches!(
            dirs.read_claimed(name),
            Err(JobError::Read { .. })
        ));
    }
}

#[test]
fn symlink_to_a_valid_job_is_refused() {
    let (root, dirs) = spool();
    let elsewhere = root.path().join("valid.json");
    std::fs::write(&elsewhere, job().to_json()).expect("valid job elsewhere");
    symlink(&elsewhere, dirs.cur().join("link.json")).expect("plant symlink");
    let err = dirs.read_claimed("link.json").expect_err("symlink");
    assert!(matches!(err, JobError::Symlink), "{err}");
}

#[test]
fn fifo_is_refused_without_blocking() {
    let (_root, dirs) = spool();
    nix::unistd::mkfifo(&dirs.cur().join("fifo.json"), nix::sys::stat::Mode::S_IRWXU)
        .expect("mkfifo");
    let err = read_within_a_second(&dirs, "fifo.json").expect_err("fifo");
    assert!(matches!(err, JobError::NotRegular("fifo")), "{err}");
}

#[test]
fn directory_is_refused() {
    let (_root, dirs) = spool();
    std::fs::create_dir(dirs.cur().join("dir.json")).expect("mkdir");
    let err = dirs.read_claimed("dir.json").expect_err("directory");
    assert!(matches!(err, JobError::NotRegular("directory")), "{err}");
}

#[test]
fn socket_is_refused() {
    let (_root, dirs) = spool();
    let _listener =
        std::os::unix::net::UnixListener::bind(dirs.cur().join("sock.json")).expect("bind");
    let err = read_within_a_second(&dirs, "sock.json").expect_err("socket");
    assert!(matches!(err, JobError::NotRegular("socket")), "{err}");
}

#[test]
fn hard_link_is_refused() {
    let (root, dirs) = spool();
    let secret = root.path().join("secret");
    std::fs::write(&secret, job().to_json()).expect("secret");
    std::fs::hard_link(&secret, dirs.cur().join("linked.json")).expect("hard link");
    let err = dirs.read_claimed("linked.json").expect_err("hard link");
    assert!(matches!(err, JobError::HardLinked(2)), "{err}");
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let (_root, dirs) = spool();
    plant_claimed(&dirs, "big.json", &vec![b' '; 10 * 1024 * 1024]);
    let err = dirs.read_claimed("big.json").expect_err("10 MB");
    assert!(matches!(err, JobError::TooLarge(10_485_760)), "{err}");
}

#[test]
fn bad_contents_are_refused() {
    let (_root, dirs) = spool();
    plant_claimed(&dirs, "garbage.json", b"\x00\xffnot json");
    let err = dirs.read_claimed("garbage.json").expect_err("garbage");
    assert!(matches!(err, JobError::Json(_)), "{err}");

    plant_claimed(
        &dirs,
        "v9.json",
        &job_json_with(|v| v["version"] = 9.into()),
    );
    let err = dirs.read_claimed("v9.json").expect_err("version 9");
    assert!(matches!(err, JobError::UnknownVersion(9)), "{err}");

    plant_claimed(
        &dirs,
        "extra.json",
        &job_json_with(|v| v["zone"] = "x".into()),
    );
    let err = dirs.read_claimed("extra.json").expect_err("unknown field");
    assert!(matches!(err, JobError::Json(_)), "{err}");
    assert!(err.to_string().contains("zone"), "{err}");
}

#[test]
fn dead_letter_moves_the_entry_beside_its_reason() {
    let (_root, dirs) = spool();
    plant_claimed(&dirs, "bad.json", b"nope");
    let moved = dirs
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
fn dead_letter_picks_a_free_name() {
    let (_root, dirs) = spool();
    for round in 0..3 {
        plant_claimed(&dirs, "dup.json", format!("round {round}").as_bytes());
        dirs.dead_letter("dup.json", "again").expect("dead letter");
    }
    assert_eq!(
        names(&dirs.failed()),
        [
            "dup.json",
            "dup.json.1",
            "dup.json.1.reason",
            "dup.json.2",
            "dup.json.2.reason",
            "dup.json.reason"
        ]
    );
    assert_eq!(
        std::fs::read(dirs.failed().join("dup.json.2")).expect("read"),
        b"round 2"
    );
}

#[test]
fn dead_letter_moves_entries_that_are_not_files() {
    let (root, dirs) = spool();
    std::fs::create_dir(dirs.cur().join("dir")).expect("mkdir");
    nix::unistd::mkfifo(&dirs.cur().join("fifo"), nix::sys::stat::Mode::S_IRWXU).expect("fifo");
    let target = root.path().join("target");
    std::fs::write(&target, b"keep").expect("target");
    symlink(&target, dirs.cur().join("link")).expect("symlink");
    for name in ["dir", "fifo", "link"] {
        dirs.dead_letter(name, "not a regular file").expect(name);
    }
    assert!(names(&dirs.cur()).is_empty());
    assert!(dirs.failed().join("dir").is_dir());
    let link = std::fs::symlink_metadata(dirs.failed().join("link")).expect("lstat");
    assert!(link.file_type().is_symlink());
    assert_eq!(std::fs::read(&target).expect("target"), b"keep");
}

#[test]
fn dead_letter_reason_is_one_bounded_line() {
    let (_root, dirs) = spool();
    plant_claimed(&dirs, "x", b"");
    let hostile = format!("line one\nline two\r{}", "a".repeat(10_000));
    dirs.dead_letter("x", &hostile).expect("dead letter");
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
    let (_root, dirs) = spool();
    let long = "x".repeat(250);
    plant_claimed(&dirs, &long, b"");
    let moved = dirs.dead_letter(&long, "odd").expect("dead letter");
    let moved_name = moved
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert_eq!(moved_name, format!("{}.truncated", "x".repeat(150)));
    let reason =
        std::fs::read_to_string(with_suffix(moved.as_os_str(), ".reason")).expect("reason");
    assert!(reason.contains(&long), "original name kept in the reason");
}

#[test]
fn dead_letter_of_a_vanished_entry_writes_no_reason() {
    let (_root, dirs) = spool();
    let err = dirs.dead_letter("gone", "why").expect_err("vanished");
    assert!(matches!(err, SpoolError::Vanished { .. }), "{err}");
    assert!(names(&dirs.failed()).is_empty());
}

#[test]
fn recover_tmp_removes_only_old_regular_files() {
    let (root, dirs) = spool();
    let tmp = dirs.tmp();
    let old = SystemTime::now() - Duration::from_secs(3600);
    let age = |path: &Path| {
        let file = File::options().write(true).open(path).expect("open");
        file.set_modified(old).expect("set mtime");
    };
    std::fs::write(tmp.join("stale.json"), b"{").expect("stale");
    age(&tmp.join("stale.json"));
    std::fs::write(tmp.join("fresh.json"), b"{").expect("fresh");
    let outside = root.path().join("outside");
    std::fs::write(&outside, b"keep").expect("outside");
    age(&outside);
    symlink(&outside, tmp.join("link.json")).expect("symlink");
    std::fs::create_dir(tmp.join("dir")).expect("dir");

    let removed = dirs.recover_tmp(Duration::from_secs(60)).expect("recover");
    assert_eq!(removed, 1);
    assert_eq!(names(&tmp), ["dir", "fresh.json", "link.json"]);
    assert_eq!(std::fs::read(&outside).expect("outside"), b"keep");
}
