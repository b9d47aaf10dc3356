//! Why this exists: what the worker writes to `history.jsonl` and when. Events are built here from a
//! job and how its change ended, held in memory until the pass saves, and appended in one write and
//! one fsync BEFORE `applied.json` is saved (`finish.rs`): a crash after the append and before the
//! save leaves the jobs in `cur/`, so the next run applies them again and writes their events again
//! (readers dedupe by job id + family + event); no crash can lose an event that way round.
//!
//! A change that fails for now is retried every few seconds during an outage. Its failure is
//! written when it first fails and again only when the error text changes (the address it quotes
//! aside: a newer address during an outage is the same failure); when it then applies,
//! the `applied` event carries how many attempts failed before (a recovery). A ten-minute outage
//! writes two lines per change, not hundreds.
//!
//! An unwritable history (a full disk, a symlink planted at its name) never stops DNS updates: the
//! events wait in memory (at most [`MAX_HELD_EVENTS`]) and the append is retried with backoff, while
//! `applied.json` is saved as usual. Only then could a crash lose events, and the log says so.

use std::collections::HashMap;
use std::net::IpAddr;

use dyndns_queue::{
    EventKind, Family, FamilyChange, HistoryEvent, HistoryLog, Job, HISTORY_VERSION,
};
use tokio::time::Instant;

use crate::apply::backoff;
use crate::batch::Target;
use crate::shown::{self, Shown};
use crate::worker::{Retry, Worker};

/// Events held while the history cannot be written; beyond this the oldest are dropped (and
/// counted in the log), so a history that stays broken cannot grow the worker without bound.
pub const MAX_HELD_EVENTS: usize = 100_000;

/// The worker's end of the history.
pub(crate) struct History {
    log: HistoryLog,
    held: Vec<HistoryEvent>,
    /// The error text last written per target that is failing for now.
    failing: HashMap<Target, String>,
    retry: Option<Retry>,
    dropped: u64,
}

impl History {
    pub fn new(log: HistoryLog) -> History {
        History {
            log,
            held: Vec::new(),
            failing: HashMap::new(),
            retry: None,
            dropped: 0,
        }
    }

    pub fn syncs(&self) -> u64 {
        self.log.syncs()
    }

    fn push(&mut self, event: HistoryEvent) {
        if self.held.len() >= MAX_HELD_EVENTS {
            self.held.remove(0);
            self.dropped += 1;
        }
        self.held.push(event);
    }
}

/// `error` with `change`'s address, wherever it is quoted, replaced by `{address}`.
fn without_address(error: &str, change: FamilyChange) -> String {
    match change {
        FamilyChange::Set(address) => error.replace(&address.to_string(), "{address}"),
        FamilyChange::Delete(_) => error.to_owned(),
    }
}

/// An event of `kind` about `job`'s change of `family`; the caller fills in what it knows more.
pub(crate) fn event(
    kind: EventKind,
    job: &Job,
    family: Family,
    new: Option<IpAddr>,
    now: std::time::SystemTime,
) -> HistoryEvent {
    HistoryEvent {
        v: HISTORY_VERSION,
        time: now,
        event: kind,
        host: job.host.clone(),
        family,
        old: Vec::new(),
        new,
        user: job.user.clone(),
        client: job.client(),
        backend: None,
        zone: None,
        job: job.id,
        received_at: job.received_at,
        ms: None,
        changed: false,
        failures: 0,
        error: None,
    }
}

impl Worker {
    /// Holds `event` for the pass's append, and counts it for `/metrics`.
    pub(crate) fn record(&mut self, event: HistoryEvent) {
        self.counts.count_event(&event);
        self.history.push(event);
    }

    /// A change of `target` failed for now with `error`: whether this failure is to be written
    /// (the first, or a new error text). The texts are compared with the change's address taken
    /// out: a command backend's error quotes its argv, so each newer address arriving during an
    /// outage made the same failure news again (an event, and a message, per address).
    pub(crate) fn failure_is_news(
        &mut self,
        target: &Target,
        change: FamilyChange,
        error: &str,
    ) -> bool {
        let error = without_address(error, change);
        if self
            .history
            .failing
            .get(target)
            .is_some_and(|last| *last == error)
        {
            return false;
        }
        self.history.failing.insert(target.clone(), error);
        true
    }

    /// `target` is settled (applied, dead-lettered, superseded): a later failure is news again.
    pub(crate) fn failure_settled(&mut self, target: &Target) {
        self.history.failing.remove(target);
    }

    /// Every admission refusal of a parsed job is a dead letter of each family it asked for.
    pub(crate) fn record_refused(&mut self, job: &Job, reason: &str) {
        for change in job.changes() {
            self.record_refused_family(job, change, reason);
        }
    }

    /// A planned change refused before its backend was asked: a dead letter of its family.
    pub(crate) fn record_refused_family(&mut self, job: &Job, change: FamilyChange, reason: &str) {
        let mut refused = event(
            EventKind::DeadLetter,
            job,
            change.family(),
            change.address(),
            self.clock.now(),
        );
        refused.old = self.old_addresses(&job.host, change);
        refused.error = Some(reason.to_owned());
        self.record(refused);
    }

    /// What `applied.json` says DNS holds for the change's host and family.
    pub(crate) fn old_addresses(&self, host: &str, change: FamilyChange) -> Vec<IpAddr> {
        self.state
            .applied_address(host, change.family())
            .into_iter()
            .collect()
    }

    /// Appends the held events, one write and one fsync; before `applied.json` is saved. A failure
    /// keeps them and is retried with backoff (`now` skips the wait: the run is ending).
    pub(crate) fn flush_history(&mut self, now: bool) {
        if self.history.held.is_empty() {
            return;
        }
        if !now
            && self
                .history
                .retry
                .is_some_and(|retry| retry.at > Instant::now())
        {
            return;
        }
        let history = &mut self.history;
        match history.log.append(&history.held) {
            Ok(()) => {
                history.held.clear();
                if let Some(retry) = history.retry.take() {
                    tracing::info!(path = %shown::path(history.log.path()), failures = retry.failures, dropped = history.dropped, "the history is written again");
                }
                history.dropped = 0;
            }
            Err(error) => {
                let failures = history.retry.map_or(0, |retry| retry.failures) + 1;
                let delay = backoff(failures);
                tracing::error!(
                    error = %Shown(&error), failures, held = history.held.len(), dropped = history.dropped,
                    retry_in_s = delay.as_secs(),
                    "cannot append to the history; its events wait in memory (DNS updates go on, a crash now would lose them)"
                );
                history.retry = Some(Retry {
                    failures,
                    at: Instant::now() + delay,
                });
            }
        }
    }
}
