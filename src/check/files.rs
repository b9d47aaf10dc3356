//! Why this exists: the config and the password hash files are read by the frontend's user and hold
//! secrets; the listener needs a folder or port that user can use. check-config says when either is
//! out of that user's reach, or within everyone's.

use std::path::Path;

use dyndns_config::{Config, Listen};

use super::others::{readable_by_everyone, who_can_change, Change};
use super::{describe, inspect, Access, Account, Findings, TMPFILES_FIX};

const CONFIG_MODES: &str =
    "packaged 0640 root:dyndns in /etc/dyndns (0750 root:dyndns): `chown root:dyndns` and `chmod 0640`";

pub fn check_config_file(config: &Config, account: Option<&Account>, findings: &mut Findings) {
    let path = &config.source;
    if let Some(metadata) = inspect(path, findings, |_| {}) {
        if config.holds_password_hashes() && readable_by_everyone(path, &metadata) {
            findings.warning(format!(
                "{}: every user of this machine can read it ({}, in folders all may enter) and the \
                 password hashes in it; {CONFIG_MODES}",
                path.display(),
                describe(&metadata)
            ));
        }
        if let Some(account) = account {
            readable(
                account,
                path,
                &metadata,
                "`dyndns serve` cannot start",
                findings,
            );
        }
        if let Some((who, actor)) = who_can_change(&metadata, account, Change::Itself) {
            findings.error(format!(
                "{}: {who} can change it ({}), so {actor} could add users and hosts the root \
                 worker then applies, and choose the commands it runs; {CONFIG_MODES}",
                path.display(),
                describe(&metadata)
            ));
        }
    }
    for file in &config.password_hash_files {
        let Some(metadata) = inspect(file, findings, |_| {}) else {
            continue;
        };
        if readable_by_everyone(file, &metadata) {
            findings.warning(format!(
                "{}: every user of this machine can read this password hash ({}, in folders all \
                 may enter); make it 0640 root:dyndns",
                file.display(),
                describe(&metadata)
            ));
        }
        if let Some((who, _)) = who_can_change(&metadata, account, Change::Itself) {
            findings.error(format!(
                "{}: {who} can change this password hash ({}), and so log in as its user; make \
                 it 0640 root:dyndns",
                file.display(),
                describe(&metadata)
            ));
        }
        if let Some(account) = account {
            readable(
                account,
                file,
                &metadata,
                "`dyndns serve` cannot start",
                findings,
            );
        }
    }
}

/// An error unless `account` can read `path`, naming the folder or file in the way.
fn readable(
    account: &Account,
    path: &Path,
    metadata: &std::fs::Metadata,
    otherwise: &str,
    findings: &mut Findings,
) {
    if let Some(folder) = account.blocked_at(path) {
        findings.error(format!(
            "{}: user {} cannot reach it (it may not enter {}), so {otherwise}",
            path.display(),
            account.name,
            folder.display()
        ));
    } else if !account.may(metadata, Access::Read) {
        findings.error(format!(
            "{}: user {} cannot read it ({}), so {otherwise}; {CONFIG_MODES}",
            path.display(),
            account.name,
            describe(metadata)
        ));
    }
}

pub fn check_listen(config: &Config, account: Option<&Account>, findings: &mut Findings) {
    match &config.frontend.listen {
        Listen::Tcp(address) => {
            if address.port() < 1024 && account.is_some() {
                findings.error(format!(
                    "frontend.listen = \"{address}\": port {} needs privileges the frontend does not \
                     have; listen on a port above 1023 behind the web server (packaged \
                     127.0.0.1:8245)",
                    address.port()
                ));
            }
        }
        Listen::Unix(socket) => {
            let folder = socket.parent().unwrap_or(Path::new("/"));
            let key = format!("frontend.listen = \"unix:{}\"", socket.display());
            let Some(metadata) = inspect(folder, findings, |findings| {
                findings.error(format!(
                    "{key}: the folder {} does not exist; {TMPFILES_FIX}",
                    folder.display()
                ));
            }) else {
                return;
            };
            let Some(account) = account else { return };
            if !(account.may(&metadata, Access::Write) && account.may(&metadata, Access::Search)) {
                findings.error(format!(
                    "{key}: user {} cannot create the socket in {} ({}); packaged /run/dyndns 0750 \
                     dyndns:dyndns-http; {TMPFILES_FIX}",
                    account.name,
                    folder.display(),
                    describe(&metadata)
                ));
            }
        }
    }
}
