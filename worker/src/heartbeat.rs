//! Why this exists: a worker that holds the spool lock says so in `heartbeat.json` (format in
//! `dyndns_queue::Heartbeat`): written when it starts, every `[worker] heartbeat_secs` from a task
//! of its own (so a long batch at a backend does not hold a beat back), and marked stopped at a
//! clean exit. A worker killed outright simply stops beating; readers judge the beat's age. Each
//! beat also carries the worker's counts since its start and the number of dead letters in
//! `failed/`, which only root can list: `/metrics` and `/status` learn both from here, at most
//! `heartbeat_secs` late.

use std::path::PathBuf;
use std::sync::Arc;

use dyndns_queue::{Heartbeat, RunMode, SpoolDirs, HEARTBEAT_VERSION};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::counts::Counts;
use crate::run::Mode;
use crate::shown::Shown;

/// What a beat is written from.
#[derive(Clone)]
pub(crate) struct Beat {
    pub state_dir: PathBuf,
    /// `[worker] heartbeat_secs`.
    pub interval: std::time::Duration,
    pub mode: Mode,
    pub dirs: SpoolDirs,
    pub counts: Counts,
}

impl Beat {
    /// `heartbeat` as of `now`, with the counts so far and the dead letters in `failed/`.
    fn update(&self, heartbeat: &mut Heartbeat, now: std::time::SystemTime) {
        heartbeat.beat_at = now;
        heartbeat.counts = self.counts.snapshot();
        heartbeat.failed = self
            .dirs
            .count_failed()
            .map(|count| u64::try_from(count).unwrap_or(u64::MAX));
    }
}

/// The beating task and what it beats with.
pub(crate) struct Beating {
    task: JoinHandle<()>,
    heartbeat: Heartbeat,
    beat: Beat,
    clock: Arc<dyn Clock>,
}

fn run_mode(mode: Mode) -> RunMode {
    match mode {
        Mode::RunOnce => RunMode::Once,
        Mode::Timeout(_) => RunMode::Timeout,
        Mode::Continuous => RunMode::Continuous,
    }
}

/// Writes `heartbeat`, logging a failure only when the previous write worked: a heartbeat is worth
/// a warning, not one every beat.
fn write(heartbeat: &Heartbeat, state_dir: &std::path::Path, failing: &mut bool) {
    match heartbeat.write(state_dir) {
        Ok(()) => {
            if std::mem::take(failing) {
                tracing::info!("the heartbeat is written again");
            }
        }
        Err(error) => {
            if !std::mem::replace(failing, true) {
                tracing::warn!(error = %Shown(&error), "cannot write the heartbeat; status and /health will think the worker is not running");
            }
        }
    }
}

/// Writes the first beat now and starts beating every `interval`.
pub(crate) fn start(beat: Beat, clock: Arc<dyn Clock>) -> Beating {
    let now = clock.now();
    let mut heartbeat = Heartbeat {
        v: HEARTBEAT_VERSION,
        pid: std::process::id(),
        started_at: now,
        beat_at: now,
        interval_secs: beat.interval.as_secs(),
        mode: run_mode(beat.mode),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        stopped_at: None,
        counts: Default::default(),
        failed: None,
    };
    beat.update(&mut heartbeat, now);
    let mut failing = false;
    write(&heartbeat, &beat.state_dir, &mut failing);
    let task = {
        let (mut heartbeat, beat, clock) = (heartbeat.clone(), beat.clone(), Arc::clone(&clock));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(beat.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is at once, and the first beat is already written.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                beat.update(&mut heartbeat, clock.now());
                write(&heartbeat, &beat.state_dir, &mut failing);
            }
        })
    };
    Beating {
        task,
        heartbeat,
        beat,
        clock,
    }
}

impl Beating {
    /// A clean exit: beating stops and the file says when.
    pub(crate) fn stop(mut self) {
        self.task.abort();
        let now = self.clock.now();
        self.beat.update(&mut self.heartbeat, now);
        self.heartbeat.stopped_at = Some(now);
        write(&self.heartbeat, &self.beat.state_dir, &mut false);
    }
}
