//! Why this exists: turns `[worker] backend` and its `[backend.*]` table into the backend object the
//! worker loop is given, so a backend's settings are checked once, at start.

use std::sync::Arc;

use dyndns_config::{BackendKind, Config};

use super::{Backend, Plesk, PowerDns, PowerDnsError, ZoneFile, ZoneFileError, ZoneFileOptions};

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("[worker] backend = \"{0}\" but the config has no [backend.{0}] table")]
    Missing(&'static str),
    #[error(transparent)]
    ZoneFile(ZoneFileError),
    #[error(transparent)]
    PowerDns(PowerDnsError),
}

pub fn from_config(config: &Config) -> Result<Arc<dyn Backend>, SelectError> {
    let kind = config.worker.backend;
    match kind {
        BackendKind::Plesk => {
            let plesk = config
                .backends
                .plesk
                .as_ref()
                .ok_or(SelectError::Missing(kind.as_str()))?;
            Ok(Arc::new(Plesk::new(plesk.command.clone(), plesk.timeout)))
        }
        BackendKind::ZoneFile => {
            let zonefile = config
                .backends
                .zonefile
                .as_ref()
                .ok_or(SelectError::Missing(kind.as_str()))?;
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
        BackendKind::PowerDns => {
            let powerdns = config
                .backends
                .powerdns
                .as_ref()
                .ok_or(SelectError::Missing(kind.as_str()))?;
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
