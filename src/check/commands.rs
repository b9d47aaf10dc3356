//! Why this exists: the worker runs its backend's commands (Plesk's CLI, a zone reload) by argv with a
//! fixed PATH; a command that is not there fails every change, hours later and in the worker's log.
//! check-config looks each one up the way the worker will.

use std::path::{Path, PathBuf};

use dyndns_config::{find_program, BackendKind, Config, ProgramMissing, SecretSource};

use super::others::{changers, Change};
use super::{acl, describe, Findings};

/// Checks the commands and secret files of every backend a zone uses and returns the programs
/// found, for the check of the folders above them.
pub fn check_backend(config: &Config, findings: &mut Findings) -> Vec<PathBuf> {
    let mut programs = Vec::new();
    let mut used: Vec<BackendKind> = config.zones.iter().map(|zone| zone.backend).collect();
    used.sort_unstable();
    used.dedup();
    let backends = &config.backends;
    for kind in used {
        match kind {
            BackendKind::Plesk => {
                if let Some(plesk) = &backends.plesk {
                    programs.extend(check_program(
                        "backend.plesk.command",
                        &plesk.command,
                        findings,
                    ));
                }
            }
            BackendKind::ZoneFile => {
                if let Some(zonefile) = &backends.zonefile {
                    if let Some(reload) = &zonefile.reload {
                        programs.extend(check_program("backend.zonefile.reload", reload, findings));
                    }
                    check_zone_folders(config, &zonefile.path, findings);
                }
            }
            BackendKind::Command => {
                if let Some(command) = &backends.command {
                    programs.extend(check_program(
                        "backend.command.command",
                        &command.command,
                        findings,
                    ));
                }
            }
            // They run no command; their secrets are checked below, never read.
            BackendKind::PowerDns
            | BackendKind::Rfc2136
            | BackendKind::PleskApi
            | BackendKind::Cloudflare
            | BackendKind::DigitalOcean
            | BackendKind::None => {}
        }
        if let Some((key, SecretSource::File(path))) = secret_of(config, kind) {
            check_secret_file(key, path, findings);
        }
    }
    programs
}

/// The config key and source of a backend's secret, if it has one.
fn secret_of(config: &Config, kind: BackendKind) -> Option<(&'static str, &SecretSource)> {
    let backends = &config.backends;
    match kind {
        BackendKind::Rfc2136 => backends
            .rfc2136
            .as_ref()
            .map(|b| ("backend.rfc2136.tsig_secret_file", &b.tsig_secret)),
        BackendKind::PowerDns => backends
            .powerdns
            .as_ref()
            .map(|b| ("backend.powerdns.api_key_file", &b.api_key)),
        BackendKind::PleskApi => backends
            .plesk_api
            .as_ref()
            .map(|b| ("backend.plesk-api.api_key_file", &b.api_key)),
        BackendKind::Cloudflare => backends
            .cloudflare
            .as_ref()
            .map(|b| ("backend.cloudflare.api_token_file", &b.api_token)),
        BackendKind::DigitalOcean => backends
            .digitalocean
            .as_ref()
            .map(|b| ("backend.digitalocean.api_token_file", &b.api_token)),
        BackendKind::Plesk | BackendKind::ZoneFile | BackendKind::Command | BackendKind::None => {
            None
        }
    }
}

/// The program the worker would run for `argv`, if there is one; an error if not, or if anyone but
/// root could change it.
fn check_program(key: &str, argv: &[String], findings: &mut Findings) -> Option<PathBuf> {
    let program = argv.first()?;
    let found = match find_program(program) {
        Ok(found) => found,
        Err(missing @ ProgramMissing::NotExecutable(_)) => {
            findings.error(format!(
                "{key}: {missing}, so the worker would fail every change"
            ));
            return None;
        }
        Err(missing @ ProgramMissing::NotInPath(_)) => {
            findings.error(format!(
                "{key}: {missing}, so the worker would fail every change; install it or give its \
                 full path"
            ));
            return None;
        }
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

/// A backend's secret lets its holder change the zone: the worker needs it at start, and no one
/// but its owner should read it. Only its metadata is looked at, so check-config never holds the
/// secret.
fn check_secret_file(key: &str, path: &Path, findings: &mut Findings) {
    use std::os::unix::fs::MetadataExt;
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
            "{key}: {} is {}: others may read the secret and change the zone; make it 0600 \
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
    fn a_missing_program_is_named_with_its_key() {
        let mut findings = Findings::default();
        check_program("k", &["/nonexistent/plesk".into()], &mut findings);
        check_program("k", &["no-such-program-dyndns".into()], &mut findings);
        check_program("k", &["sh".into()], &mut findings);
        let texts: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(
            texts[0].contains("k: `/nonexistent/plesk` is not an executable file"),
            "{texts:?}"
        );
        assert!(
            texts[1].contains("k: `no-such-program-dyndns` is not found in the worker's PATH"),
            "{texts:?}"
        );
    }
}
