//! Why this exists: turns `[worker] backend` and its `[backend.*]` table into the backend object the
//! worker loop is given, so a backend's settings are checked once, at start.

use std::sync::Arc;

use dyndns_config::{BackendKind, Config};

use super::rfc2136::{Algorithm, Rfc2136, Rfc2136Options, Rfc2136SetupError};
use super::{Backend, Plesk, PowerDns, PowerDnsError, ZoneFile, ZoneFileError, ZoneFileOptions};

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("[worker] backend = \"{0}\" but the config has no [backend.{0}] table")]
    Missing(&'static str),
    #[error(transparent)]
    ZoneFile(ZoneFileError),
    #[error(transparent)]
    PowerDns(PowerDnsError),
    #[error("[backend.rfc2136] tsig_algorithm {0:?}: expected hmac-sha256 or hmac-sha512")]
    Rfc2136Algorithm(String),
    #[error(transparent)]
    Rfc2136(#[from] Rfc2136SetupError),
}

pub fn from_config(config: &Config) -> Result<Arc<dyn Backend>, SelectError> {
    let kind = config.worker.backend;
    let missing = || SelectError::Missing(kind.as_str());
    match kind {
        BackendKind::Plesk => {
            let plesk = config.backends.plesk.as_ref().ok_or_else(missing)?;
            Ok(Arc::new(Plesk::new(plesk.command.clone(), plesk.timeout)))
        }
        BackendKind::ZoneFile => {
            let zonefile = config.backends.zonefile.as_ref().ok_or_else(missing)?;
            // The file's $TTL only matters for records dyndns does not write; use the shortest zone TTL.
            let default_ttl = config.zones.iter().map(|zone| zone.ttl).min().unwrap_or(60);
            let backend = ZoneFile::new(ZoneFileOptions {
                path_template: zonefile.path.clone(),
                reload: zonefile.reload.clone(),
                reload_timeout: zonefile.reload_timeout,
                nameserver: zonefile.nameserver.clone(),
                hostmaster: zonefile.hostmaster.clone(),
                default_ttl,
            })
            .map_err(SelectError::ZoneFile)?;
            Ok(Arc::new(backend))
        }
        BackendKind::Rfc2136 => {
            let rfc2136 = config.backends.rfc2136.as_ref().ok_or_else(missing)?;
            let algorithm = Algorithm::parse(&rfc2136.tsig_algorithm)
                .ok_or_else(|| SelectError::Rfc2136Algorithm(rfc2136.tsig_algorithm.clone()))?;
            Ok(Arc::new(Rfc2136::new(Rfc2136Options {
                server: rfc2136.server.clone(),
                key_name: rfc2136.tsig_key_name.clone(),
                algorithm,
                secret_file: rfc2136.tsig_secret_file.clone(),
                timeout: rfc2136.timeout,
            })?))
        }
        BackendKind::PowerDns => {
            let powerdns = config.backends.powerdns.as_ref().ok_or_else(missing)?;
            let backend = PowerDns::new(
                &powerdns.api_url,
                &powerdns.server_id,
                &powerdns.api_key_file,
                powerdns.timeout,
            )
            .map_err(SelectError::PowerDns)?;
            Ok(Arc::new(backend))
        }
    }
}
