//! Why this exists: what the worker holds between passes — the spool lock, the applied state, the
//! claimed jobs and their settlement, retry timers — and the periodic clean-up of the spool; the
//! passes themselves live in `intake.rs`, `apply.rs` and `finish.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dyndns_config::Config;
use dyndns_queue::{AppliedState, SpoolLock};
use tokio::time::Instant;

use crate::backend::Backends;
use crate::batch::{plan, Target};
use crate::clock::Clock;
use crate::counts::Counts;
use crate::history::History;
use crate::in_flight::{backend_id, InFlight};
use crate::pending::PendingFile;
use crate::run::Report;
use crate::shown::Shown;

/// Temporary job files older than this in `tmp/` were left by a frontend that crashed.
const STALE_TMP: Duration = Duration::from_secs(3600);
/// How often `tmp/` and `failed/` are cleaned while the worker runs.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// A retry timer: failures so far and when to try again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    pub failures: u32,
    pub at: Instant,
}

pub(crate) struct Worker {
    pub config: Arc<Config>,
    pub backends: Backends,
    pub lock: SpoolLock,
    pub clock: Arc<dyn Clock>,
    /// The latest wall-clock time known to have passed: the clock's newest reading, and at least
    /// the newest time `applied.json` records. See [`Worker::latest_time`].
    latest_time: SystemTime,
    pub state_path: PathBuf,
    pub state: AppliedState,
    /// The in-memory state has changes `applied.json` lacks; no job leaves `cur/` meanwhile.
    pub state_dirty: bool,
    /// Set while saving `applied.json` keeps failing.
    pub save_retry: Option<Retry>,
    /// Valid jobs claimed into `cur/`, by spool file name.
    pub pending: BTreeMap<String, PendingFile>,
    /// Files in `cur/` that could not be read or taken over yet (a lease, a full disk).
    pub unadmitted: BTreeSet<String>,
    /// Why `new/` could not be listed at the last try: a spool gone for an hour is logged once
    /// (and when it changes or is back), not at every rescan.
    pub new_listing_error: Option<String>,
    /// Targets whose last attempt failed transiently.
    pub retry: HashMap<Target, Retry>,
    pub last_housekeeping: Option<Instant>,
    pub report: Report,
    /// The backends' chains of batches at work.
    pub(crate) in_flight: InFlight,
    /// The events of this pass, waiting for their append to `history.jsonl`.
    pub(crate) history: History,
    /// What this worker did since its start, which the heartbeat carries to `/metrics`.
    pub(crate) counts: Counts,
    /// Round trips of the backends a reload replaced.
    round_trips_before: u64,
}

impl Worker {
    pub fn new(
        config: Arc<Config>,
        backends: Backends,
        lock: SpoolLock,
        state_path: PathBuf,
        state: AppliedState,
        clock: Arc<dyn Clock>,
        counts: Counts,
    ) -> Worker {
        let history = History::new(dyndns_queue::HistoryLog::new(
            &config.worker.state_dir,
            config.worker.history_max_bytes,
            config.worker.history_keep,
        ));
        let latest_time = state
            .newest_handled()
            .map_or(clock.now(), |handled| handled.max(clock.now()));
        Worker {
            config,
            backends,
            lock,
            clock,
            latest_time,
            state_path,
            state,
            state_dirty: false,
            save_retry: None,
            pending: BTreeMap::new(),
            unadmitted: BTreeSet::new(),
            new_listing_error: None,
            retry: HashMap::new(),
            last_housekeeping: None,
            report: Report::default(),
            in_flight: InFlight::default(),
            history,
            counts,
            round_trips_before: 0,
        }
    }

    /// Takes up a reloaded config and the backends built from it (`reload.rs`); only while no
    /// chain is in flight, so no batch runs on a backend that is gone.
    pub(crate) fn replace_config(&mut self, config: Arc<Config>, backends: Backends) {
        self.round_trips_before += self.backends.round_trips();
        self.config = config;
        self.backends = backends;
    }

    /// The wall-clock time, never earlier than one seen before. The frontend dates each job after
    /// its last one (and, at its start, after everything handled or pending), so after the clock
    /// is stepped back its jobs run ahead of the clock by the step; measured against this instead,
    /// they are not taken for jobs dated in the future.
    pub fn latest_time(&mut self) -> SystemTime {
        self.latest_time = self.latest_time.max(self.clock.now());
        self.latest_time
    }

    pub fn rescan_interval(&self) -> Duration {
        self.config.worker.rescan
    }

    /// The earliest moment something is due without an event: a retry, a save, housekeeping. A
    /// retry that waits for its backend's chain at work is left out: that chain's end wakes the
    /// worker (a retry time already past would otherwise make it spin).
    pub fn next_wake(&self) -> Option<Instant> {
        let retries = self
            .retry
            .iter()
            .filter(|(target, _)| !self.waits_for_backend(target))
            .map(|(_, retry)| retry.at);
        let save = self
            .save_retry
            .filter(|_| self.state_dirty)
            .map(|retry| retry.at);
        let housekeeping = self.last_housekeeping.map(|at| at + HOUSEKEEPING_EVERY);
        retries.chain(save).chain(housekeeping).min()
    }

    /// The target's change is at its backend now, or its backend is at work on other changes.
    fn waits_for_backend(&self, target: &Target) -> bool {
        self.in_flight.holds(target)
            || self
                .config
                .zone_for(&target.0)
                .and_then(|zone| self.backends.for_zone(zone))
                .is_some_and(|backend| self.in_flight.is_busy(backend_id(backend)))
    }

    pub fn housekeeping_due(&self) -> bool {
        self.last_housekeeping
            .is_none_or(|at| at.elapsed() >= HOUSEKEEPING_EVERY)
    }

    /// Removes what a crashed frontend left in `tmp/` and dead letters past their retention.
    pub fn housekeeping(&mut self) {
        self.last_housekeeping = Some(Instant::now());
        let now = self.clock.now();
        match self.lock.recover_tmp(STALE_TMP, now) {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed stale temporary files from tmp/"),
            Err(error) => {
                tracing::warn!(error = %Shown(&error), "cannot clean stale files from tmp/")
            }
        }
        let Some(keep) = self.config.worker.failed_keep else {
            return;
        };
        match self.lock.remove_expired_dead_letters(keep, now) {
            Ok(retention) => {
                if retention.removed > 0 {
                    tracing::info!(
                        removed = retention.removed,
                        keep_days = keep.as_secs() / 86_400,
                        "removed dead letters older than [worker] failed_keep_days"
                    );
                }
                for error in retention.left {
                    tracing::warn!(error = %Shown(&error), "an expired dead letter stays in failed/; remove it by hand");
                }
            }
            Err(error) => {
                tracing::warn!(error = %Shown(&error), "cannot remove expired dead letters from failed/")
            }
        }
    }

    pub fn into_report(mut self) -> Report {
        self.report.deferred = plan(&self.pending).len();
        self.report.left_in_cur = self.pending.len() + self.unadmitted.len();
        self.report.state_unsaved = self.state_dirty;
        self.report.round_trips = self.round_trips_before + self.backends.round_trips();
        self.report.history_syncs = self.history.syncs();
        self.report
    }
}
