//! Why this exists: turns the backends the zones use (`[[zone]] backend`, else `[worker] backend`)
//! and their `[backend.*]` tables into the backend objects the worker loop is given, so a backend's
//! settings are checked once, at start.

use std::collections::BTreeMap;
use std::sync::Arc;

use dyndns_config::command_template::TemplateError;
use dyndns_config::{BackendKind, Config, Zone};

use super::rfc2136::{Algorithm, Rfc2136, Rfc2136Options, Rfc2136SetupError};
use super::{
    Backend, CaFileError, Cloudflare, CommandBackend, DigitalOcean, NoneBackend, Plesk, PleskApi,
    PleskApiOptions, PowerDns, ZoneFile, ZoneFileError, ZoneFileOptions,
};
use crate::secret::{Secret, SecretError};

/// The backend of each kind the zones use, built once.
#[derive(Clone)]
pub struct Backends {
    by_kind: BTreeMap<BackendKind, Arc<dyn Backend>>,
    /// Set by [`Backends::only`]: this backend serves every zone.
    only: Option<Arc<dyn Backend>>,
}

impl Backends {
    /// The backend of each kind the zones name (tests hand in fakes per kind).
    pub fn new(by_kind: BTreeMap<BackendKind, Arc<dyn Backend>>) -> Backends {
        Backends {
            by_kind,
            only: None,
        }
    }

    /// One backend for every zone, whatever the config names (a test's fake, say).
    pub fn only(backend: Arc<dyn Backend>) -> Backends {
        Backends {
            by_kind: BTreeMap::new(),
            only: Some(backend),
        }
    }

    /// The backend that applies `zone`'s changes.
    pub fn for_zone(&self, zone: &Zone) -> Option<&Arc<dyn Backend>> {
        self.only
            .as_ref()
            .or_else(|| self.by_kind.get(&zone.backend))
    }

    /// Backend round trips so far, summed over every backend ([`Backend::round_trips`]).
    pub fn round_trips(&self) -> u64 {
        self.only
            .iter()
            .chain(self.by_kind.values())
            .map(|backend| backend.round_trips())
            .sum()
    }

    /// The backends' names, for the start-up log line.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self
            .only
            .iter()
            .chain(self.by_kind.values())
            .map(|backend| backend.name())
            .collect();
        names.join(",")
    }
}

impl From<Arc<dyn Backend>> for Backends {
    fn from(backend: Arc<dyn Backend>) -> Backends {
        Backends::only(backend)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("backend \"{0}\" is used but the config has no [backend.{0}] table")]
    Missing(&'static str),
    #[error(transparent)]
    ZoneFile(ZoneFileError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("[[zone]] {zone}: create_missing = false needs a backend that can read what it holds, and \"{backend}\" cannot")]
    CannotRefuseNewNames { zone: String, backend: &'static str },
    #[error("[backend.rfc2136] tsig_algorithm {0:?}: expected hmac-sha256 or hmac-sha512")]
    Rfc2136Algorithm(String),
    #[error(transparent)]
    Rfc2136(#[from] Rfc2136SetupError),
    #[error("[backend.command] command: {0}")]
    Command(TemplateError),
    #[error(transparent)]
    PleskApi(#[from] CaFileError),
}

/// Builds the backend of every kind a zone uses.
pub fn from_config(config: &Config) -> Result<Backends, SelectError> {
    let mut by_kind = BTreeMap::new();
    for zone in &config.zones {
        if let std::collections::btree_map::Entry::Vacant(slot) = by_kind.entry(zone.backend) {
            slot.insert(build(config, zone.backend)?);
        }
        // A backend that cannot read cannot tell a new name from an existing one.
        if !zone.create_missing && !by_kind[&zone.backend].reads() {
            return Err(SelectError::CannotRefuseNewNames {
                zone: zone.name.clone(),
                backend: zone.backend.as_str(),
            });
        }
    }
    Ok(Backends {
        by_kind,
        only: None,
    })
}

/// The backend of one kind, from its `[backend.*]` table.
pub fn build(config: &Config, kind: BackendKind) -> Result<Arc<dyn Backend>, SelectError> {
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
                secret: Secret::load(&rfc2136.tsig_secret, "[backend.rfc2136] tsig_secret_file")?,
                timeout: rfc2136.timeout,
            })?))
        }
        BackendKind::PowerDns => {
            let powerdns = config.backends.powerdns.as_ref().ok_or_else(missing)?;
            let api_key = Secret::load_token(&powerdns.api_key, "[backend.powerdns] api_key_file")?;
            Ok(Arc::new(PowerDns::new(
                &powerdns.api_url,
                &powerdns.server_id,
                api_key,
                powerdns.timeout,
            )))
        }
        BackendKind::PleskApi => {
            let plesk_api = config.backends.plesk_api.as_ref().ok_or_else(missing)?;
            Ok(Arc::new(PleskApi::new(PleskApiOptions {
                api_url: plesk_api.api_url.clone(),
                api_key: Secret::load_token(
                    &plesk_api.api_key,
                    "[backend.plesk-api] api_key_file",
                )?,
                tls_ca_file: plesk_api.tls_ca_file.clone(),
                timeout: plesk_api.timeout,
            })?))
        }
        BackendKind::Cloudflare => {
            let cloudflare = config.backends.cloudflare.as_ref().ok_or_else(missing)?;
            let token =
                Secret::load_token(&cloudflare.api_token, "[backend.cloudflare] api_token_file")?;
            Ok(Arc::new(Cloudflare::new(
                &cloudflare.api_url,
                token,
                cloudflare.proxied,
                cloudflare.timeout,
            )))
        }
        BackendKind::DigitalOcean => {
            let digitalocean = config.backends.digitalocean.as_ref().ok_or_else(missing)?;
            let token = Secret::load_token(
                &digitalocean.api_token,
                "[backend.digitalocean] api_token_file",
            )?;
            Ok(Arc::new(DigitalOcean::new(
                &digitalocean.api_url,
                token,
                digitalocean.timeout,
            )))
        }
        BackendKind::Command => {
            let command = config.backends.command.as_ref().ok_or_else(missing)?;
            let backend = CommandBackend::new(command).map_err(SelectError::Command)?;
            Ok(Arc::new(backend))
        }
        // Keyless: `[backend.none]` may be left out.
        BackendKind::None => Ok(Arc::new(NoneBackend::new())),
    }
}
