//! Why this exists: the frontend reads the jobs still waiting in `new/` and `cur/` at start (for its
//! `nochg` memory and its clock floor), and anything in those folders may have been planted: a FIFO
//! must not hang the frontend's start, a symlink must not be followed, a huge file must not be read.
//! The same hostile-file rules as the worker's reader, for a reader without the worker's lock.

use std::path::{Path, PathBuf};

use crate::hostile;
use crate::job::{Job, JobError};
use crate::spool::{SpoolDirs, SpoolError};

/// What `new/` and `cur/` hold, read without claiming anything.
#[derive(Debug, Default)]
pub struct PendingJobs {
    /// Every entry that is a valid job, in no particular order.
    pub jobs: Vec<Job>,
    /// Entries that are not (the worker dead-letters them), with why.
    pub unreadable: Vec<(PathBuf, JobError)>,
}

impl SpoolDirs {
    /// The jobs pending in `cur/` and `new/`. Never blocks on a planted FIFO, never follows a
    /// symlink, reads at most [`MAX_JOB_BYTES`] plus one of any entry. Fails only if a folder
    /// cannot be listed.
    pub fn pending_jobs(&self) -> Result<PendingJobs, SpoolError> {
        let mut pending = PendingJobs::default();
        for dir in [self.cur(), self.new()] {
            let entries =
                std::fs::read_dir(&dir).map_err(|source| SpoolError::io("list", &dir, source))?;
            for entry in entries {
                let entry = entry.map_err(|source| SpoolError::io("list", &dir, source))?;
                let path = entry.path();
                match read_job_file(&path) {
                    Ok(job) => pending.jobs.push(job),
                    // The worker claimed or finished it between the listing and the open.
                    Err(JobError::Read { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => pending.unreadable.push((path, err)),
                }
            }
        }
        Ok(pending)
    }
}

/// Reads and parses one spool file as hostile ([`hostile::read_job_bytes`]).
pub(crate) fn read_job_file(path: &Path) -> Result<Job, JobError> {
    Job::parse(&hostile::read_job_bytes(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::MAX_JOB_BYTES;
    use crate::SpoolWriter;
    use std::net::Ipv4Addr;
    use std::sync::mpsc;
    use std::time::{Duration, SystemTime};

    fn job(host: &str) -> Job {
        Job::new(
            "alice",
            host,
            Some(Ipv4Addr::new(192, 0, 2, 1)),
            None,
            SystemTime::now(),
            None,
        )
    }

    /// Runs `pending_jobs` on another thread so a blocking open fails the test instead of hanging it.
    fn pending_within_five_seconds(dirs: &SpoolDirs) -> PendingJobs {
        let (tx, rx) = mpsc::channel();
        let dirs = dirs.clone();
        std::thread::spawn(move || {
            let _ = tx.send(dirs.pending_jobs());
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("pending_jobs returned within five seconds")
            .expect("both folders list")
    }

    #[test]
    fn planted_fifo_symlink_and_oversized_files_are_skipped_without_blocking() {
        let root = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(root.path());
        dirs.create_all().expect("create spool");
        let writer = SpoolWriter::open(dirs.root()).expect("open writer");
        let waiting = job("new.example.org");
        writer.submit(&waiting).expect("submit");
        let claimed = job("cur.example.org");
        std::fs::write(
            dirs.cur().join("claimed.json"),
            claimed.to_json().expect("a job dated now is writable"),
        )
        .expect("plant");

        let fifo_mode = nix::sys::stat::Mode::S_IRWXU;
        nix::unistd::mkfifo(&dirs.new().join("fifo.json"), fifo_mode).expect("mkfifo");
        nix::unistd::mkfifo(&dirs.cur().join("fifo.json"), fifo_mode).expect("mkfifo");
        let secret = root.path().join("secret");
        std::fs::write(
            &secret,
            job("secret.example.org")
                .to_json()
                .expect("a job dated now is writable"),
        )
        .expect("secret");
        std::os::unix::fs::symlink(&secret, dirs.new().join("link.json")).expect("symlink");
        let huge = vec![b' '; usize::try_from(MAX_JOB_BYTES).expect("fits") + 1];
        std::fs::write(dirs.new().join("huge.json"), huge).expect("huge");
        std::fs::create_dir(dirs.new().join("dir.json")).expect("dir");

        let pending = pending_within_five_seconds(&dirs);
        let mut hosts: Vec<&str> = pending.jobs.iter().map(|job| job.host.as_str()).collect();
        hosts.sort_unstable();
        assert_eq!(hosts, ["cur.example.org", "new.example.org"]);
        let mut reasons: Vec<String> = pending
            .unreadable
            .iter()
            .map(|(path, err)| format!("{}: {err}", path.display()))
            .collect();
        reasons.sort();
        assert_eq!(reasons.len(), 5, "{reasons:#?}");
        assert!(reasons.iter().any(|r| r.contains("symbolic link")));
        assert!(reasons.iter().any(|r| r.contains("fifo")));
        assert!(reasons.iter().any(|r| r.contains("directory")));
        assert!(reasons.iter().any(|r| r.contains("byte limit")));
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let root = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(root.path().join("absent"));
        let err = dirs.pending_jobs().expect_err("no folders");
        assert!(err.to_string().contains("absent"), "{err}");
    }
}
