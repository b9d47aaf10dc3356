//! Why this exists: the worker's life cycle. It takes the spool lock, resumes `cur/`, claims `new/`,
//! applies each distinct change through the backend, records it, and only then lets the jobs leave
//! `cur/`; it ends when its mode says so.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dyndns_config::Config;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::backend::Backends;
use crate::clock::{Clock, SystemClock};
use crate::counts::Counts;
use crate::heartbeat;
use crate::reload::Reload;
use crate::startup::{self, WorkerError};
use crate::watch::SpoolWatch;
use crate::worker::Worker;

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
    /// Spool entries moved to `failed/`.
    pub dead_lettered: usize,
    /// Changes (per host and family) still waiting at the end, after transient failures.
    pub deferred: usize,
    /// Job files still in `cur/` at the end, for whatever reason; the next run takes them up.
    pub left_in_cur: usize,
    /// The last changes could not be recorded in `applied.json`.
    pub state_unsaved: bool,
    /// Backend round trips (zone file writes, UPDATE messages, API writes) this run made.
    pub round_trips: u64,
    /// Appends made durable to `history.jsonl`: one per pass that had events.
    pub history_syncs: u64,
}

/// When no filesystem events arrive, polling is the only way to stay near the 100 ms promise.
const POLL_WITHOUT_EVENTS: Duration = Duration::from_millis(100);

/// Runs the worker on `config`'s spool with `backends` (each zone's, or one for all) until `mode`
/// or `shutdown` ends it.
pub async fn run<F>(
    config: Arc<Config>,
    backends: impl Into<Backends>,
    mode: Mode,
    shutdown: F,
) -> Result<Report, WorkerError>
where
    F: Future<Output = ()> + Send + 'static,
{
    run_with_clock(config, backends, mode, shutdown, Arc::new(SystemClock)).await
}

/// [`run`] that re-reads the config at `path` at each of `hangups` (SIGHUP; `reload.rs`),
/// between passes and only once no backend is at work: `dyndns-worker` in every mode. A
/// `--run-once` run has one pass, so it finishes on the config it started with; SIGHUP does not
/// end it.
pub async fn run_reloading<F>(
    path: PathBuf,
    hangups: tokio::signal::unix::Signal,
    config: Arc<Config>,
    backends: impl Into<Backends>,
    mode: Mode,
    shutdown: F,
) -> Result<Report, WorkerError>
where
    F: Future<Output = ()> + Send + 'static,
{
    run_inner(
        config,
        backends.into(),
        mode,
        shutdown,
        Arc::new(SystemClock),
        Some((path, hangups)),
    )
    .await
}

/// [`run`] with the wall clock given; waiting (backoff, rescans, `--timeout`) follows tokio's
/// time, which tests pause and advance.
pub async fn run_with_clock<F>(
    config: Arc<Config>,
    backends: impl Into<Backends>,
    mode: Mode,
    shutdown: F,
    clock: Arc<dyn Clock>,
) -> Result<Report, WorkerError>
where
    F: Future<Output = ()> + Send + 'static,
{
    run_inner(config, backends.into(), mode, shutdown, clock, None).await
}

async fn run_inner<F>(
    config: Arc<Config>,
    backends: Backends,
    mode: Mode,
    shutdown: F,
    clock: Arc<dyn Clock>,
    reload_from: Option<(PathBuf, tokio::signal::unix::Signal)>,
) -> Result<Report, WorkerError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let lock = startup::take_spool(&config)?;
    let (state_path, state) = startup::load_state(&config, clock.now())?;
    let counts = Counts::default();
    let beating = heartbeat::start(
        heartbeat::Beat {
            state_dir: config.worker.state_dir.clone(),
            interval: config.worker.heartbeat,
            mode,
            dirs: lock.dirs().clone(),
            counts: counts.clone(),
        },
        Arc::clone(&clock),
    );
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
    let watch = SpoolWatch::start(&lock.dirs().new(), wake.clone());
    let reload = reload_from.map(|(path, hangups)| Reload::watch(path, hangups, wake.clone()));
    // While a reload waits for the backends at work to finish, no new chain starts.
    let hold = Arc::new(AtomicBool::new(true));
    let deadline = match mode {
        Mode::Timeout(limit) => Some(Instant::now() + limit),
        Mode::RunOnce | Mode::Continuous => None,
    };
    let run_once = mode == Mode::RunOnce;
    // `--timeout` ends a run as SIGTERM does: nothing new starts, and each backend's chain stops
    // after its batch in flight, so the run overruns its deadline by one batch, never a chain.
    let out_of_time = || {
        let late = deadline.is_some_and(|at| Instant::now() >= at);
        if late {
            stopping.store(true, Ordering::SeqCst);
        }
        late
    };
    let mut worker = Worker::new(config, backends, lock, state_path, state, clock, counts);
    worker.housekeeping();
    worker.resume_cur();
    loop {
        out_of_time();
        if worker.housekeeping_due() {
            worker.housekeeping();
        }
        // `--run-once` has one pass: it ends on the config it started with.
        let reload = reload
            .as_ref()
            .filter(|reload| reload.pending() && !run_once);
        if let Some(reload) = reload.filter(|_| worker.in_flight.is_empty()) {
            reload.apply(&mut worker);
        }
        worker.intake_new();
        worker.retry_unadmitted();
        let holding = reload.is_some_and(Reload::pending);
        worker
            .apply_due(if holding { &hold } else { &stopping }, run_once)
            .await;
        worker.save_state(run_once);
        worker.finish_settled();
        let stop = out_of_time() || stopping.load(Ordering::SeqCst);
        if stop || run_once {
            break;
        }
        let mut sleep = worker.rescan_interval();
        if !watch.is_active() {
            sleep = sleep.min(POLL_WITHOUT_EVENTS);
        }
        if let Some(at) = worker.next_wake() {
            sleep = sleep.min(at.saturating_duration_since(Instant::now()));
        }
        if let Some(at) = deadline {
            sleep = sleep.min(at.saturating_duration_since(Instant::now()));
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            // A backend's chain ended: settle it, and the next pass gives that backend its due
            // changes, while every other backend's chain goes on.
            Some(done) = worker.in_flight.next(), if !worker.in_flight.is_empty() => {
                worker.settle_chain(done);
            }
        }
    }
    // Stopping: the batches in flight finish, and what they did is recorded before exit. A save
    // still waiting for its retry is tried once more now: there is no later pass to wait for.
    worker.finish_in_flight().await;
    worker.save_state(true);
    worker.finish_settled();
    beating.stop();
    Ok(worker.into_report())
}
