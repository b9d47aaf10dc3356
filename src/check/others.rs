//! Why this exists: the frontend's user is not the only one who must not steer the root worker. Any
//! user but root who can change the config, a program the worker runs, the spool or the state, or
//! replace one of them through a folder above it (symbolic links followed), controls what root does;
//! and any user who can reach the config reads the password hashes. This judges every user.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{acl, describe, Account, Findings};

/// A path the root worker trusts: what it is, and what whoever replaces it gets.
pub struct Trusted<'a> {
    pub path: &'a Path,
    /// `the config`
    pub what: &'static str,
    /// `which the root worker reads and whose commands it runs`
    pub why: &'static str,
}

/// What a change to a path would be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Any change to the file or folder itself, or a new entry in the folder.
    Itself,
    /// Renaming or removing a root-owned entry of the folder, to put something else in its place.
    /// In a sticky folder such as /tmp nobody may do that to what another user owns.
    ReplaceEntry,
}

/// Who but root may make `change` to a file or folder: its owner unless root, its group if it may
/// write and is not root's, everyone if others may write. ACLs aside (see `acl`).
pub fn changers(metadata: &std::fs::Metadata, change: Change) -> Option<String> {
    let mode = metadata.mode();
    if metadata.uid() != 0 {
        return Some(format!("its owner {}", user_name(metadata.uid())));
    }
    if is_sticky_folder(metadata) && change == Change::ReplaceEntry {
        return None;
    }
    if mode & 0o020 != 0 && metadata.gid() != 0 {
        return Some(format!("group {}", group_name(metadata.gid())));
    }
    if mode & 0o002 != 0 {
        return Some("every user".into());
    }
    None
}

fn is_sticky_folder(metadata: &std::fs::Metadata) -> bool {
    metadata.is_dir() && metadata.mode() & 0o1000 != 0
}

/// Who could change a path the worker trusts, and who would then act: the frontend's user first
/// (its compromise is what the split guards against), else anyone but root.
pub fn who_can_change(
    metadata: &std::fs::Metadata,
    account: Option<&Account>,
    change: Change,
) -> Option<(String, String)> {
    let frontend = account.filter(|account| {
        account.owns(metadata)
            || (account.controls(metadata)
                && !(is_sticky_folder(metadata) && change == Change::ReplaceEntry))
    });
    if let Some(account) = frontend {
        return Some((
            format!("user {}", account.name),
            "a compromised frontend".into(),
        ));
    }
    changers(metadata, change).map(|who| (who.clone(), who))
}

/// Whether every user of this machine may read `path`: the others' read bit on it, and their search
/// bit on every folder above it (ACLs aside).
pub fn readable_by_everyone(path: &Path, metadata: &std::fs::Metadata) -> bool {
    metadata.mode() & 0o004 != 0
        && folders_above(path)
            .iter()
            .all(|folder| std::fs::metadata(folder).is_ok_and(|folder| folder.mode() & 0o001 != 0))
}

/// Every folder above `path`, as written and with symbolic links resolved, each once, from `/`
/// down: whoever may change one of them may replace what is below it.
pub fn folders_above(path: &Path) -> Vec<PathBuf> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut folders: Vec<PathBuf> = absolute
        .ancestors()
        .skip(1)
        .map(Path::to_path_buf)
        .collect();
    if let Ok(resolved) = std::fs::canonicalize(path) {
        folders.extend(resolved.ancestors().skip(1).map(Path::to_path_buf));
    }
    let mut seen = BTreeSet::new();
    folders.retain(|folder| seen.insert(folder.clone()));
    folders.sort_by_key(|folder| folder.components().count());
    folders
}

/// Errors for each folder above a trusted path that someone but root may change, each folder once
/// (the config, spool and state usually share `/`, `/etc`, `/var`).
pub fn check_folders_above(
    trusted: &[Trusted<'_>],
    account: Option<&Account>,
    findings: &mut Findings,
) {
    let mut judged = BTreeSet::new();
    for item in trusted {
        for folder in folders_above(item.path) {
            if !judged.insert(folder.clone()) {
                continue;
            }
            let Ok(metadata) = std::fs::metadata(&folder) else {
                continue;
            };
            acl::note(&folder, findings);
            let Some((who, actor)) = who_can_change(&metadata, account, Change::ReplaceEntry)
            else {
                continue;
            };
            findings.error(format!(
                "{}: {who} can change it ({}), so {actor} could replace {} below it ({}), {}; only \
                 root may write to the folders above it",
                folder.display(),
                describe(&metadata),
                item.what,
                item.path.display(),
                item.why
            ));
        }
    }
}

fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |user| user.name)
}

fn group_name(gid: u32) -> String {
    nix::unistd::Group::from_gid(gid.into())
        .ok()
        .flatten()
        .map_or_else(|| format!("gid {gid}"), |group| group.name)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn folders_above_include_where_a_symbolic_link_leads() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir_all(real.join("state")).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        let folders = folders_above(&dir.path().join("link/state"));
        let root = std::fs::canonicalize(dir.path()).unwrap();
        assert!(folders.contains(&root.join("real")), "{folders:?}");
        assert!(folders.contains(&dir.path().join("link")), "{folders:?}");
        assert_eq!(folders[0], Path::new("/"));
        let unique: BTreeSet<_> = folders.iter().collect();
        assert_eq!(unique.len(), folders.len(), "{folders:?}");
    }

    #[test]
    fn a_sticky_folder_writable_by_all_lets_nobody_replace_roots_entries() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("shared");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let sticky = std::fs::metadata(&folder).unwrap();
        if sticky.uid() == 0 {
            assert_eq!(changers(&sticky, Change::ReplaceEntry), None);
            let nobody = Account::for_test(65534, &[65534]);
            assert_eq!(
                who_can_change(&sticky, Some(&nobody), Change::ReplaceEntry),
                None
            );
            assert!(
                who_can_change(&sticky, Some(&nobody), Change::Itself).is_some(),
                "anyone may add an entry"
            );
        }
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
        let open = std::fs::metadata(&folder).unwrap();
        assert!(changers(&open, Change::ReplaceEntry).is_some());
    }
}
