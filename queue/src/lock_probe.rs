//! Why this exists: `dyndns-worker status` says whether a worker holds the spool's lock without
//! becoming one. It opens `worker.lock` read-only and asks for a shared lock without waiting,
//! released at once: refused means a worker holds it. The probe holds it for microseconds, but a
//! worker starting in exactly that instant would find the lock taken and exit 75 as for any
//! overlapping run (cron starts it again; systemd restarts it).

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

use crate::spool::SpoolDirs;

/// What the probe found.
#[derive(Debug)]
pub enum LockHolder {
    /// A worker holds the lock now.
    Held,
    /// Nobody holds it (or no worker ever made the file).
    Free,
    /// The probe could not tell: the file is root's (0600) and the caller is not, say.
    Unknown(io::Error),
}

impl SpoolDirs {
    /// Whether a worker holds `worker.lock` now; never creates the file, never waits.
    pub fn lock_holder(&self) -> LockHolder {
        let path = self.lock_path();
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
            .open(&path)
        {
            Ok(file) => file,
            Err(cause) if cause.kind() == io::ErrorKind::NotFound => return LockHolder::Free,
            Err(cause) => return LockHolder::Unknown(cause),
        };
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            // Dropping the guard unlocks at once.
            Ok(_probe) => LockHolder::Free,
            Err((_, Errno::EWOULDBLOCK)) => LockHolder::Held,
            Err((_, errno)) => LockHolder::Unknown(errno.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_sees_a_held_lock_and_does_not_keep_a_free_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(dir.path());
        dirs.create_all().expect("spool");
        assert!(matches!(dirs.lock_holder(), LockHolder::Free));
        assert!(!dirs.lock_path().exists(), "the probe creates nothing");
        let lock = dirs.lock().expect("lock");
        assert!(matches!(dirs.lock_holder(), LockHolder::Held));
        drop(lock);
        assert!(matches!(dirs.lock_holder(), LockHolder::Free));
        // The probe released what it took: a worker can lock right after it.
        dirs.lock().expect("lock after a probe");
    }
}
