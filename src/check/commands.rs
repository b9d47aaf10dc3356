//! Why this exists: the worker runs its backend's commands (Plesk's CLI, a zone reload) by argv with a
//! fixed PATH; a command that is not there fails every change, hours later and in the worker's log.
//! check-config looks each one up the way the worker will.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use dyndns_config::{BackendKind, Config, WORKER_COMMAND_PATH};

use super::others::{changers, Change};
use super::{acl, describe, Findings};

/// Checks the backend's commands and returns the programs found, for the check of the folders above
/// them.
pub fn check_backend(config: &Config, findings: &mut Findings) -> Vec<PathBuf> {
    let mut programs = Vec::new();
    match config.worker.backend {
        BackendKind::Plesk => {
            if let Some(plesk) = &config.backends.plesk {
                programs.extend(check_program(
                    "backend.plesk.command",
                    &plesk.command,
                    findings,
                ));
            }
        }
        BackendKind::ZoneFile => {
            if let Some(zonefile) = &config.backends.zonefile {
                if let Some(reload) = &zonefile.reload {
                    programs.extend(check_program("backend.zonefile.reload", reload, findings));
                }
                check_zone_folders(config, &zonefile.path, findings);
            }
        }
        // An HTTP API: no command to look up (its key file is root's, read by the worker at start).
        BackendKind::PowerDns => {}
        // Runs no command: it talks DNS to its server. Its key file is checked, never read.
        BackendKind::Rfc2136 => {
            if let Some(rfc2136) = &config.backends.rfc2136 {
                check_secret_file(&rfc2136.tsig_secret_file, findings);
            }
        }
    }
    programs
}

/// The program the worker would run for `argv`, if there is one; an error if not, or if anyone but
/// root could change it.
fn check_program(key: &str, argv: &[String], findings: &mut Findings) -> Option<PathBuf> {
    let program = argv.first()?;
    let found = if program.contains('/') {
        let path = PathBuf::from(program);
        if !is_executable(&path) {
            findings.error(format!(
                "{key}: `{program}` is not an executable file, so the worker would fail every change"
            ));
            return None;
        }
        path
    } else {
        let Some(path) = find_in_path(program) else {
            findings.error(format!(
                "{key}: `{program}` is not found in the worker's PATH ({WORKER_COMMAND_PATH}), so \
                 the worker would fail every change; install it or give its full path"
            ));
            return None;
        };
        path
    };
    if let Ok(metadata) = std::fs::metadata(&found) {
        acl::note(&found, findings);
        if let Some(who) = changers(&metadata, Change::Itself) {
            findings.error(format!(
                "{key}: {}: {who} can change it ({}), and the root worker runs it; only root may \
                 write a program root runs",
                found.display(),
                describe(&metadata)
            ));
        }
    }
    Some(found)
}

/// The worker's lookup of a bare program name.
fn find_in_path(program: &str) -> Option<PathBuf> {
    WORKER_COMMAND_PATH
        .split(':')
        .map(|folder| Path::new(folder).join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// The zone-file backend writes `<folder>/<zone>.zone` atomically beside the file: the folder must
/// exist (the DNS server's, e.g. /var/lib/bind; dyndns makes none).
fn check_zone_folders(config: &Config, template: &Path, findings: &mut Findings) {
    let mut zones: Vec<&str> = config
        .zones
        .iter()
        .map(|zone| zone.backend_zone.as_str())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    for zone in zones {
        let file = PathBuf::from(template.to_string_lossy().replace("{zone}", zone));
        let Some(folder) = file.parent() else {
            continue;
        };
        if !folder.is_dir() {
            findings.error(format!(
                "backend.zonefile.path: the folder {} of {} does not exist; the worker writes the \
                 zone file there but makes no folders (put it where the DNS server reads its zones)",
                folder.display(),
                file.display()
            ));
        }
    }
}

/// The TSIG secret lets its holder change the zone: the worker needs it at start, and no one but
/// its owner should read it. Only its metadata is looked at, so check-config never holds the secret.
fn check_secret_file(path: &Path, findings: &mut Findings) {
    use std::os::unix::fs::MetadataExt;
    let key = "backend.rfc2136.tsig_secret_file";
    let Some(metadata) = super::inspect(path, findings, |findings| {
        findings.error(format!(
            "{key}: {} does not exist, so the worker would not start",
            path.display()
        ));
    }) else {
        return;
    };
    if !metadata.is_file() {
        findings.error(format!("{key}: {} is not a file", path.display()));
    } else if metadata.mode() & 0o077 != 0 {
        findings.error(format!(
            "{key}: {} is {}: others may read the TSIG secret and change the zone; make it 0600 \
             (or 0400) owned by root",
            path.display(),
            super::describe(&metadata)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_looked_up_in_the_workers_path() {
        assert!(find_in_path("sh").is_some());
        assert!(find_in_path("no-such-program-dyndns").is_none());
        let mut findings = Findings::default();
        check_program("k", &["/nonexistent/plesk".into()], &mut findings);
        check_program("k", &["no-such-program-dyndns".into()], &mut findings);
        check_program("k", &["sh".into()], &mut findings);
        let texts: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].contains("not an executable file"), "{texts:?}");
        assert!(
            texts[1].contains("not found in the worker's PATH"),
            "{texts:?}"
        );
    }
}
