//! Why this exists: the group take-over keeps the durability promise by counting and ordering, not
//! timing: one sync per group, every copy written before it, no job replaced before it, and a failed
//! sync replaces nothing.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::{Job, SpoolDirs, SpoolLock, SpoolWriter, TakeError};

struct Spool {
    _root: tempfile::TempDir,
    dirs: SpoolDirs,
    lock: SpoolLock,
}

/// A locked spool with `count` jobs submitted and claimed, and the names claimed.
fn claimed(count: usize) -> (Spool, Vec<String>) {
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = SpoolDirs::at(root.path().join("spool"));
    dirs.create_all().expect("create spool");
    let lock = dirs.lock().expect("lock the spool");
    let writer = SpoolWriter::open(dirs.root()).expect("open writer");
    for n in 0..count {
        let job = Job::new(
            "alice",
            format!("h{n}.example.org"),
            Some(Ipv4Addr::new(192, 0, 2, 1)),
            None,
            SystemTime::now(),
            None,
        );
        writer.submit(&job).expect("submit");
    }
    let names = lock.list_new().expect("list new").names;
    for name in &names {
        lock.claim(name).expect("claim");
    }
    (
        Spool {
            _root: root,
            dirs,
            lock,
        },
        names,
    )
}

/// Inode and bytes of every file in `cur/`.
fn cur_files(dirs: &SpoolDirs) -> BTreeMap<String, (u64, Vec<u8>)> {
    std::fs::read_dir(dirs.cur())
        .expect("list cur")
        .map(|entry| {
            let entry = entry.expect("entry");
            let path = entry.path();
            let inode = std::fs::metadata(&path).expect("stat").ino();
            let name = entry.file_name().into_string().expect("UTF-8 name");
            (name, (inode, std::fs::read(&path).expect("read")))
        })
        .collect()
}

/// The temporary copies at the spool's top: mode and bytes of each.
fn copies(root: &Path) -> Vec<(u32, Vec<u8>)> {
    let mut found: Vec<(u32, Vec<u8>)> = std::fs::read_dir(root)
        .expect("list spool top")
        .map(|entry| entry.expect("entry").path())
        .filter(|path: &PathBuf| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".claim-"))
        })
        .map(|path| {
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o7777;
            (mode, std::fs::read(&path).expect("read copy"))
        })
        .collect();
    found.sort();
    found
}

/// What the spool looked like when the group sync ran.
struct AtSync {
    copies: Vec<(u32, Vec<u8>)>,
    cur: BTreeMap<String, (u64, Vec<u8>)>,
}

/// A group sync that records the spool each time it runs, then answers `result`.
fn recording(
    dirs: &SpoolDirs,
    result: fn() -> std::io::Result<()>,
) -> (super::GroupSync, Arc<Mutex<Vec<AtSync>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (dirs, log) = (dirs.clone(), Arc::clone(&seen));
    let sync = Box::new(move |_: &std::fs::File| {
        log.lock().expect("not poisoned").push(AtSync {
            copies: copies(dirs.root()),
            cur: cur_files(&dirs),
        });
        result()
    });
    (sync, seen)
}

#[test]
fn a_group_of_copies_shares_one_sync_and_no_job_is_replaced_before_it() {
    let (mut spool, names) = claimed(25);
    let before = cur_files(&spool.dirs);
    let (sync, seen) = recording(&spool.dirs, || Ok(()));
    spool.lock.group_sync = sync;

    let taken = spool.lock.take_claimed_all(&names);

    assert!(taken.iter().all(Result::is_ok), "{taken:?}");
    let seen = seen.lock().expect("not poisoned");
    assert_eq!(seen.len(), 1, "one sync for 25 copies, not 25");
    // When it ran, every copy was complete (the bytes of each job, mode 0640) and cur/ still held
    // exactly the frontend's files: nothing can have been replaced by an unsynced copy.
    let mut originals: Vec<(u32, Vec<u8>)> = before
        .values()
        .map(|(_, bytes)| (0o640, bytes.clone()))
        .collect();
    originals.sort();
    assert_eq!(seen[0].copies, originals);
    assert_eq!(seen[0].cur, before);
    // Afterwards every job in cur/ is its copy (a new inode, the same bytes), and no copy is left.
    let after = cur_files(&spool.dirs);
    for (name, (inode, bytes)) in &after {
        assert_ne!(*inode, before[name].0, "{name} was replaced");
        assert_eq!(*bytes, before[name].1, "{name} holds the bytes read");
    }
    assert_eq!(after.len(), 25);
    assert!(copies(spool.dirs.root()).is_empty());
    for (name, job) in names.iter().zip(&taken) {
        let job = job.as_ref().expect("taken");
        assert_eq!(Job::parse(&after[name].1).expect("a job"), *job);
    }
}

#[test]
fn a_failed_group_sync_replaces_nothing_and_the_jobs_are_taken_again_later() {
    let (mut spool, names) = claimed(5);
    let before = cur_files(&spool.dirs);
    let (sync, seen) = recording(&spool.dirs, || {
        Err(std::io::Error::from_raw_os_error(nix::libc::EIO))
    });
    spool.lock.group_sync = sync;

    let taken = spool.lock.take_claimed_all(&names);

    assert_eq!(seen.lock().expect("not poisoned").len(), 1);
    for result in &taken {
        match result {
            Err(TakeError::Copy { cause, .. }) => {
                let text = cause.to_string();
                assert!(text.contains("sync the file system of"), "{text}");
                assert_eq!(
                    cause.os_cause().and_then(std::io::Error::raw_os_error),
                    Some(nix::libc::EIO)
                );
            }
            other => panic!("expected a copy failure, got {other:?}"),
        }
    }
    assert_eq!(cur_files(&spool.dirs), before, "cur/ untouched");
    assert!(copies(spool.dirs.root()).is_empty(), "copies removed");

    let syncs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&syncs);
    spool.lock.group_sync = Box::new(move |root: &std::fs::File| {
        counted.fetch_add(1, Ordering::Relaxed);
        super::sync_file_system()(root)
    });
    let again = spool.lock.take_claimed_all(&names);
    assert!(again.iter().all(Result::is_ok), "{again:?}");
    assert_eq!(syncs.load(Ordering::Relaxed), 1);
}

#[test]
fn a_bad_file_in_a_group_fails_alone() {
    let (mut spool, mut names) = claimed(3);
    std::fs::write(spool.dirs.cur().join("garbage.json"), b"{not json").expect("plant");
    std::os::unix::fs::symlink(
        spool.dirs.cur().join(&names[0]),
        spool.dirs.cur().join("link.json"),
    )
    .expect("plant symlink");
    names.insert(1, "garbage.json".to_owned());
    names.push("link.json".to_owned());
    let (sync, seen) = recording(&spool.dirs, || Ok(()));
    spool.lock.group_sync = sync;

    let taken = spool.lock.take_claimed_all(&names);

    let outcome: Vec<&str> = taken
        .iter()
        .map(|r| match r {
            Ok(_) => "taken",
            Err(TakeError::Rejected(_)) => "rejected",
            Err(_) => "other",
        })
        .collect();
    assert_eq!(outcome, ["taken", "rejected", "taken", "taken", "rejected"]);
    let seen = seen.lock().expect("not poisoned");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].copies.len(), 3, "only the valid jobs were copied");
}

#[test]
fn a_group_of_bad_files_or_a_single_job_needs_no_group_sync() {
    let (mut spool, names) = claimed(1);
    std::fs::write(spool.dirs.cur().join("a.json"), b"x").expect("plant");
    std::fs::write(spool.dirs.cur().join("b.json"), b"y").expect("plant");
    let (sync, seen) = recording(&spool.dirs, || Ok(()));
    spool.lock.group_sync = sync;

    let bad = spool
        .lock
        .take_claimed_all(&["a.json".to_owned(), "b.json".to_owned()]);
    assert!(bad.iter().all(|r| matches!(r, Err(TakeError::Rejected(_)))));
    // One job is synced alone (an fsync of its copy), not by flushing the whole file system.
    let one = spool.lock.take_claimed_all(&names);
    assert!(one[0].is_ok(), "{one:?}");
    assert!(seen.lock().expect("not poisoned").is_empty());
}

/// A frontend that still holds its job open and rewrites it in the window a group leaves between
/// reading a job and renaming its copy over it (every copy written, then the sync) changes neither
/// the job the worker takes nor what `cur/` holds afterwards: the rename leaves its writes in an
/// unlinked inode.
#[test]
fn a_job_rewritten_between_the_groups_read_and_its_rename_keeps_the_bytes_read() {
    let (mut spool, names) = claimed(3);
    let before = cur_files(&spool.dirs);
    let cur = spool.dirs.cur();
    spool.lock.group_sync = Box::new(move |_: &std::fs::File| {
        // Written in place through the original inode, as through a descriptor held open.
        for entry in std::fs::read_dir(&cur).expect("list cur") {
            let path = entry.expect("entry").path();
            let mut forged = Job::parse(&std::fs::read(&path).expect("read")).expect("a job");
            forged.ipv4 = Some(Ipv4Addr::new(192, 0, 2, 66));
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&path)
                .expect("open the original");
            std::io::Write::write_all(&mut file, &forged.to_json().expect("job writes"))
                .expect("rewrite");
        }
        Ok(())
    });

    let taken = spool.lock.take_claimed_all(&names);

    let after = cur_files(&spool.dirs);
    for (name, job) in names.iter().zip(&taken) {
        let job = job.as_ref().expect("taken");
        assert_eq!(job.ipv4, Some(Ipv4Addr::new(192, 0, 2, 1)), "{name}");
        assert_eq!(after[name].1, before[name].1, "{name} holds the bytes read");
        assert_ne!(after[name].0, before[name].0, "{name} is the worker's copy");
    }
}
