//! Why this exists: one notifier per state folder. Two (the service and a `--once` run by hand, or
//! two units) would each send every message and overwrite each other's cursor and outboxes, so the
//! second one refuses to start, naming the folder, instead of doubling every notification.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

/// The lock file's name in the notifier's state folder.
pub const LOCK_FILE_NAME: &str = "notify.lock";

#[derive(Debug, thiserror::Error)]
pub enum InstanceLockError {
    #[error(
        "another dyndns-notify runs on {path} (it holds the lock): stop it first \
         (`systemctl stop dyndns-notify` before a `--once` by hand); two would send every message twice"
    )]
    Held { path: PathBuf },
    #[error("cannot {action} {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// Held for as long as the notifier runs; the kernel lets go when the process ends, however it
/// ends.
#[derive(Debug)]
pub struct InstanceLock {
    _lock: Flock<File>,
}

impl InstanceLock {
    /// Takes `<state_dir>/notify.lock` (made 0600 if missing), or says who holds it.
    pub fn take(state_dir: &Path) -> Result<InstanceLock, InstanceLockError> {
        let path = state_dir.join(LOCK_FILE_NAME);
        let io = |action, cause| InstanceLockError::Io {
            action,
            path: path.clone(),
            cause,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            // A symlink planted under the name is refused; a FIFO must not hang the start.
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
            .open(&path)
            .map_err(|cause| io("open", cause))?;
        if !file
            .metadata()
            .map_err(|cause| io("inspect", cause))?
            .is_file()
        {
            return Err(io("lock", std::io::Error::other("not a regular file")));
        }
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(InstanceLock { _lock: lock }),
            Err((_, Errno::EWOULDBLOCK)) => Err(InstanceLockError::Held { path }),
            Err((_, errno)) => Err(io("lock", errno.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_folder_is_refused_naming_it_until_the_first_is_gone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = InstanceLock::take(dir.path()).expect("the first takes it");
        let second = InstanceLock::take(dir.path()).expect_err("the second is refused");
        assert!(
            matches!(&second, InstanceLockError::Held { path } if path == &dir.path().join(LOCK_FILE_NAME))
        );
        assert!(second
            .to_string()
            .contains("two would send every message twice"));
        drop(first);
        InstanceLock::take(dir.path()).expect("free again");
    }

    #[test]
    fn a_symlink_or_fifo_at_the_lock_name_is_refused_without_following_or_hanging() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.path().join(LOCK_FILE_NAME)).expect("symlink");
        assert!(matches!(
            InstanceLock::take(dir.path()),
            Err(InstanceLockError::Io { action: "open", .. })
        ));
        assert!(!target.exists(), "never followed");
        std::fs::remove_file(dir.path().join(LOCK_FILE_NAME)).expect("remove");
        nix::unistd::mkfifo(
            &dir.path().join(LOCK_FILE_NAME),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .expect("mkfifo");
        assert!(matches!(
            InstanceLock::take(dir.path()),
            Err(InstanceLockError::Io { action: "lock", .. })
        ));
    }
}
