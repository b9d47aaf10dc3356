//! Why this exists: `dyndns-worker check` — before the first router update, the operator learns
//! whether each zone's backend takes the credentials and serves the zone, with a line per zone,
//! and nothing is changed (no spool lock, no state, no DNS write).

use std::collections::BTreeMap;
use std::sync::Arc;

use dyndns_config::Config;

use crate::backend::{Backend, Backends};
use crate::shown::Shown;

/// What the check found for one configured zone.
#[derive(Debug)]
pub struct ZoneCheck {
    /// `[[zone]] name`.
    pub zone: String,
    /// The backend's name (`zonefile`, `cloudflare`).
    pub backend: &'static str,
    /// `[[zone]] backend_zone`, the zone the backend was asked about.
    pub backend_zone: String,
    /// What the backend said: found, or why not.
    pub outcome: Result<String, String>,
}

impl std::fmt::Display for ZoneCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (status, said) = match &self.outcome {
            Ok(said) => ("ok  ", said),
            Err(said) => ("FAIL", said),
        };
        write!(
            f,
            "{status} zone {} on {} (backend zone {}): {said}",
            self.zone, self.backend, self.backend_zone
        )
    }
}

/// Asks each zone's backend about its backend zone, each (backend, backend zone) once, the zones
/// of different backends side by side. One result per configured zone, in config order.
pub async fn check_zones(config: &Config, backends: &Backends) -> Vec<ZoneCheck> {
    let mut asked: BTreeMap<(usize, String), (Arc<dyn Backend>, String)> = BTreeMap::new();
    for zone in &config.zones {
        if let Some(backend) = backends.for_zone(zone) {
            let id = Arc::as_ptr(backend).cast::<()>() as usize;
            asked
                .entry((id, zone.backend_zone.clone()))
                .or_insert_with(|| (Arc::clone(backend), zone.backend_zone.clone()));
        }
    }
    let answers = futures_util::future::join_all(asked.into_iter().map(
        |(key, (backend, backend_zone))| async move {
            let outcome = backend
                .check(&backend_zone)
                .await
                .map_err(|error| Shown(&error).to_string());
            (key, outcome)
        },
    ))
    .await;
    let answers: BTreeMap<(usize, String), Result<String, String>> = answers.into_iter().collect();
    config
        .zones
        .iter()
        .map(|zone| {
            let found = backends.for_zone(zone).map(|backend| {
                let id = Arc::as_ptr(backend).cast::<()>() as usize;
                let outcome = answers
                    .get(&(id, zone.backend_zone.clone()))
                    .cloned()
                    .unwrap_or_else(|| Err("not asked".to_owned()));
                (backend.name(), outcome)
            });
            let (backend, outcome) = found.unwrap_or((
                zone.backend.as_str(),
                Err("no backend was built for this zone".to_owned()),
            ));
            ZoneCheck {
                zone: zone.name.clone(),
                backend,
                backend_zone: zone.backend_zone.clone(),
                outcome,
            }
        })
        .collect()
}
