//! Why this exists: a config can parse and still not work on this machine: a spool that is missing,
//! owners and modes that break the privilege split, a backend command that is not there, secrets
//! readable by everyone. `dyndns check-config` finds these before the first router does: errors
//! (it cannot work, or the split is broken: exit 1) and warnings (doubtful; `--strict` fails them).

mod account;
mod acl;
mod commands;
mod files;
mod layout;
mod notifier;
mod others;
mod users;

use std::fmt;
use std::path::Path;

use dyndns_config::Config;

pub use account::{Access, Account};
use others::Trusted;

/// What fixes a missing or mis-owned spool or state folder.
const TMPFILES_FIX: &str = "fix: run `systemd-tmpfiles --create dyndns.conf` as root (owners and \
                            modes: packaging/tmpfiles.d/dyndns.conf)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// It cannot work, or the privilege split is broken.
    Error,
    /// It works, but probably not as meant, or less safely than packaged.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub text: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}", self.text)
    }
}

#[derive(Debug, Default)]
pub struct Findings(Vec<Finding>);

impl Findings {
    fn error(&mut self, text: impl Into<String>) {
        self.0.push(Finding {
            severity: Severity::Error,
            text: text.into(),
        });
    }

    fn warning(&mut self, text: impl Into<String>) {
        self.0.push(Finding {
            severity: Severity::Warning,
            text: text.into(),
        });
    }

    pub fn iter(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.0
            .iter()
            .filter(|finding| finding.severity == severity)
            .count()
    }
}

/// Checks the installation `config` describes, judging owners and modes from the side of the
/// frontend's user `frontend_user` (packaged: `dyndns`) and, with `[[notify]]` tables, of the
/// notifier's user `notifier_user` (packaged: `dyndns-notify`).
pub fn check_installation(config: &Config, frontend_user: &str, notifier_user: &str) -> Findings {
    let mut findings = Findings::default();
    let account = match Account::lookup(frontend_user) {
        Ok(account) if account.is_root() => {
            findings.error(format!(
                "--user {frontend_user}: the frontend must not run as root (`dyndns serve` refuses \
                 to); packaged: user dyndns (packaging/sysusers.d/dyndns.conf)"
            ));
            None
        }
        Ok(account) => Some(account),
        Err(err) => {
            findings.warning(format!(
                "{err}: the owner and mode checks for the frontend were skipped; name the user \
                 `dyndns serve` runs as with --user NAME (packaged: dyndns, from \
                 packaging/sysusers.d/dyndns.conf)"
            ));
            None
        }
    };
    let account = account.as_ref();
    layout::check_spool(config, account, &mut findings);
    layout::check_state(config, account, &mut findings);
    files::check_config_file(config, account, &mut findings);
    files::check_listen(config, account, &mut findings);
    let programs = commands::check_backend(config, &mut findings);
    users::check_users(config, &mut findings);
    notifier::check_notifier(config, account, notifier_user, &mut findings);
    others::check_folders_above(&trusted_paths(config, &programs), account, &mut findings);
    findings
}

/// What the root worker trusts, so that no one but root may replace it through a folder above it.
fn trusted_paths<'a>(config: &'a Config, programs: &'a [std::path::PathBuf]) -> Vec<Trusted<'a>> {
    let mut trusted = vec![Trusted {
        path: &config.source,
        what: "the config",
        why: "which the root worker reads and whose commands it runs",
    }];
    trusted.extend(config.password_hash_files.iter().map(|file| Trusted {
        path: file,
        what: "a password hash file",
        why: "which decides who may change DNS",
    }));
    trusted.push(Trusted {
        path: &config.spool_dir,
        what: "the spool",
        why: "from which the root worker takes jobs",
    });
    trusted.push(Trusted {
        path: &config.worker.state_dir,
        what: "the worker's state",
        why: "which tells the root worker what it already applied",
    });
    trusted.extend(programs.iter().map(|program| Trusted {
        path: program,
        what: "a backend program",
        why: "which the root worker runs",
    }));
    trusted
}

/// The metadata of `path`, or `None` after recording why not: a missing path is `missing`'s
/// finding; a path this process may not inspect is a warning (run as root for the full check).
fn inspect(
    path: &Path,
    findings: &mut Findings,
    missing: impl FnOnce(&mut Findings),
) -> Option<std::fs::Metadata> {
    match std::fs::metadata(path) {
        Ok(metadata) => {
            acl::note(path, findings);
            Some(metadata)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            missing(findings);
            None
        }
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            findings.warning(format!(
                "{}: cannot inspect it ({err}); run check-config as root for the full check",
                path.display()
            ));
            None
        }
        Err(err) => {
            findings.error(format!("{}: cannot inspect it: {err}", path.display()));
            None
        }
    }
}

/// `0750 root:dyndns`, as `ls -l` people read it.
fn describe(metadata: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    let user = nix::unistd::User::from_uid(metadata.uid().into())
        .ok()
        .flatten()
        .map_or_else(|| metadata.uid().to_string(), |user| user.name);
    let group = nix::unistd::Group::from_gid(metadata.gid().into())
        .ok()
        .flatten()
        .map_or_else(|| metadata.gid().to_string(), |group| group.name);
    format!("{:04o} {user}:{group}", metadata.mode() & 0o7777)
}
