//! Why this exists: how many jobs wait in each spool folder is asked by `dyndns-worker status`,
//! by the worker's heartbeat (for `failed/`, which only root can list) and by the frontend's
//! `/health`, `/status` and `/metrics`; one definition of what counts as a job file there.

use std::path::Path;

use crate::spool::SpoolDirs;

impl SpoolDirs {
    /// Job files in `new/` (waiting for the worker); `None` if the folder cannot be listed.
    pub fn count_new(&self) -> Option<usize> {
        count_entries(&self.new(), is_job_name)
    }

    /// Job files in `cur/` (claimed, in flight).
    pub fn count_cur(&self) -> Option<usize> {
        count_entries(&self.cur(), is_job_name)
    }

    /// Dead letters in `failed/`, their `.reason` files not counted (root only: `None` for the
    /// frontend).
    pub fn count_failed(&self) -> Option<usize> {
        count_entries(&self.failed(), |name| {
            is_job_name(name) && !name.ends_with(".reason")
        })
    }
}

/// Hidden names are temporary files and probes, never jobs.
fn is_job_name(name: &str) -> bool {
    !name.starts_with('.')
}

/// Regular entries of `dir` whose name `keep` accepts; a name that is not UTF-8 does not count.
fn count_entries(dir: &Path, keep: impl Fn(&str) -> bool) -> Option<usize> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
            .filter(|entry| entry.file_name().to_str().is_some_and(&keep))
            .count(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_regular_files_count_and_reasons_do_not() {
        let root = tempfile::tempdir().expect("temp dir");
        let dirs = SpoolDirs::at(root.path());
        dirs.create_all().expect("create the spool");
        std::fs::write(dirs.new().join("a.json"), "{}").expect("write");
        std::fs::write(dirs.new().join(".probe-x"), "").expect("write");
        std::fs::create_dir(dirs.new().join("dir.json")).expect("dir");
        std::fs::write(dirs.failed().join("b.json"), "{}").expect("write");
        std::fs::write(dirs.failed().join("b.json.reason"), "why").expect("write");
        assert_eq!(dirs.count_new(), Some(1));
        assert_eq!(dirs.count_cur(), Some(0));
        assert_eq!(dirs.count_failed(), Some(1));
        let absent = SpoolDirs::at(root.path().join("absent"));
        assert_eq!(absent.count_new(), None);
    }
}
