//! Why this exists: the worker's life cycle. It takes the spool lock, resumes `cur/`, claims `new/`,
//! applies each distinct change through the backend, and only then lets the jobs leave `cur/`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use dyndns_config::Config;
use dyndns_queue::{AppliedState, Family, Job, SpoolDirs, SpoolError};
use tokio::sync::Notify;

use crate::backend::{Backend, BackendError, Change};
use crate::batch::{plan, Planned, Target};
use crate::watch::SpoolWatch;

/// How long the worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Process what is pending (each change tried once), then exit.
    RunOnce,
    /// Run until this much time has passed (hourly cron), then exit.
    Timeout(Duration),
    /// Run until the shutdown signal (systemd).
    Continuous,
}

/// What a run did, for the exit status and the last log line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Changes the backend made.
    pub applied: usize,
    /// Changes the backend found already in place.
    pub unchanged: usize,
    /// Jobs (per family) made moot by a newer job for the same host and family.
    pub superseded: usize,
    /// Spool files moved to `failed/`.
    pub dead_lettered: usize,
    /// Changes still waiting after a transient backend failure (left in `cur/`).
    pub deferred: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("cannot save the applied state {path}: {message}")]
    State { path: PathBuf, message: String },
}

/// Backoff after transient failures: 1 s, doubling, at most 5 minutes; never a busy loop.
fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.min(8)).min(Duration::from_secs(300))
}

pub struct Worker {
    config: Arc<Config>,
    backend: Arc<dyn Backend>,
    spool: SpoolDirs,
    state_path: PathBuf,
    state: AppliedState,
    state_dirty: bool,
    /// Valid jobs claimed into `cur/`, by spool file name.
    pending: BTreeMap<String, Job>,
    /// Targets whose last attempt failed transiently: attempts so far and when to try again.
    retry: HashMap<Target, (u32, Instant)>,
    /// Per spool file: the families already settled (the file leaves `cur/` when all of its are).
    settled: BTreeMap<String, BTreeSet<Family>>,
    report: Report,
}

/// Runs the worker on `config`'s spool with `backend` until `mode` or `shutdown` ends it.
pub async fn run<F>(
    config: Arc<Config>,
    backend: Arc<dyn Backend>,
    mode: Mode,
    shutdown: F,
) -> Result<Report, WorkerError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let spool = SpoolDirs::at(&config.spool_dir);
    let _lock = spool.lock()?;
    let stopping = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    {
        let (stopping, wake) = (stopping.clone(), wake.clone());
        tokio::spawn(async move {
            shutdown.await;
            stopping.store(true, Ordering::SeqCst);
            wake.notify_one();
        });
    }
    let watch = SpoolWatch::start(&spool.new(), wake.clone());
    let deadline = match mode {
        Mode::Timeout(limit) => Some(Instant::now() + limit),
        Mode::RunOnce | Mode::Continuous => None,
    };
    let mut worker = Worker::new(config, backend, spool);
    tracing::debug!(spool = %worker.spool.root().display(), backend = worker.backend.name(), "worker started");
    if let Err(err) = worker.spool.recover_tmp(Duration::from_secs(3600)) {
        tracing::warn!(error = %err, "cannot clean stale files from tmp/");
    }
    worker.resume_cur();
    loop {
        worker.intake_new();
        worker.apply_due(&stopping, mode == Mode::RunOnce).await;
        worker.save_state()?;
        let stop =
            stopping.load(Ordering::SeqCst) || deadline.is_some_and(|at| Instant::now() >= at);
        if stop || mode == Mode::RunOnce {
            break;
        }
        let mut sleep = worker.config.worker.rescan;
        if !watch.is_active() {
            // Without filesystem events, polling is the only way to stay near the 100 ms promise.
            sleep = sleep.min(Duration::from_millis(100));
        }
        if let Some(next_retry) = worker.retry.values().map(|(_, at)| *at).min() {
            sleep = sleep.min(next_retry.saturating_duration_since(Instant::now()));
        }
        if let Some(at) = deadline {
            sleep = sleep.min(at.saturating_duration_since(Instant::now()));
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    worker.report.deferred = worker.pending_targets();
    Ok(worker.report)
}

impl Worker {
    fn new(config: Arc<Config>, backend: Arc<dyn Backend>, spool: SpoolDirs) -> Worker {
        let state_path = AppliedState::path_in(&config.worker.state_dir);
        let state = AppliedState::load(&state_path).unwrap_or_else(|err| {
            // The state is a record, not the truth (the backend is): start afresh rather than stop.
            tracing::warn!(error = %err, "cannot read the applied state; starting with an empty one");
            AppliedState::default()
        });
        Worker {
            config,
            backend,
            spool,
            state_path,
            state,
            state_dirty: false,
            pending: BTreeMap::new(),
            retry: HashMap::new(),
            settled: BTreeMap::new(),
            report: Report::default(),
        }
    }

    /// Jobs left in `cur/` by a previous run were claimed but not confirmed: take them up again.
    fn resume_cur(&mut self) {
        match self.spool.list_cur() {
            Ok(names) => {
                for name in names {
                    if !self.pending.contains_key(&name) {
                        tracing::info!(file = %name, "resuming a job claimed by an earlier run");
                        self.admit(name);
                    }
                }
            }
            Err(err) => tracing::error!(error = %err, "cannot list cur/"),
        }
    }

    /// Claims everything in `new/` (including files written while no worker ran).
    fn intake_new(&mut self) {
        let names = match self.spool.list_new() {
            Ok(names) => names,
            Err(err) => {
                tracing::error!(error = %err, "cannot list new/");
                return;
            }
        };
        for name in names {
            match self.spool.claim(&name) {
                Ok(()) => self.admit(name),
                Err(SpoolError::Vanished { .. }) => {}
                Err(SpoolError::Duplicate { path, moved_to }) => {
                    tracing::warn!(file = %path.display(), moved_to = %moved_to.display(), "dead-lettered a duplicate job name");
                    self.report.dead_lettered += 1;
                }
                Err(err) => tracing::error!(file = %name, error = %err, "cannot claim job"),
            }
        }
    }

    /// Reads a claimed file as hostile input; a valid job joins `pending`, anything else is dead-lettered.
    fn admit(&mut self, name: String) {
        let checked = self
            .spool
            .read_claimed(&name)
            .map_err(|err| err.to_string())
            .and_then(|job| {
                let addresses: Vec<_> = job.addresses().collect();
                self.config.check_job(&job.user, &job.host, &addresses)?;
                Ok(job)
            });
        match checked {
            Ok(job) => {
                tracing::debug!(file = %name, job = %job.id, host = %job.host, "job claimed");
                self.pending.insert(name, job);
            }
            Err(reason) => self.dead_letter(&name, &reason),
        }
    }

    fn dead_letter(&mut self, name: &str, reason: &str) {
        match self.spool.dead_letter(name, reason) {
            Ok(path) => {
                tracing::warn!(file = %name, moved_to = %path.display(), reason = %reason, "job dead-lettered");
                self.report.dead_lettered += 1;
            }
            Err(err) => {
                tracing::error!(file = %name, error = %err, reason = %reason, "cannot dead-letter job")
            }
        }
        self.pending.remove(name);
        self.settled.remove(name);
    }

    fn pending_targets(&self) -> usize {
        plan(&self.pending).len()
    }

    /// Applies every planned change whose retry time has come. In run-once mode each change is tried
    /// once, whatever its backoff.
    async fn apply_due(&mut self, stopping: &AtomicBool, run_once: bool) {
        let now = Instant::now();
        for planned in plan(&self.pending) {
            if stopping.load(Ordering::SeqCst) {
                // The change in flight has finished; the rest stays in cur/ for the next start.
                return;
            }
            let due = self
                .retry
                .get(&planned.target)
                .is_none_or(|(_, at)| *at <= now || run_once);
            if due {
                self.apply_one(planned).await;
            }
        }
    }

    async fn apply_one(&mut self, planned: Planned) {
        let Some(newest) = self.pending.get(&planned.newest).cloned() else {
            return;
        };
        let (host, family) = planned.target.clone();
        // A job older than one already handled for this host and family (a dead letter moved back
        // by hand, say) would roll DNS back: it is superseded by what was handled, not applied.
        if self
            .state
            .handled_received_at(&host, family)
            .is_some_and(|handled| newest.received_at < handled)
        {
            self.settle_files(&planned.files, family, "a newer change already handled");
            return;
        }
        let Some(zone) = self.config.zone_for(&newest.host) else {
            // Admission checked this; the config cannot change under a running worker.
            self.dead_letter(&planned.newest, "host is outside every configured zone");
            return;
        };
        let change = Change {
            host: newest.host.clone(),
            zone: zone.backend_zone.clone(),
            label: zone.label_of(&newest.host),
            address: planned.address,
            ttl: zone.ttl,
        };
        let since_request = |now: SystemTime| {
            now.duration_since(newest.received_at)
                .map_or(0, |elapsed| elapsed.as_millis())
        };
        // Request → backend: how long the job took to reach the backend, and to be confirmed by it.
        let wait_ms = since_request(SystemTime::now());
        let started = Instant::now();
        let outcome = self.backend.apply(&change).await;
        let millis = started.elapsed().as_millis();
        let latency_ms = since_request(SystemTime::now());
        match outcome {
            Ok(applied) => {
                self.retry.remove(&planned.target);
                let previous: Vec<String> =
                    applied.previous.iter().map(ToString::to_string).collect();
                if applied.changed {
                    self.report.applied += 1;
                } else {
                    self.report.unchanged += 1;
                }
                tracing::info!(
                    host = %host,
                    old = %if previous.is_empty() { "-".to_string() } else { previous.join(",") },
                    new = %planned.address,
                    changed = applied.changed,
                    backend = self.backend.name(),
                    ms = millis as u64,
                    wait_ms = wait_ms as u64,
                    latency_ms = latency_ms as u64,
                    job = %newest.id,
                    "applied"
                );
                self.state.record_applied(
                    &host,
                    planned.address,
                    newest.received_at,
                    SystemTime::now(),
                );
                self.state_dirty = true;
                // The newest job's change is confirmed: every file of the target has it settled.
                self.settle_files(&planned.files, family, &planned.newest);
            }
            Err(BackendError::Transient(message)) => {
                let attempts = self
                    .retry
                    .get(&planned.target)
                    .map_or(0, |(attempts, _)| *attempts)
                    + 1;
                let delay = backoff(attempts - 1);
                tracing::warn!(
                    host = %host, family = family.as_str(), backend = self.backend.name(), attempts,
                    retry_in_s = delay.as_secs(), error = %message, "transient backend failure; will retry"
                );
                self.retry
                    .insert(planned.target.clone(), (attempts, Instant::now() + delay));
            }
            Err(BackendError::Permanent(message)) => {
                self.retry.remove(&planned.target);
                tracing::error!(host = %host, family = family.as_str(), backend = self.backend.name(), error = %message, "permanent backend failure");
                self.state.record_handled(&host, family, newest.received_at);
                self.state_dirty = true;
                let reason = format!(
                    "backend {} refused {} {}: {message}",
                    self.backend.name(),
                    host,
                    planned.address
                );
                let others: Vec<String> = planned
                    .files
                    .iter()
                    .filter(|name| **name != planned.newest)
                    .cloned()
                    .collect();
                self.dead_letter(&planned.newest, &reason);
                self.settle_files(&others, family, &planned.newest);
            }
        }
    }

    fn settle_files(&mut self, files: &[String], family: Family, newest: &str) {
        for name in files {
            if name != newest {
                self.report.superseded += 1;
                if let Some(job) = self.pending.get(name) {
                    tracing::info!(job = %job.id, host = %job.host, family = family.as_str(), by = %newest, "superseded");
                }
            }
            let Some(job) = self.pending.get(name) else {
                continue;
            };
            let families: BTreeSet<Family> = job
                .addresses()
                .map(|address| Family::of(&address))
                .collect();
            let done = self.settled.entry(name.clone()).or_default();
            done.insert(family);
            if families.is_subset(done) {
                match self.spool.complete(name) {
                    Ok(()) => {
                        self.pending.remove(name);
                        self.settled.remove(name);
                    }
                    Err(err) => {
                        tracing::error!(file = %name, error = %err, "cannot remove finished job from cur/")
                    }
                }
            }
        }
    }

    fn save_state(&mut self) -> Result<(), WorkerError> {
        if !self.state_dirty {
            return Ok(());
        }
        self.state
            .save(&self.state_path)
            .map_err(|err| WorkerError::State {
                path: self.state_path.clone(),
                message: err.to_string(),
            })?;
        self.state_dirty = false;
        Ok(())
    }
}
