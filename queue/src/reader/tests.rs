//! Why this exists: the reader's hostile-input cases, each a file a compromised frontend could
//! plant in the spool.

use super::*;
use crate::SpoolWriter;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::sync::mpsc;

fn spool() -> (tempfile::TempDir, SpoolDirs) {
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = SpoolDirs::at(root.path().join("spool"));
    dirs.create_all().expect("create spool");
    (root, dirs)
}

/// The spool and its lock, for tests of what only the lock holder may do.
fn locked() -> (tempfile::TempDir, SpoolDirs, SpoolLock) {
    let (root, dirs) = spool();
    let lock = dirs.lock().expect("lock the spool");
    (root, dirs, lock)
}

fn rejected(result: Result<Job, TakeError>) -> JobError {
    match result {
        Err(TakeError::Rejected(err)) => err,
        other => panic!("expected a rejection, got {other:?}"),
    }
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
        serde_json::from_slice(&job().to_json().expect("sample job writes"))
            .expect("a job is a JSON object");
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

/// Runs `take_claimed` on another thread so a blocking open fails the test instead of hanging it.
fn take_within_a_second(lock: SpoolLock, name: &str) -> Result<Job, TakeError> {
    let (tx, rx) = mpsc::channel();
    let name = name.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(lock.take_claimed(&name));
    });
    rx.recv_timeout(Duration::from_secs(1))
        .expect("take_claimed returned within a second")
}

#[test]
fn submitted_job_is_claimed_read_and_completed() {
    let (_root, dirs, lock) = locked();
    let writer = SpoolWriter::open(dirs.root()).expect("open writer");
    let job = job();
    writer.submit(&job).expect("submit");

    let listed = lock.list_new().expect("list new").names;
    assert_eq!(listed.len(), 1);
    lock.claim(&listed[0]).expect("claim");
    assert!(lock.list_new().expect("list new").names.is_empty());
    assert_eq!(lock.list_cur().expect("list cur").names, listed);
    assert_eq!(lock.take_claimed(&listed[0]).expect("read"), job);
    lock.complete(&listed[0]).expect("complete");
    assert!(lock.list_cur().expect("list cur").names.is_empty());
    lock.complete(&listed[0]).expect("completing twice is fine");
}

#[test]
fn claimed_job_is_replaced_by_a_worker_owned_copy_the_frontend_cannot_change() {
    use std::io::{Seek, Write};
    use std::os::unix::fs::PermissionsExt;
    let (_root, dirs, lock) = locked();
    let writer = SpoolWriter::open(dirs.root()).expect("open writer");
    let original = job();
    let path = writer.submit(&original).expect("submit");
    let name = path
        .file_name()
        .expect("name")
        .to_str()
        .expect("UTF-8")
        .to_owned();
    // The frontend's file: its own user, writable by it, and (compromised) still held open.
    nix::unistd::chown(&path, Some(65534.into()), Some(65534.into())).expect("chown");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let mut held = File::options()
        .write(true)
        .open(&path)
        .expect("open before claim");
    let before = std::fs::metadata(&path).expect("stat").ino();

    lock.claim(&name).expect("claim");
    let taken = lock.take_claimed(&name).expect("take");
    let claimed = dirs.cur().join(&name);
    let after = std::fs::metadata(&claimed).expect("stat claimed");
    assert_ne!(after.ino(), before, "cur/ holds a new inode");
    assert_eq!(
        after.uid(),
        nix::unistd::geteuid().as_raw(),
        "owned by the worker"
    );
    let cur_group = std::fs::metadata(dirs.cur()).expect("stat cur").gid();
    assert_eq!(after.gid(), cur_group, "group of cur/, not the frontend's");
    assert_eq!(after.permissions().mode() & 0o7777, 0o640);

    // Writing through the descriptor opened before the claim changes neither what the worker
    // applies nor what cur/ holds.
    let mut forged = original.clone();
    forged.ipv4 = Some(Ipv4Addr::new(192, 0, 2, 66));
    held.rewind().expect("rewind");
    held.write_all(&forged.to_json().expect("sample job writes"))
        .expect("write through the old descriptor");
    held.sync_all().expect("sync");
    assert_eq!(taken, original);
    assert_eq!(
        std::fs::read(&claimed).expect("read claimed"),
        original.to_json().expect("sample job writes")
    );
    assert_eq!(lock.take_claimed(&name).expect("take again"), original);
    assert!(
        !names(dirs.root())
            .iter()
            .any(|n| n.to_string_lossy().starts_with(".claim-")),
        "no temporary copy left at the spool's top"
    );
}

#[test]
fn a_lease_held_by_the_frontend_defers_the_job_instead_of_dead_lettering_it() {
    let (_root, dirs, lock) = locked();
    plant_claimed(
        &dirs,
        "leased.json",
        &job().to_json().expect("sample job writes"),
    );
    // A write lease makes a non-blocking open fail with EWOULDBLOCK until the kernel breaks it.
    // perl (Debian's perl-base is essential) holds one and ignores the break signal.
    let script = r#"use Fcntl qw(F_SETLEASE F_WRLCK); $SIG{IO} = "IGNORE";
        open(my $f, "<", $ARGV[0]) or die "open: $!";
        fcntl($f, F_SETLEASE, F_WRLCK) or die "lease: $!";
        print "leased
"; STDOUT->flush(); sleep 60;"#;
    let mut holder = std::process::Command::new("perl")
        .args(["-e", script])
        .arg(dirs.cur().join("leased.json"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start perl");
    let mut ready = String::new();
    let stdout = holder.stdout.take().expect("piped stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut ready)
        .expect("read from perl");
    assert_eq!(ready, "leased\n", "perl took the lease");

    let first = lock.take_claimed("leased.json");
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        matches!(&first, Err(TakeError::NotYet { cause, .. }) if cause.raw_os_error() == Some(libc_ewouldblock())),
        "{first:?}"
    );
    assert_eq!(names(&dirs.cur()), ["leased.json"], "still waiting in cur/");
    assert!(names(&dirs.failed()).is_empty());
    // Once the lease is gone, the same job is taken.
    assert_eq!(
        lock.take_claimed("leased.json")
            .expect("take after the lease")
            .host,
        "home.example.org"
    );
}

fn libc_ewouldblock() -> i32 {
    Errno::EWOULDBLOCK as i32
}

#[test]
fn errors_that_may_pass_are_told_apart_from_bad_files() {
    for errno in [
        Errno::EAGAIN,
        Errno::EINTR,
        Errno::ETXTBSY,
        Errno::EMFILE,
        Errno::ENFILE,
    ] {
        assert!(may_pass(errno), "{errno}");
    }
    for errno in [Errno::EACCES, Errno::EISDIR, Errno::EINVAL, Errno::ELOOP] {
        assert!(!may_pass(errno), "{errno}");
    }
}

#[test]
fn lock_removes_copies_a_crash_left_at_the_spool_top() {
    let (_root, dirs) = spool();
    std::fs::write(dirs.root().join(".claim-0123.tmp"), b"{").expect("plant");
    std::fs::write(dirs.root().join("notes.txt"), b"keep").expect("plant");
    let _lock = dirs.lock().expect("lock");
    assert_eq!(
        names(dirs.root()),
        ["cur", "failed", "new", "notes.txt", "tmp", "worker.lock"]
    );
}

#[test]
fn second_lock_fails_while_the_first_is_held() {
    let (_root, dirs) = spool();
    let first = dirs.lock().expect("first lock");
    // The first worker's copy of a job it is taking over, in flight.
    let in_flight = dirs.root().join(".claim-0123.tmp");
    std::fs::write(&in_flight, b"{").expect("plant");
    let err = dirs.lock().expect_err("second lock");
    assert!(
        in_flight.exists(),
        "a second worker removed the first's copy"
    );
    assert!(matches!(err, SpoolError::Locked { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("another dyndns-worker is already running"),
        "{err}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dirs.lock_path())
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
    let (root, dirs, lock) = locked();
    let new = dirs.new();
    std::fs::write(new.join("2.job.json"), b"{}").expect("file");
    std::fs::write(new.join(".hidden"), b"").expect("dotfile");
    std::fs::create_dir(new.join("3.dir")).expect("dir");
    nix::unistd::mkfifo(&new.join("1.fifo"), nix::sys::stat::Mode::S_IRWXU).expect("fifo");
    symlink(root.path(), new.join("0.link")).expect("symlink");
    assert_eq!(
        lock.list_new().expect("list").names,
        [".hidden", "0.link", "1.fifo", "2.job.json", "3.dir"]
    );
}

#[test]
fn non_utf8_name_is_dead_lettered_not_listed() {
    let (_root, dirs, lock) = locked();
    let raw = OsStr::from_bytes(b"bad-\xff-name");
    std::fs::write(dirs.new().join(raw), b"{}").expect("plant");
    std::fs::write(dirs.new().join("good.json"), b"{}").expect("plant");
    let listing = lock.list_new().expect("list");
    assert_eq!(listing.names, ["good.json"]);
    assert_eq!(listing.unreadable.len(), 1);
    assert_eq!(listing.unreadable[0].name, raw);
    assert_eq!(
        listing.unreadable[0].moved_to.as_ref().expect("moved"),
        &dirs.failed().join(raw)
    );
    assert!(dirs.failed().join(raw).exists());
    let reason = std::fs::read_to_string(dirs.failed().join(failed::with_suffix(raw, ".reason")))
        .expect("reason file");
    assert!(reason.contains("not UTF-8"), "{reason}");
}

#[test]
fn claim_of_a_vanished_file_is_distinguishable() {
    let (_root, _dirs, lock) = locked();
    let err = lock.claim("gone.json").expect_err("nothing to claim");
    assert!(matches!(err, SpoolError::Vanished { .. }), "{err}");
}

#[test]
fn claim_does_not_overwrite_a_claimed_job() {
    let (_root, dirs, lock) = locked();
    plant_claimed(&dirs, "same.json", b"claimed");
    std::fs::write(dirs.new().join("same.json"), b"impostor").expect("plant");
    let err = lock.claim("same.json").expect_err("duplicate");
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
    let (_root, _dirs, lock) = locked();
    for name in ["../worker.lock", "..", ""] {
        assert!(matches!(lock.claim(name), Err(SpoolError::BadName { .. })));
        assert!(matches!(
            lock.complete(name),
            Err(SpoolError::BadName { .. })
        ));
        assert!(matches!(
            lock.dead_letter(name, "x"),
            Err(SpoolError::BadName { .. })
        ));
        assert!(matches!(
            rejected(lock.take_claimed(name)),
            JobError::Read { .. }
        ));
    }
}

#[test]
fn symlink_to_a_valid_job_is_refused() {
    let (root, dirs, lock) = locked();
    let elsewhere = root.path().join("valid.json");
    std::fs::write(&elsewhere, job().to_json().expect("sample job writes"))
        .expect("valid job elsewhere");
    symlink(&elsewhere, dirs.cur().join("link.json")).expect("plant symlink");
    let err = rejected(lock.take_claimed("link.json"));
    assert!(matches!(err, JobError::Symlink), "{err}");
}

#[test]
fn fifo_is_refused_without_blocking() {
    let (_root, dirs, lock) = locked();
    nix::unistd::mkfifo(&dirs.cur().join("fifo.json"), nix::sys::stat::Mode::S_IRWXU)
        .expect("mkfifo");
    let err = rejected(take_within_a_second(lock, "fifo.json"));
    assert!(matches!(err, JobError::NotRegular("fifo")), "{err}");
}

#[test]
fn directory_is_refused() {
    let (_root, dirs, lock) = locked();
    std::fs::create_dir(dirs.cur().join("dir.json")).expect("mkdir");
    let err = rejected(lock.take_claimed("dir.json"));
    assert!(matches!(err, JobError::NotRegular("directory")), "{err}");
}

#[test]
fn socket_is_refused() {
    let (_root, dirs, lock) = locked();
    let _listener =
        std::os::unix::net::UnixListener::bind(dirs.cur().join("sock.json")).expect("bind");
    let err = rejected(take_within_a_second(lock, "sock.json"));
    assert!(matches!(err, JobError::NotRegular("socket")), "{err}");
}

#[test]
fn hard_link_is_refused() {
    let (root, dirs, lock) = locked();
    let secret = root.path().join("secret");
    std::fs::write(&secret, job().to_json().expect("sample job writes")).expect("secret");
    std::fs::hard_link(&secret, dirs.cur().join("linked.json")).expect("hard link");
    let err = rejected(lock.take_claimed("linked.json"));
    assert!(matches!(err, JobError::HardLinked(2)), "{err}");
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let (_root, dirs, lock) = locked();
    plant_claimed(&dirs, "big.json", &vec![b' '; 10 * 1024 * 1024]);
    let err = rejected(lock.take_claimed("big.json"));
    assert!(matches!(err, JobError::TooLarge(10_485_760)), "{err}");
}

#[test]
fn bad_contents_are_refused() {
    let (_root, dirs, lock) = locked();
    plant_claimed(&dirs, "garbage.json", b"\x00\xffnot json");
    let err = rejected(lock.take_claimed("garbage.json"));
    assert!(matches!(err, JobError::Json(_)), "{err}");

    plant_claimed(
        &dirs,
        "v9.json",
        &job_json_with(|v| v["version"] = 9.into()),
    );
    let err = rejected(lock.take_claimed("v9.json"));
    assert!(matches!(err, JobError::UnknownVersion(9)), "{err}");

    plant_claimed(
        &dirs,
        "extra.json",
        &job_json_with(|v| v["zone"] = "x".into()),
    );
    let err = rejected(lock.take_claimed("extra.json"));
    assert!(matches!(err, JobError::Json(_)), "{err}");
    assert!(err.to_string().contains("zone"), "{err}");
}

#[test]
fn recover_tmp_removes_only_old_regular_files() {
    let (root, dirs, lock) = locked();
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

    let removed = lock
        .recover_tmp(Duration::from_secs(60), SystemTime::now())
        .expect("recover");
    assert_eq!(removed, 1);
    assert_eq!(names(&tmp), ["dir", "fresh.json", "link.json"]);
    assert_eq!(std::fs::read(&outside).expect("outside"), b"keep");
}
