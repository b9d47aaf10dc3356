//! Why this exists: with `[[notify]]` tables the installation has a third process, `dyndns-notify`,
//! running as its own user. It must read its token files, write its state folder and follow
//! `history.jsonl` through the state folder's group, and its sendmail must be there: otherwise
//! nobody hears of a change, and nothing says so until someone wonders. check-config judges these
//! from that user's side, as it does the frontend's.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use dyndns_config::notify::SendTo;
use dyndns_config::{find_program, Config, KeyPlaces, ProgramMissing};
use dyndns_queue::HISTORY_FILE_NAME;

use super::others::readable_by_everyone;
use super::{describe, inspect, Access, Account, Findings, TMPFILES_FIX};

/// The user and groups packaging gives the notifier.
const PACKAGED_USER: &str = "packaged: user dyndns-notify in group dyndns \
                             (packaging/sysusers.d/dyndns.conf)";
const TOKEN_MODES: &str = "make it 0640 root:dyndns-notify (or 0600 dyndns-notify)";

/// Checks what `dyndns-notify`, running as `notifier_user`, needs, and that the frontend (running
/// as `frontend`) cannot read its tokens; nothing without `[[notify]]`.
pub fn check_notifier(
    config: &Config,
    frontend: Option<&Account>,
    notifier_user: &str,
    findings: &mut Findings,
) {
    if config.notify.targets.is_empty() {
        return;
    }
    let account = match Account::lookup(notifier_user) {
        Ok(account) if account.is_root() => {
            findings.error(format!(
                "--notifier-user {notifier_user}: the notifier must not run as root (it makes \
                 outbound connections and runs the mailer); {PACKAGED_USER}"
            ));
            None
        }
        Ok(account) => Some(account),
        Err(err) => {
            findings.warning(format!(
                "[[notify]] is configured but {err}, so what the notifier may read and write (its \
                 token files, state folder and the history) was not judged; create it (`systemd-sysusers dyndns.conf`, \
                 {PACKAGED_USER}) or name the user `dyndns-notify` runs as with \
                 --notifier-user NAME"
            ));
            None
        }
    };
    // A frontend run as the notifier's own user reads the tokens anyway: nothing to warn about.
    let frontend = frontend.filter(|frontend| {
        account
            .as_ref()
            .is_none_or(|notifier| notifier.uid != frontend.uid)
    });
    // Findings name where the key is written, as a config error would.
    let places = KeyPlaces::read(config);
    for (index, target) in config.notify.targets.iter().enumerate() {
        match &target.send_to {
            SendTo::Http {
                token_file: Some(path),
                ..
            } => check_token_file(
                &places.place(&format!("notify[{index}].token_file")),
                path,
                account.as_ref(),
                frontend,
                findings,
            ),
            SendTo::Http { .. } => {}
            SendTo::Sendmail { command, .. } => check_sendmail(
                &places.place(&format!("notify[{index}].command")),
                command,
                account.as_ref(),
                findings,
            ),
        }
    }
    if let Some(account) = &account {
        check_state_dir(
            &places.place("notifier.state_dir"),
            &config.notify.state_dir,
            account,
            findings,
        );
        check_history(
            &places.place("worker.state_dir"),
            &config.worker.state_dir,
            account,
            findings,
        );
    }
}

/// A token file: read by the notifier at start (a missing or unreadable one stops it), and a secret
/// no one else should read or change, the internet-facing frontend least of all. Only its
/// metadata is looked at.
fn check_token_file(
    key: &str,
    path: &Path,
    account: Option<&Account>,
    frontend: Option<&Account>,
    findings: &mut Findings,
) {
    let Some(metadata) = inspect(path, findings, |findings| {
        findings.error(format!(
            "{key}: {} does not exist, so dyndns-notify would not start; put the token on its \
             first line and {TOKEN_MODES}",
            path.display()
        ));
    }) else {
        return;
    };
    if !metadata.is_file() {
        findings.error(format!(
            "{key}: {} is not a file, so dyndns-notify would not start",
            path.display()
        ));
        return;
    }
    if metadata.len() == 0 {
        findings.error(format!(
            "{key}: {} is empty, so dyndns-notify would not start; put the token on its first line",
            path.display()
        ));
    }
    if let Some(account) = account {
        if let Some(folder) = account.blocked_at(path) {
            findings.error(format!(
                "{key}: user {} cannot reach {} (it may not enter {}), so dyndns-notify would not \
                 start",
                account.name,
                path.display(),
                folder.display()
            ));
        } else if !account.may(&metadata, Access::Read) {
            findings.error(format!(
                "{key}: user {} cannot read {} ({}), so dyndns-notify would not start; \
                 {TOKEN_MODES}",
                account.name,
                path.display(),
                describe(&metadata)
            ));
        }
    }
    if readable_by_everyone(path, &metadata) {
        findings.warning(format!(
            "{key}: every user of this machine can read the token in {} ({}, in folders all may \
             enter); {TOKEN_MODES}",
            path.display(),
            describe(&metadata)
        ));
    } else if let Some(frontend) = frontend.filter(|frontend| {
        frontend.blocked_at(path).is_none() && frontend.may(&metadata, Access::Read)
    }) {
        findings.warning(format!(
            "{key}: user {} (the frontend's) can read the token in {} ({}), so a compromised \
             frontend could send as the notifier; {TOKEN_MODES} (the frontend is not in group \
             dyndns-notify)",
            frontend.name,
            path.display(),
            describe(&metadata)
        ));
    }
    if metadata.mode() & 0o022 != 0 {
        findings.warning(format!(
            "{key}: {} is writable by its group or everyone ({}), who could swap the token; \
             {TOKEN_MODES}",
            path.display(),
            describe(&metadata)
        ));
    }
}

/// A sendmail argv's program: found as the notifier finds it (a path, or a bare name in the system
/// folders) and executable by the notifier's user.
fn check_sendmail(key: &str, argv: &[String], account: Option<&Account>, findings: &mut Findings) {
    let Some(program) = argv.first() else { return };
    let found = match find_program(program) {
        Ok(found) => found,
        Err(ProgramMissing::NotExecutable(_)) => {
            findings.error(format!(
                "{key}: `{program}` is not an executable file, so no e-mail would be sent; install \
                 a mailer (exim4, postfix, msmtp-mta) or give its full path"
            ));
            return;
        }
        Err(ProgramMissing::NotInPath(_)) => {
            findings.error(format!(
                "{key}: `{program}` is not found in the notifier's PATH ({}), so no e-mail would \
                 be sent; install it or give its full path",
                dyndns_config::WORKER_COMMAND_PATH
            ));
            return;
        }
    };
    let Some(account) = account else { return };
    let Ok(metadata) = std::fs::metadata(&found) else {
        return;
    };
    let blocked = account.blocked_at(&found);
    if blocked.is_some() || !account.may(&metadata, Access::Search) {
        findings.error(format!(
            "{key}: user {} cannot run {} ({}), so no e-mail would be sent",
            account.name,
            found.display(),
            blocked.map_or_else(
                || describe(&metadata),
                |folder| format!("it may not enter {}", folder.display())
            )
        ));
    }
}

/// `[notifier] state_dir`: made by packaging (tmpfiles), never by the notifier, and written by it
/// at every delivery (the cursor and what is owed).
fn check_state_dir(key: &str, dir: &Path, account: &Account, findings: &mut Findings) {
    let Some(metadata) = inspect(dir, findings, |findings| {
        findings.error(format!(
            "{key}: {}: does not exist, so dyndns-notify cannot save its cursor (a \
             restart would resend or drop notifications); packaged 0700 \
             dyndns-notify:dyndns-notify; {TMPFILES_FIX}",
            dir.display()
        ));
    }) else {
        return;
    };
    if !metadata.is_dir() {
        findings.error(format!(
            "{key}: {}: is not a folder; {TMPFILES_FIX}",
            dir.display()
        ));
        return;
    }
    let blocked = account.blocked_at(dir);
    if blocked.is_some()
        || !(account.may(&metadata, Access::Write) && account.may(&metadata, Access::Search))
    {
        findings.error(format!(
            "{key}: {}: user {} cannot write in it ({}), so dyndns-notify cannot save \
             its cursor (a restart would resend or drop notifications); packaged 0700 \
             dyndns-notify:dyndns-notify; {TMPFILES_FIX}",
            dir.display(),
            account.name,
            blocked.map_or_else(
                || describe(&metadata),
                |folder| format!("it may not enter {}", folder.display())
            )
        ));
        return;
    }
    check_state_files(key, dir, account, findings);
}

/// The files the notifier keeps in its folder, as it opens them at start: a `dyndns-notify` run as
/// root by hand leaves them root's 0600, and the service then cannot start.
fn check_state_files(key: &str, dir: &Path, account: &Account, findings: &mut Findings) {
    let files: [(&str, &str, &[Access]); 2] = [
        ("notify-state.json", "read", &[Access::Read]),
        (
            "notify.lock",
            "read and write",
            &[Access::Read, Access::Write],
        ),
    ];
    for (name, needs, accesses) in files {
        let path = dir.join(name);
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !metadata.is_file() {
            findings.error(format!(
                "{key}: {}: is not a regular file (a symlink is never followed), so dyndns-notify \
                 would not start; move it aside",
                path.display()
            ));
        } else if !accesses
            .iter()
            .all(|access| account.may(&metadata, *access))
        {
            findings.error(format!(
                "{key}: {}: user {} cannot {needs} it ({}), so dyndns-notify would not start; \
                 chown {}: {} (was dyndns-notify run as another user?)",
                path.display(),
                account.name,
                describe(&metadata),
                account.name,
                path.display()
            ));
        }
    }
}

/// The worker's state folder, which the notifier reads `history.jsonl` from as a member of its
/// group. A missing folder is `check_state`'s finding.
fn check_history(key: &str, dir: &Path, account: &Account, findings: &mut Findings) {
    let Ok(metadata) = std::fs::metadata(dir) else {
        return;
    };
    let blocked = account.blocked_at(dir);
    if blocked.is_some()
        || !(account.may(&metadata, Access::Read) && account.may(&metadata, Access::Search))
    {
        findings.error(format!(
            "{key}: {}: user {} cannot read it ({}), so dyndns-notify cannot follow \
             {HISTORY_FILE_NAME} and sends nothing; packaged 2750 root:dyndns, {PACKAGED_USER}",
            dir.display(),
            account.name,
            blocked.map_or_else(
                || describe(&metadata),
                |folder| format!("it may not enter {}", folder.display())
            )
        ));
        return;
    }
    let history = dir.join(HISTORY_FILE_NAME);
    let Ok(file) = std::fs::metadata(&history) else {
        return;
    };
    if !account.may(&file, Access::Read) {
        findings.error(format!(
            "{}: user {} cannot read it ({}), so dyndns-notify sends nothing; the worker writes \
             it 0640 in a set-group-ID folder (packaged 2750 root:dyndns)",
            history.display(),
            account.name,
            describe(&file)
        ));
    }
}
