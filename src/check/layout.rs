//! Why this exists: the spool and the state folder are the privilege boundary. Their owners and modes
//! decide what a compromised frontend could do, so check-config compares them with
//! packaging/tmpfiles.d/dyndns.conf from the frontend user's side: it must be able to write `tmp/` and
//! `new/`, and must not be able to change anything the root worker trusts.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use dyndns_config::Config;
use dyndns_queue::{AppliedState, FileSystemFull, Privilege, SpoolDirs};

use super::others::{who_can_change, Change};
use super::{describe, inspect, Access, Account, Findings, TMPFILES_FIX};

/// Owner and mode problems of a folder the worker trusts (spool root, `cur/`, `failed/`, state): the
/// frontend's user must not control it, and nobody else but root either. Returns whether it found
/// one.
fn worker_owned(
    path: &Path,
    metadata: &std::fs::Metadata,
    account: Option<&Account>,
    could: &str,
    packaged: &str,
    findings: &mut Findings,
) -> bool {
    let Some((who, actor)) = who_can_change(metadata, account, Change::Itself) else {
        return false;
    };
    findings.error(format!(
        "{}: {who} can change it ({}), so {actor} could {could}; packaged {packaged}; \
         {TMPFILES_FIX}",
        path.display(),
        describe(metadata)
    ));
    true
}

/// An error when the file system holding `path` takes no new file for `who`.
fn full_file_system(key: &str, path: &Path, who: Privilege, then: &str, findings: &mut Findings) {
    let Some(problem) = dyndns_queue::full_file_system(path, who) else {
        return;
    };
    let fix = match problem {
        FileSystemFull::ReadOnly => "make it writable",
        FileSystemFull::NoSpace | FileSystemFull::NoInodes => "free space on it",
    };
    findings.error(format!(
        "{key} {}: {problem}, so {then}; {fix}",
        path.display()
    ));
}

pub fn check_spool(config: &Config, account: Option<&Account>, findings: &mut Findings) {
    let dirs = SpoolDirs::at(&config.spool_dir);
    let root = dirs.root();
    let Some(root_meta) = inspect(root, findings, |findings| {
        findings.error(format!(
            "spool.dir {}: does not exist; {TMPFILES_FIX}",
            root.display()
        ));
    }) else {
        return;
    };
    if !root_meta.is_dir() {
        findings.error(format!(
            "spool.dir {}: is not a folder; {TMPFILES_FIX}",
            root.display()
        ));
        return;
    }
    if let Some(account) = account {
        if let Some(folder) = account.blocked_at(root) {
            findings.error(format!(
                "spool.dir {}: user {} cannot reach it (it may not enter {}), so `dyndns serve` \
                 cannot spool",
                root.display(),
                account.name,
                folder.display()
            ));
        } else if !account.may(&root_meta, Access::Search) {
            findings.error(format!(
                "{}: user {} cannot enter it ({}), so `dyndns serve` cannot spool; packaged 0750 \
                 root:dyndns; {TMPFILES_FIX}",
                root.display(),
                account.name,
                describe(&root_meta)
            ));
        }
    }
    worker_owned(
        root,
        &root_meta,
        account,
        "rename cur/ or failed/ away or replace worker.lock",
        "0750 root:dyndns",
        findings,
    );
    for dir in [dirs.tmp(), dirs.new()] {
        let Some(metadata) = subfolder(&dir, findings) else {
            continue;
        };
        let Some(account) = account else { continue };
        if !(account.may(&metadata, Access::Write) && account.may(&metadata, Access::Search)) {
            findings.error(format!(
                "{}: user {} cannot create files in it ({}), so `dyndns serve` cannot spool; \
                 packaged 0770 root:dyndns; {TMPFILES_FIX}",
                dir.display(),
                account.name,
                describe(&metadata)
            ));
        }
    }
    if dirs.tmp().is_dir() {
        full_file_system(
            "spool.dir",
            &dirs.tmp(),
            Privilege::Unprivileged,
            "`dyndns serve` cannot spool (and refuses to start)",
            findings,
        );
    }
    let cur = dirs.cur();
    if let Some(metadata) = subfolder(&cur, findings) {
        worker_owned(
            &cur,
            &metadata,
            account,
            "rewrite or remove jobs the worker has claimed",
            "0750 root:dyndns",
            findings,
        );
        if let Some(account) = account {
            if !(account.may(&metadata, Access::Read) && account.may(&metadata, Access::Search)) {
                findings.warning(format!(
                    "{}: user {} cannot read it ({}), so after a restart `nochg` does not know the \
                     changes waiting there; packaged 0750 root:dyndns",
                    cur.display(),
                    account.name,
                    describe(&metadata)
                ));
            }
        }
    }
    let failed = dirs.failed();
    if let Some(metadata) = subfolder(&failed, findings) {
        let changeable = worker_owned(
            &failed,
            &metadata,
            account,
            "remove or forge dead letters",
            "0700 root:root",
            findings,
        );
        if let Some(account) = account.filter(|_| !changeable) {
            if account.may(&metadata, Access::Read) {
                findings.warning(format!(
                    "{}: user {} can read the dead letters ({}); packaged 0700 root:root",
                    failed.display(),
                    account.name,
                    describe(&metadata)
                ));
            }
        }
    }
    check_lock(&dirs.lock_path(), account, findings);
}

/// `worker.lock` is made by the worker (root, 0600). Anyone who can open it can `flock` it, and a
/// held lock stops every worker.
fn check_lock(path: &Path, account: Option<&Account>, findings: &mut Findings) {
    let Some(metadata) = inspect(path, findings, |_| {}) else {
        return;
    };
    let Some(account) = account else { return };
    if account.owns(&metadata)
        || account.may(&metadata, Access::Read)
        || account.may(&metadata, Access::Write)
    {
        findings.error(format!(
            "{}: user {} can open it ({}) and so take the lock, which would stop every worker; \
             the worker makes it root 0600: remove it and restart the worker",
            path.display(),
            account.name,
            describe(&metadata)
        ));
    }
}

/// A spool subfolder that must exist.
fn subfolder(dir: &Path, findings: &mut Findings) -> Option<std::fs::Metadata> {
    let metadata = inspect(dir, findings, |findings| {
        findings.error(format!("{}: does not exist; {TMPFILES_FIX}", dir.display()));
    })?;
    if !metadata.is_dir() {
        findings.error(format!(
            "{}: is not a folder; {TMPFILES_FIX}",
            dir.display()
        ));
        return None;
    }
    Some(metadata)
}

pub fn check_state(config: &Config, account: Option<&Account>, findings: &mut Findings) {
    let dir = &config.worker.state_dir;
    let Some(metadata) = inspect(dir, findings, |findings| {
        findings.error(format!(
            "worker.state_dir {}: does not exist, so the worker cannot record what it applied; \
             {TMPFILES_FIX}",
            dir.display()
        ));
    }) else {
        return;
    };
    if !metadata.is_dir() {
        findings.error(format!(
            "worker.state_dir {}: is not a folder; {TMPFILES_FIX}",
            dir.display()
        ));
        return;
    }
    worker_owned(
        dir,
        &metadata,
        account,
        "forge applied.json and make the worker skip real updates",
        "2750 root:dyndns",
        findings,
    );
    full_file_system(
        "worker.state_dir",
        dir,
        Privilege::Root,
        "the worker cannot save applied.json (applied jobs then wait in cur/)",
        findings,
    );
    if metadata.mode() & 0o2000 == 0 {
        findings.warning(format!(
            "worker.state_dir {}: not set-group-ID ({}), so applied.json belongs to root's group \
             and the frontend may not read it (`nochg` then forgets applied addresses across \
             restarts); packaged 2750 root:dyndns; {TMPFILES_FIX}",
            dir.display(),
            describe(&metadata)
        ));
    }
    let Some(account) = account else { return };
    if !(account.may(&metadata, Access::Read) && account.may(&metadata, Access::Search)) {
        findings.warning(format!(
            "worker.state_dir {}: user {} cannot read it ({}), so `nochg` forgets applied addresses \
             across restarts; packaged 2750 root:dyndns; {TMPFILES_FIX}",
            dir.display(),
            account.name,
            describe(&metadata)
        ));
        return;
    }
    let state_file = AppliedState::path_in(dir);
    let Some(state_meta) = inspect(&state_file, findings, |_| {}) else {
        return;
    };
    if account.controls(&state_meta) {
        findings.error(format!(
            "{}: user {} can change it ({}), so a compromised frontend could make the worker skip \
             real updates; the worker writes it root 0640",
            state_file.display(),
            account.name,
            describe(&state_meta)
        ));
    } else if !account.may(&state_meta, Access::Read) {
        findings.warning(format!(
            "{}: user {} cannot read it ({}), so `nochg` forgets applied addresses across restarts; \
             the worker writes it 0640 in a set-group-ID folder (packaged 2750 root:dyndns)",
            state_file.display(),
            account.name,
            describe(&state_meta)
        ));
    }
}
