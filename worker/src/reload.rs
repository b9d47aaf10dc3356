//! Why this exists: SIGHUP makes the running worker re-read its config between passes, never while
//! a backend applies a batch: zones, users (what intake admits) and backends rebuilt from the new
//! config. A config that does not load, or whose backends cannot be built, is logged and the old
//! one stays whole.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dyndns_config::Config;
use tokio::signal::unix::Signal;
use tokio::sync::Notify;

use crate::shown::Shown;
use crate::worker::Worker;

/// Where the worker reloads its config from, and whether a SIGHUP asked for it.
pub(crate) struct Reload {
    path: PathBuf,
    requested: Arc<AtomicBool>,
}

impl Reload {
    /// Each of `hangups` (SIGHUP, watched by the caller before it says the worker started, so
    /// an early one cannot end the process) asks for a reload and wakes the worker.
    pub fn watch(path: PathBuf, mut hangups: Signal, wake: Arc<Notify>) -> Reload {
        let requested = Arc::new(AtomicBool::new(false));
        {
            let requested = requested.clone();
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    requested.store(true, Ordering::SeqCst);
                    wake.notify_one();
                }
            });
        }
        Reload { path, requested }
    }

    /// A SIGHUP came and is not handled yet.
    pub fn pending(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Reloads into `worker`, whose backends must be idle (no chain in flight).
    pub fn apply(&self, worker: &mut Worker) {
        self.requested.store(false, Ordering::SeqCst);
        reload(worker, &self.path);
    }
}

/// A setting the running worker cannot take up: it holds the spool's lock, writes its state,
/// history and heartbeat where it started, at the sizes and interval it started with.
/// The key as the operator writes it, whether it changed, and how to put the old value back.
type Setting = (
    &'static str,
    fn(&Config, &Config) -> bool,
    fn(&mut Config, &Config),
);

const NEEDS_RESTART: &[Setting] = &[
    (
        "spool.dir",
        |old, new| old.spool_dir != new.spool_dir,
        |new, old| new.spool_dir = old.spool_dir.clone(),
    ),
    (
        "worker.state_dir",
        |old, new| old.worker.state_dir != new.worker.state_dir,
        |new, old| new.worker.state_dir = old.worker.state_dir.clone(),
    ),
    (
        "worker.heartbeat_secs",
        |old, new| old.worker.heartbeat != new.worker.heartbeat,
        |new, old| new.worker.heartbeat = old.worker.heartbeat,
    ),
    (
        "worker.history_max_bytes / history_keep",
        |old, new| {
            (old.worker.history_max_bytes, old.worker.history_keep)
                != (new.worker.history_max_bytes, new.worker.history_keep)
        },
        |new, old| {
            new.worker.history_max_bytes = old.worker.history_max_bytes;
            new.worker.history_keep = old.worker.history_keep;
        },
    ),
];

fn reload(worker: &mut Worker, path: &Path) {
    let mut config = match Config::load(path) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "config not reloaded: the running config stays");
            return;
        }
    };
    for (key, changed, keep_old) in NEEDS_RESTART {
        if changed(&worker.config, &config) {
            tracing::warn!(
                key,
                "this setting needs a restart to change: it keeps its old value until then"
            );
            keep_old(&mut config, &worker.config);
        }
    }
    let backends = match crate::backend::from_config(&config) {
        Ok(backends) => backends,
        Err(error) => {
            tracing::error!(
                error = %Shown(&error),
                "config not reloaded: a backend cannot be built from it; the running config stays whole"
            );
            return;
        }
    };
    worker.replace_config(Arc::new(config), backends);
    tracing::info!(config = %path.display(), backends = %worker.backends.names(), "config reloaded");
}
