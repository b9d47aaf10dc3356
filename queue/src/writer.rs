//! Why this exists: the frontend's only way to hand a job to the worker — written in `tmp/`,
//! fsynced, renamed into `new/`, and made durable by one `new/` fsync shared among concurrent
//! submitters, so a burst of updates costs one directory flush rather than one each.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::UNIX_EPOCH;

use crate::durable;
use crate::job::Job;
use crate::spool::{SpoolDirs, SpoolError};

/// Mode of a job file: the worker reads it as root; the frontend's group may inspect it.
const JOB_FILE_MODE: u32 = 0o640;

/// How `new/` is made durable: `File::sync_all` in production; tests hand in one that fails.
pub type DirSync = Box<dyn Fn(&File) -> io::Result<()> + Send + Sync>;

/// Submits jobs to the spool. Blocking; share one behind an `Arc` and call `submit` from
/// blocking threads.
pub struct SpoolWriter {
    dirs: SpoolDirs,
    /// `new/`, opened once so every group commit fsyncs the same directory.
    new_dir: File,
    sync_dir: DirSync,
    group: Mutex<GroupCommit>,
    group_done: Condvar,
    dir_syncs: AtomicU64,
}

impl std::fmt::Debug for SpoolWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolWriter")
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

/// Leader/follower bookkeeping: submitters count their renames; whoever finds no fsync in
/// flight runs one covering every rename so far, and the others wait for it.
///
/// A failed fsync is final for every rename made before it was seen: the kernel may have dropped
/// the pages it could not write and report success for the next fsync of the same folder, so a
/// later success says nothing about them. Each submitter notes how many failures it had seen
/// before its rename (its epoch); it answers `Ok` only from a success that no failure preceded
/// since then. Renames after a failure are covered by the next fsync as usual.
#[derive(Debug, Default)]
struct GroupCommit {
    /// Renames into `new/` so far; a submitter's ticket is the value after its own.
    renamed: u64,
    /// Every rename with a ticket up to this is covered by a successful fsync of `new/`.
    synced: u64,
    /// An fsync of `new/` is in flight.
    syncing: bool,
    /// Failed fsyncs of `new/` so far.
    failures: u64,
    /// `synced` when the latest failure was seen: tickets up to it were durable before it.
    synced_before_failure: u64,
    /// The latest failure, for the submitters it poisons (an `io::Error` cannot be cloned).
    last_error: Option<(io::ErrorKind, String)>,
}

/// What a submitter waiting for its rename to be durable learns from the bookkeeping.
#[derive(Debug, PartialEq, Eq)]
enum Durability {
    Durable,
    /// A failed fsync may have dropped the rename; it must be answered as a failure.
    Lost,
    Pending,
}

impl GroupCommit {
    /// The fate of the rename with `ticket`, made after `epoch` failures had been seen.
    fn durability(&self, ticket: u64, epoch: u64) -> Durability {
        if self.failures == epoch {
            return if self.synced >= ticket {
                Durability::Durable
            } else {
                Durability::Pending
            };
        }
        // One failure since the rename, and a success covered it before that failure. After more
        // than one the earlier barrier is gone: answering a failure for a durable job is safe.
        if self.failures == epoch + 1 && ticket <= self.synced_before_failure {
            return Durability::Durable;
        }
        Durability::Lost
    }

    fn last_error(&self) -> io::Error {
        match &self.last_error {
            Some((kind, message)) => io::Error::new(*kind, message.clone()),
            None => io::Error::other("an earlier fsync failed"),
        }
    }
}

impl SpoolWriter {
    /// Opens the spool at `root` for submitting; `tmp/` and `new/` must exist.
    pub fn open(root: impl Into<PathBuf>) -> Result<SpoolWriter, SpoolError> {
        SpoolWriter::open_with_dir_sync(root, Box::new(File::sync_all))
    }

    /// [`SpoolWriter::open`] with the folder fsync handed in, so tests can make it fail.
    pub fn open_with_dir_sync(
        root: impl Into<PathBuf>,
        sync_dir: DirSync,
    ) -> Result<SpoolWriter, SpoolError> {
        let dirs = SpoolDirs::at(root);
        SpoolDirs::require_dir(&dirs.tmp())?;
        let new = dirs.new();
        SpoolDirs::require_dir(&new)?;
        let new_dir =
            durable::open_dir(&new).map_err(|source| SpoolError::io("open", &new, source))?;
        Ok(SpoolWriter {
            dirs,
            new_dir,
            sync_dir,
            group: Mutex::new(GroupCommit::default()),
            group_done: Condvar::new(),
            dir_syncs: AtomicU64::new(0),
        })
    }

    pub fn dirs(&self) -> &SpoolDirs {
        &self.dirs
    }

    /// How many times `new/` has been fsynced; fewer than submitted jobs under contention.
    #[cfg(test)]
    fn dir_syncs(&self) -> u64 {
        self.dir_syncs.load(Ordering::Relaxed)
    }

    /// Spools `job` and returns its path in `new/` once it is durable.
    ///
    /// If the fsync of `new/` fails the error is returned, but the job is already in `new/` and
    /// may still be applied: the client retries and the worker sees a no-change.
    pub fn submit(&self, job: &Job) -> Result<PathBuf, SpoolError> {
        job.validate()?;
        let bytes = job.to_json()?;
        let name = file_name(job);
        let tmp_path = self.dirs.tmp().join(&name);
        let new_path = self.dirs.new().join(&name);

        // Read before the rename: a failure seen after this may have dropped it.
        let epoch = self.lock_group().failures;
        // No fsync of tmp/: the entry that must survive a crash is the one in new/.
        durable::write_then_rename(&tmp_path, &new_path, &bytes, JOB_FILE_MODE)?;

        self.sync_new_dir(epoch)?;
        Ok(new_path)
    }

    /// Returns once an fsync of `new/` that started after our rename has succeeded, with no
    /// failed one since `epoch`.
    fn sync_new_dir(&self, epoch: u64) -> Result<(), SpoolError> {
        let mut group = self.lock_group();
        group.renamed += 1;
        let ticket = group.renamed;
        loop {
            match group.durability(ticket, epoch) {
                Durability::Durable => return Ok(()),
                Durability::Lost => {
                    return Err(SpoolError::io("fsync", self.dirs.new(), group.last_error()))
                }
                Durability::Pending => {}
            }
            if !group.syncing {
                group.syncing = true;
                let target = group.renamed;
                drop(group);
                let result = (self.sync_dir)(&self.new_dir);
                self.dir_syncs.fetch_add(1, Ordering::Relaxed);
                group = self.lock_group();
                group.syncing = false;
                match &result {
                    Ok(()) => group.synced = group.synced.max(target),
                    Err(err) => {
                        group.failures += 1;
                        group.synced_before_failure = group.synced;
                        group.last_error = Some((err.kind(), err.to_string()));
                    }
                }
                self.group_done.notify_all();
                // Our own ticket is decided like everyone else's (a failure loses it).
                continue;
            }
            group = self
                .group_done
                .wait(group)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The counters stay consistent even if a holder panicked: nothing that can panic runs
    /// while the lock is held.
    fn lock_group(&self) -> MutexGuard<'_, GroupCommit> {
        self.group.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `<received_at as unix nanoseconds, 20 digits>.<id>.json`: sorts by arrival, never collides.
fn file_name(job: &Job) -> String {
    // to_json has already refused times before 1970.
    let nanos = job
        .received_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("{nanos:020}.{}.json", job.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::path::Path;
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, SystemTime};

    fn job_at(received_at: SystemTime) -> Job {
        Job::new(
            "alice",
            "home.example.org",
            Some(Ipv4Addr::new(192, 0, 2, 1)),
            None,
            received_at,
            None,
        )
    }

    fn spool() -> (tempfile::TempDir, SpoolDirs) {
        let root = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(root.path());
        dirs.create_all().expect("create spool");
        (root, dirs)
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|entry| {
                let entry = entry.expect("dir entry");
                entry.file_name().into_string().expect("UTF-8 name")
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writer_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SpoolWriter>();
    }

    #[test]
    fn submitted_job_lands_in_new_with_its_json_and_tmp_stays_empty() {
        let (_root, dirs) = spool();
        let writer = SpoolWriter::open(dirs.root()).expect("open writer");
        let job = job_at(UNIX_EPOCH + Duration::new(1_795_449_600, 5));
        let path = writer.submit(&job).expect("submit");

        assert_eq!(path, dirs.new().join(file_name(&job)));
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        assert_eq!(name, format!("01795449600000000005.{}.json", job.id));
        let bytes = std::fs::read(&path).expect("read job");
        assert_eq!(bytes, job.to_json().expect("sample job writes"));
        assert_eq!(Job::parse(&bytes).expect("parse"), job);
        assert!(names_in(&dirs.tmp()).is_empty());
        assert_eq!(writer.dir_syncs(), 1);

        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o137, 0, "job file mode {mode:o} is at most 0640");
    }

    #[test]
    fn names_sort_by_arrival_time() {
        let (_root, dirs) = spool();
        let writer = SpoolWriter::open(dirs.root()).expect("open writer");
        // 9 s and 10 s differ in digit count, which only zero padding keeps in order.
        let times = [10, 9, 1_000_000_000, 100].map(|s| UNIX_EPOCH + Duration::from_secs(s));
        let ids: Vec<_> = times
            .iter()
            .map(|&t| {
                let job = job_at(t);
                writer.submit(&job).expect("submit");
                (t, job.id)
            })
            .collect();
        let mut expected = ids.clone();
        expected.sort();
        let in_order: Vec<String> = expected.iter().map(|(_, id)| id.to_string()).collect();
        let listed: Vec<String> = names_in(&dirs.new())
            .iter()
            .map(|name| name.split('.').nth(1).expect("id part").to_owned())
            .collect();
        assert_eq!(listed, in_order);
    }

    #[test]
    fn invalid_job_is_refused_and_leaves_nothing_behind() {
        let (_root, dirs) = spool();
        let writer = SpoolWriter::open(dirs.root()).expect("open writer");
        let mut job = job_at(SystemTime::now());
        job.ipv4 = None;
        let err = writer.submit(&job).expect_err("no address");
        assert!(matches!(err, SpoolError::InvalidJob(_)), "{err}");
        assert!(names_in(&dirs.tmp()).is_empty());
        assert!(names_in(&dirs.new()).is_empty());
    }

    #[test]
    fn open_names_the_missing_directory() {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join("tmp")).expect("mkdir tmp");
        let err = SpoolWriter::open(root.path()).expect_err("new/ missing");
        assert!(err.to_string().contains("new"), "{err}");
        std::fs::write(root.path().join("new"), b"").expect("plain file named new");
        let err = SpoolWriter::open(root.path()).expect_err("new/ is a file");
        assert!(matches!(err, SpoolError::NotADirectory { .. }), "{err}");
    }

    #[test]
    fn failed_write_removes_the_temp_file() {
        let (_root, dirs) = spool();
        let writer = SpoolWriter::open(dirs.root()).expect("open writer");
        let job = job_at(SystemTime::now());
        // A directory squatting on the target name makes the rename fail after the write.
        let squatter = dirs.new().join(file_name(&job));
        std::fs::create_dir(&squatter).expect("mkdir squatter");
        std::fs::write(squatter.join("keep"), b"x").expect("non-empty squatter");
        let err = writer
            .submit(&job)
            .expect_err("rename onto a non-empty dir");
        assert!(matches!(err, SpoolError::Rename { .. }), "{err}");
        assert!(names_in(&dirs.tmp()).is_empty());
    }

    /// A folder fsync that blocks its first call until `release` fires, then fails it with EIO;
    /// later calls succeed. Counts every call.
    fn first_sync_fails_when_released(calls: Arc<AtomicU64>) -> (DirSync, mpsc::Sender<()>) {
        let (release, released) = mpsc::channel::<()>();
        let released = Mutex::new(released);
        let sync: DirSync = Box::new(move |dir: &File| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                let _ = released.lock().expect("release lock").recv();
                return Err(io::Error::from_raw_os_error(5));
            }
            dir.sync_all()
        });
        (sync, release)
    }

    #[test]
    fn a_failed_directory_fsync_is_never_retried_into_good() {
        const SUBMITTERS: usize = 8;
        let (_root, dirs) = spool();
        let calls = Arc::new(AtomicU64::new(0));
        let (sync, release) = first_sync_fails_when_released(calls.clone());
        let writer = Arc::new(SpoolWriter::open_with_dir_sync(dirs.root(), sync).expect("open"));
        let (results, answers) = mpsc::channel();
        for _ in 0..SUBMITTERS {
            let (writer, results) = (writer.clone(), results.clone());
            std::thread::spawn(move || {
                let _ = results.send(writer.submit(&job_at(SystemTime::now())));
            });
        }
        // Every rename is made before the one fsync in flight fails.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while names_in(&dirs.new()).len() < SUBMITTERS {
            assert!(
                std::time::Instant::now() < deadline,
                "submitters did not rename"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        release.send(()).expect("the fsync is waiting");
        for _ in 0..SUBMITTERS {
            let answer = answers
                .recv_timeout(Duration::from_secs(10))
                .expect("every submitter answers");
            let err = answer.expect_err("a rename the failed fsync may have dropped is not good");
            assert!(err.to_string().contains("os error 5"), "{err}");
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "no waiter retried the failed fsync"
        );

        writer
            .submit(&job_at(SystemTime::now()))
            .expect("a rename after the failure is covered by the next fsync");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_rename_made_durable_before_a_failure_stays_good() {
        // Tickets 1..=3 were covered by a success, then an fsync covering 4..=5 failed.
        let mut group = GroupCommit {
            renamed: 6,
            synced: 3,
            syncing: false,
            failures: 1,
            synced_before_failure: 3,
            last_error: None,
        };
        assert_eq!(group.durability(2, 0), Durability::Durable);
        assert_eq!(group.durability(4, 0), Durability::Lost);
        assert_eq!(group.durability(6, 1), Durability::Pending);
        // A later success covers the rename made after the failure, never the ones before it.
        group.synced = 6;
        assert_eq!(group.durability(4, 0), Durability::Lost);
        assert_eq!(group.durability(6, 1), Durability::Durable);
        // After a second failure the first one's barrier is gone: a failure is the safe answer.
        group.failures = 2;
        group.synced_before_failure = 6;
        assert_eq!(group.durability(2, 0), Durability::Lost);
        assert_eq!(group.durability(6, 1), Durability::Durable);
    }

    /// What the injected folder fsyncs saw, in order: the names in `new/` when each started, and
    /// for a failure the names there when it ended (every one of those it may have dropped).
    #[derive(Default)]
    struct SyncModel {
        durable: std::collections::HashSet<String>,
        lost: std::collections::HashSet<String>,
        seed: u64,
        calls: u64,
    }

    #[test]
    fn no_good_under_concurrent_fsync_failures_without_a_covering_success() {
        // 32 submitters, every third fsync or so failing while renames land before, during and
        // after it. A rename is durable only if a successful fsync started after it with no failure
        // in between; every `Ok` must be such a rename, whatever the interleaving.
        const THREADS: usize = 32;
        const PER_THREAD: usize = 15;
        let (_root, dirs) = spool();
        let model = Arc::new(Mutex::new(SyncModel {
            seed: 0x9e37_79b9_7f4a_7c15,
            ..SyncModel::default()
        }));
        let new = dirs.new();
        let sync: DirSync = {
            let model = model.clone();
            Box::new(move |dir: &File| {
                let mut seen = model.lock().expect("model lock");
                let before: Vec<String> = names_in(&new);
                // xorshift: the same failures on every run, their timing left to the threads.
                seen.seed ^= seen.seed << 13;
                seen.seed ^= seen.seed >> 7;
                seen.seed ^= seen.seed << 17;
                seen.calls += 1;
                let fails = seen.seed % 3 == 0;
                drop(seen);
                std::thread::yield_now();
                let result = if fails {
                    Err(io::Error::from_raw_os_error(5))
                } else {
                    dir.sync_all()
                };
                let mut seen = model.lock().expect("model lock");
                if result.is_ok() {
                    for name in before {
                        if !seen.lost.contains(&name) {
                            seen.durable.insert(name);
                        }
                    }
                } else {
                    for name in names_in(&new) {
                        if !seen.durable.contains(&name) {
                            seen.lost.insert(name);
                        }
                    }
                }
                result
            })
        };
        let writer = Arc::new(SpoolWriter::open_with_dir_sync(dirs.root(), sync).expect("open"));
        let start = Arc::new(std::sync::Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (writer, start) = (writer.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    (0..PER_THREAD)
                        .map(|_| {
                            let job = job_at(SystemTime::now());
                            (file_name(&job), writer.submit(&job).is_ok())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let answers: Vec<(String, bool)> = handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("submitter thread"))
            .collect();
        let model = model.lock().expect("model lock");
        let good = answers.iter().filter(|(_, ok)| *ok).count();
        for (name, ok) in &answers {
            if *ok {
                assert!(
                    model.durable.contains(name) && !model.lost.contains(name),
                    "{name} was answered good without a successful fsync that started after its \
                     rename and no failure since"
                );
            }
        }
        assert!(
            good > 0 && good < answers.len() && !model.lost.is_empty(),
            "the run must mix goods and failures to mean anything: {good} of {}, {} fsyncs",
            answers.len(),
            model.calls
        );
    }

    #[test]
    fn concurrent_submitters_share_directory_fsyncs() {
        const THREADS: usize = 32;
        const PER_THREAD: usize = 50;
        let (_root, dirs) = spool();
        let writer = Arc::new(SpoolWriter::open(dirs.root()).expect("open writer"));
        let start = Arc::new(std::sync::Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let writer = Arc::clone(&writer);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..PER_THREAD {
                        writer.submit(&job_at(SystemTime::now())).expect("submit");
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("submitter thread");
        }
        let jobs = THREADS * PER_THREAD;
        assert_eq!(names_in(&dirs.new()).len(), jobs);
        assert!(names_in(&dirs.tmp()).is_empty());
        let syncs = writer.dir_syncs();
        assert!(
            syncs < jobs as u64,
            "{syncs} directory fsyncs for {jobs} jobs: no group commit happened"
        );
        assert!(syncs >= 1);
    }
}
