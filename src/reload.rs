//! Why this exists: SIGHUP re-reads the config without a restart. The routes take their state from
//! an `ArcSwap` once per request (one atomic load on the `nochg` path, no lock), so a request in
//! flight finishes on the config it started with and the next one sees the new config; a config
//! that does not load is refused, logged, and the old one stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::FromRef;

use dyndns_config::Config;

use crate::app::AppState;

/// The state new requests get; cloned into every route.
#[derive(Clone)]
pub struct Live(Arc<ArcSwap<AppState>>);

impl Live {
    pub fn new(state: Arc<AppState>) -> Live {
        Live(Arc::new(ArcSwap::new(state)))
    }

    /// The state as of now; a request holds it to its end.
    pub fn current(&self) -> Arc<AppState> {
        self.0.load_full()
    }
}

impl FromRef<Live> for Arc<AppState> {
    fn from_ref(live: &Live) -> Arc<AppState> {
        live.current()
    }
}

/// A setting the running frontend cannot take up: the listening socket is bound, and the spool,
/// the state folder and the heartbeat settings are where the `nochg` memory and the status readers
/// it keeps across reloads read from. A changed one is logged and keeps its old value.
struct NeedsRestart {
    key: &'static str,
    changed: fn(&Config, &Config) -> bool,
    keep_old: fn(&mut Config, &Config),
}

const NEEDS_RESTART: &[NeedsRestart] = &[
    NeedsRestart {
        key: "frontend.listen",
        changed: |old, new| old.frontend.listen != new.frontend.listen,
        keep_old: |new, old| new.frontend.listen = old.frontend.listen.clone(),
    },
    NeedsRestart {
        key: "spool.dir",
        changed: |old, new| old.spool_dir != new.spool_dir,
        keep_old: |new, old| new.spool_dir = old.spool_dir.clone(),
    },
    NeedsRestart {
        key: "worker.state_dir",
        changed: |old, new| old.worker.state_dir != new.worker.state_dir,
        keep_old: |new, old| new.worker.state_dir = old.worker.state_dir.clone(),
    },
    NeedsRestart {
        key: "frontend.heartbeat_max_age_secs",
        changed: |old, new| old.frontend.heartbeat_check != new.frontend.heartbeat_check,
        keep_old: |new, old| new.frontend.heartbeat_check = old.frontend.heartbeat_check,
    },
    NeedsRestart {
        key: "worker.heartbeat_secs",
        changed: |old, new| old.worker.heartbeat != new.worker.heartbeat,
        keep_old: |new, old| new.worker.heartbeat = old.worker.heartbeat,
    },
];

/// Re-reads the config at `path` and hands it to new requests; on an error, logs it (file, line,
/// column, key) and keeps serving the old one. Returns whether the new config was taken.
pub fn reload(live: &Live, path: &Path) -> bool {
    let mut config = match Config::load(path) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "config not reloaded: the running config stays");
            return false;
        }
    };
    let current = live.current();
    for setting in NEEDS_RESTART {
        if (setting.changed)(&current.config, &config) {
            tracing::warn!(
                key = setting.key,
                "this setting needs a restart to change: it keeps its old value until then"
            );
            (setting.keep_old)(&mut config, &current.config);
        }
    }
    live.0.store(Arc::new(current.reloaded(Arc::new(config))));
    tracing::info!(path = %path.display(), "config reloaded");
    true
}

/// Watches SIGHUP; call it before saying the frontend is ready, so that from then on a SIGHUP
/// reloads instead of ending the process. Logged if it cannot be watched.
pub fn watch_hangups() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(hangups) => Some(hangups),
        Err(error) => {
            tracing::error!(%error, "cannot watch SIGHUP: the config cannot be reloaded without a restart");
            None
        }
    }
}

/// Reloads from `path` at each of `hangups`; never returns.
pub async fn reload_on_hangup(
    live: Live,
    path: PathBuf,
    hangups: Option<tokio::signal::unix::Signal>,
) {
    if let Some(mut hangups) = hangups {
        while hangups.recv().await.is_some() {
            reload(&live, &path);
        }
    }
    std::future::pending().await
}
