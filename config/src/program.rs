//! Why this exists: the worker runs a backend's program by its path, or a bare name from
//! [`WORKER_COMMAND_PATH`] (never the caller's PATH); `check-config` and a backend's own check find
//! it exactly the way the run will, so neither says "found" for a program the worker cannot start.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::WORKER_COMMAND_PATH;

/// Why a program cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramMissing {
    #[error("`{0}` is not an executable file")]
    NotExecutable(String),
    #[error("`{0}` is not found in the worker's PATH ({WORKER_COMMAND_PATH})")]
    NotInPath(String),
}

/// The file the worker would execute for `program`: the path itself when it has a `/`, else the
/// first executable file of that name in [`WORKER_COMMAND_PATH`].
pub fn find_program(program: &str) -> Result<PathBuf, ProgramMissing> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(ProgramMissing::NotExecutable(program.to_owned()))
        };
    }
    WORKER_COMMAND_PATH
        .split(':')
        .map(|folder| Path::new(folder).join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| ProgramMissing::NotInPath(program.to_owned()))
}

/// A regular file (after symlinks) with an execute bit: what `execve` takes from root.
fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_looked_up_in_the_workers_path_and_a_path_is_taken_as_it_is() {
        assert!(find_program("sh").is_ok_and(|found| found.is_absolute()));
        assert_eq!(
            find_program("no-such-program-dyndns"),
            Err(ProgramMissing::NotInPath(
                "no-such-program-dyndns".to_owned()
            ))
        );
        assert_eq!(
            find_program("/nonexistent/plesk"),
            Err(ProgramMissing::NotExecutable(
                "/nonexistent/plesk".to_owned()
            ))
        );
        // A folder is not a program, whatever its mode.
        assert!(find_program("/usr/bin").is_err());
    }
}
