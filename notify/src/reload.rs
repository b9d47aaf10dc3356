//! Why this exists: SIGHUP makes the continuous notifier re-read its config between deliveries,
//! never during one: targets, tokens, `on`, `users`, `min_interval` and timeouts are taken up, the
//! cursor stays, and a target whose id is unchanged keeps what it owes and its rate limit. A config
//! that does not load, or a token file that cannot be read, is logged and the old targets stay
//! whole, as the frontend and the worker do.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dyndns_config::Config;

use crate::deliver;
use crate::notifier::Notifier;

/// Set by the signal thread at each SIGHUP; taken by the run loop.
#[derive(Debug, Default, Clone)]
pub struct ReloadRequest(Arc<AtomicBool>);

impl ReloadRequest {
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Where the notifier reloads its config from, the config it runs on, and whether a SIGHUP asked
/// for a reload.
pub struct Reload {
    path: PathBuf,
    config: Config,
    requested: ReloadRequest,
}

impl Reload {
    pub fn new(path: PathBuf, config: Config) -> Reload {
        Reload {
            path,
            config,
            requested: ReloadRequest::default(),
        }
    }

    /// What the signal thread sets.
    pub fn requester(&self) -> ReloadRequest {
        self.requested.clone()
    }

    /// A SIGHUP came and is not handled yet.
    pub fn pending(&self) -> bool {
        self.requested.0.load(Ordering::SeqCst)
    }

    /// Reloads into `notifier`, which must have no delivery under way (else nothing happens and
    /// the request stays pending). Returns whether the new config was taken.
    pub fn apply(&mut self, notifier: &mut Notifier) -> bool {
        if notifier.busy() {
            return false;
        }
        self.requested.0.store(false, Ordering::SeqCst);
        match reload(&self.config, &self.path, notifier) {
            Some(config) => {
                self.config = config;
                true
            }
            None => false,
        }
    }
}

/// A setting the running notifier cannot take up: it follows the history and saves its state
/// where it started. The key as the operator writes it, whether it changed, and how to put the
/// old value back.
type Setting = (
    &'static str,
    fn(&Config, &Config) -> bool,
    fn(&mut Config, &Config),
);

const NEEDS_RESTART: &[Setting] = &[
    (
        "notifier.state_dir",
        |old, new| old.notify.state_dir != new.notify.state_dir,
        |new, old| new.notify.state_dir = old.notify.state_dir.clone(),
    ),
    (
        "worker.state_dir",
        |old, new| old.worker.state_dir != new.worker.state_dir,
        |new, old| new.worker.state_dir = old.worker.state_dir.clone(),
    ),
];

fn reload(current: &Config, path: &Path, notifier: &mut Notifier) -> Option<Config> {
    let mut config = match Config::load(path) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "config not reloaded: the running config stays");
            return None;
        }
    };
    for (key, changed, keep_old) in NEEDS_RESTART {
        if changed(current, &config) {
            tracing::warn!(
                key,
                "this setting needs a restart to change: it keeps its old value until then"
            );
            keep_old(&mut config, current);
        }
    }
    let targets = match deliver::for_config(&config) {
        Ok(targets) => targets,
        Err(error) => {
            // The error names the key and the file, never the token.
            tracing::error!(
                %error,
                "config not reloaded: a token file cannot be read; the running config stays whole"
            );
            return None;
        }
    };
    let count = targets.len();
    if !notifier.replace_targets(targets) {
        // `apply` checked: no delivery is under way.
        return None;
    }
    tracing::info!(config = %path.display(), targets = count, "config reloaded");
    Some(config)
}
