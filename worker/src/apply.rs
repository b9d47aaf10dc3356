//! Why this exists: the due changes through their zones' backends, one batch per zone, and what each change's
//! own outcome means for every pending job of that host and family: applied or superseded (settled), failed for good
//! (settled as a dead letter of that family only), or failed for now (retried with backoff).

use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use std::collections::BTreeMap;

use dyndns_queue::{EventKind, FamilyChange, Job};
use futures_util::FutureExt;

use crate::backend::{
    Applied, Backend, BackendError, BatchResults, Change, Failure, RecordType, Value,
};
use crate::batch::{plan, Planned};
use crate::clock::Clock;
use crate::history;
use crate::in_flight::{backend_id, ChainDone};
use crate::pending::Settlement;
use crate::reconcile::{self, BatchRules};
use crate::shown::Shown;
use crate::worker::{Retry, Worker};

/// The longest wait between two attempts at one change.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The longest a server's `Retry-After` makes a change wait: a reply must not park a change for
/// years, nor a number as large as the header can hold overflow the clock.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How long one batch took at the backend (`ms`), and from a change's request to the backend
/// (`wait_ms`) and to its confirmation (`latency_ms`).
struct Timing {
    backend: &'static str,
    millis: u128,
    wait_ms: u128,
    latency_ms: u128,
}

/// The wait after the `failures`-th failure in a row (counting from 1): 1 s, doubling, at most
/// [`MAX_BACKOFF`] — 1, 2, 4, …, 256, 300, 300 s. Never zero, so never a busy loop.
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << doublings).min(MAX_BACKOFF)
}

/// [`reconcile::apply_batch`] for one zone's batch, with a backend's panic (a bug) turned into a
/// transient failure of that batch's changes: they wait in `cur/` and are retried, while the worker
/// and the other zones go on. Unwinding out of the join would end the whole worker, leaving every
/// other zone's applied changes unrecorded, and a restart would meet the same bug again.
async fn guarded_batch(batch: &ZoneBatch, changes: &[Change]) -> BatchResults {
    let apply = reconcile::apply_batch(&*batch.backend, &batch.zone, changes, batch.rules);
    match AssertUnwindSafe(apply).catch_unwind().await {
        Ok(results) => results,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            let failure = Failure::Panicked {
                backend: batch.backend.name(),
                message,
            };
            BackendError::for_each(failure, changes.len())
                .into_iter()
                .map(Err)
                .collect()
        }
    }
}

/// A due planned change ready for its zone's batch: the target, the job it comes from and the change.
pub(crate) struct Ready {
    pub planned: Planned,
    newest: Job,
    change: Change,
}

/// All ready changes of one backend zone, and the backend and rules that apply them.
pub(crate) struct ZoneBatch {
    zone: String,
    backend: Arc<dyn Backend>,
    rules: BatchRules,
    pub ready: Vec<Ready>,
}

/// A zone's batch with its results and timing, once its backend answered.
pub(crate) struct DoneBatch {
    pub batch: ZoneBatch,
    results: BatchResults,
    /// When the backend was called (wall clock, for request → backend), and when it answered.
    reached: SystemTime,
    confirmed: SystemTime,
    millis: u128,
}

/// The batches of one backend, one after the other; after SIGTERM the batch in flight finishes
/// and the others are not started (their jobs stay in `cur/` for the next start).
async fn run_chain(
    backend: usize,
    chain: Vec<ZoneBatch>,
    clock: Arc<dyn Clock>,
    stopping: Arc<AtomicBool>,
) -> ChainDone {
    let mut done = Vec::with_capacity(chain.len());
    let mut chain = chain.into_iter();
    while !stopping.load(Ordering::SeqCst) {
        let Some(batch) = chain.next() else {
            break;
        };
        let changes: Vec<Change> = batch
            .ready
            .iter()
            .map(|ready| ready.change.clone())
            .collect();
        let reached = clock.now();
        let started = Instant::now();
        let trips_before = batch.backend.round_trips();
        let results = guarded_batch(&batch, &changes).await;
        // One line per batch: how many changes cost how many round trips.
        tracing::info!(
            zone = %Shown(&batch.zone),
            backend = batch.backend.name(),
            changes = changes.len(),
            round_trips = batch.backend.round_trips().saturating_sub(trips_before),
            ms = started.elapsed().as_millis() as u64,
            "batch applied"
        );
        done.push(DoneBatch {
            millis: started.elapsed().as_millis(),
            confirmed: clock.now(),
            reached,
            results,
            batch,
        });
    }
    ChainDone {
        backend,
        done,
        not_started: chain.collect(),
    }
}

impl Worker {
    /// Starts every planned change whose retry time has come, all changes of one backend zone in
    /// one batch, the zones of one backend one after the other in a chain. A backend still at work
    /// on an earlier chain gets its due changes on a pass after that chain ends; the chains run
    /// while the worker goes on (see `in_flight.rs`), and what a finished chain did is settled
    /// here or as soon as it ends. After SIGTERM nothing new starts. In run-once mode each change
    /// is tried once, whatever its backoff, and every chain is waited for.
    pub async fn apply_due(&mut self, stopping: &Arc<AtomicBool>, run_once: bool) {
        while let Some(done) = self.in_flight.finished() {
            self.settle_chain(done);
        }
        if !stopping.load(Ordering::SeqCst) {
            self.start_due(stopping, run_once);
        }
        if run_once {
            self.finish_in_flight().await;
        }
    }

    /// Waits for every chain at work and settles what it did (at SIGTERM, the batch in flight
    /// finishes and the rest of its chain stays in `cur/`).
    pub async fn finish_in_flight(&mut self) {
        while let Some(done) = self.in_flight.next().await {
            self.settle_chain(done);
        }
    }

    /// Settles each batch a chain applied; the batches it did not start stay pending.
    pub(crate) fn settle_chain(&mut self, chain: ChainDone) {
        for done in chain.done {
            self.settle_batch(done);
        }
    }

    /// Plans the due changes of every backend not at work and starts one chain per backend.
    fn start_due(&mut self, stopping: &Arc<AtomicBool>, run_once: bool) {
        let now = Instant::now();
        // One batch per backend, backend zone and rules: two [[zone]]s may share a backend zone
        // and still name different backends or `create_missing`.
        let mut zones: BTreeMap<(usize, String, bool), ZoneBatch> = BTreeMap::new();
        for planned in plan(&self.pending) {
            if self.in_flight.holds(&planned.target) {
                continue;
            }
            let due = self
                .retry
                .get(&planned.target)
                .is_none_or(|retry| retry.at <= now || run_once);
            if !due {
                continue;
            }
            if let Some((ready, backend, rules)) = self.ready(planned) {
                let id = backend_id(&backend);
                if self.in_flight.is_busy(id) {
                    continue;
                }
                let key = (id, ready.change.zone.clone(), rules.create_missing);
                zones
                    .entry(key)
                    .or_insert_with(|| ZoneBatch {
                        zone: ready.change.zone.clone(),
                        backend,
                        rules,
                        ready: Vec::new(),
                    })
                    .ready
                    .push(ready);
            }
        }
        // One chain of zones per backend (told apart by identity, so `Backends::only` is one).
        let mut chains: BTreeMap<usize, Vec<ZoneBatch>> = BTreeMap::new();
        for batch in zones.into_values() {
            chains
                .entry(backend_id(&batch.backend))
                .or_default()
                .push(batch);
        }
        for (backend, chain) in chains {
            let targets = chain
                .iter()
                .flat_map(|batch| batch.ready.iter().map(|ready| ready.planned.target.clone()))
                .collect();
            let run = run_chain(
                backend,
                chain,
                Arc::clone(&self.clock),
                Arc::clone(stopping),
            );
            self.in_flight.start(backend, targets, run.boxed());
        }
    }

    /// The change for a planned target with the backend and rules of its zone, or `None` when it
    /// is settled without the backend.
    fn ready(&mut self, planned: Planned) -> Option<(Ready, Arc<dyn Backend>, BatchRules)> {
        let newest = self
            .pending
            .get(&planned.newest)
            .map(|file| file.job.clone())?;
        let (host, family) = planned.target.clone();
        // A job older than one already handled for this host and family (a dead letter moved back
        // by hand, say) would roll DNS back: it is superseded by what was handled, not applied.
        if self
            .state
            .handled_received_at(&host, family)
            .is_some_and(|handled| newest.received_at < handled)
        {
            self.retry.remove(&planned.target);
            self.failure_settled(&planned.target);
            self.settle(&planned, None, "a newer change already handled");
            return None;
        }
        let config = Arc::clone(&self.config);
        let located = config.zone_for(&newest.host).and_then(|zone| {
            let label = zone.label_of(&newest.host)?;
            let backend = self.backends.for_zone(zone)?;
            Some((zone, label, Arc::clone(backend)))
        });
        let Some((zone, label, backend)) = located else {
            // Admission checked the zone, a backend zone is its zone or a parent of it, and every
            // zone's backend was built at start; the config cannot change under a running worker.
            let reason = "host is outside every configured zone".to_owned();
            self.record_refused_family(&newest, planned.change, &reason);
            self.settle(&planned, Some(Settlement::Failed(reason)), &planned.newest);
            return None;
        };
        let change = match planned.change {
            FamilyChange::Set(address) => {
                Change::address(&newest.host, &zone.backend_zone, &label, address, zone.ttl)
            }
            FamilyChange::Delete(family) => Change::delete(
                &newest.host,
                &zone.backend_zone,
                &label,
                RecordType::of_family(family),
            ),
        };
        let rules = BatchRules {
            create_missing: zone.create_missing,
        };
        Some((
            Ready {
                planned,
                newest,
                change,
            },
            backend,
            rules,
        ))
    }

    /// Settles each change of a zone's batch by its own result.
    fn settle_batch(&mut self, done: DoneBatch) {
        let since_request = |now: SystemTime, received_at: SystemTime| {
            now.duration_since(received_at)
                .map_or(0, |elapsed| elapsed.as_millis())
        };
        let backend = done.batch.backend.name();
        let millis = u64::try_from(done.millis).unwrap_or(u64::MAX);
        self.counts
            .add(backend, |counts| counts.batches.observe(millis));
        let mut results = done.results.into_iter();
        for ready in done.batch.ready {
            let outcome = results
                .next()
                .unwrap_or_else(|| Err(BackendError::transient(Failure::NoResult)));
            let received_at = ready.newest.received_at;
            let timing = Timing {
                backend,
                millis: done.millis,
                wait_ms: since_request(done.reached, received_at),
                latency_ms: since_request(done.confirmed, received_at),
            };
            self.apply_one(ready, outcome, timing);
        }
    }

    /// Settles one change of a batch by its result.
    fn apply_one(&mut self, ready: Ready, outcome: Result<Applied, BackendError>, timing: Timing) {
        let Ready {
            planned,
            newest,
            change,
        } = ready;
        let (host, family) = planned.target.clone();
        let backend = timing.backend;
        let mut event = history::event(
            EventKind::Applied,
            &newest,
            family,
            planned.change.address(),
            self.clock.now(),
        );
        event.backend = Some(backend.to_owned());
        event.zone = Some(change.zone.clone());
        event.ms = Some(u64::try_from(timing.millis).unwrap_or(u64::MAX));
        event.old = self.old_addresses(&host, planned.change);
        match outcome {
            Ok(applied) => {
                event.failures = self.retry.get(&planned.target).map_or(0, |r| r.failures);
                self.retry.remove(&planned.target);
                self.failure_settled(&planned.target);
                let read: Vec<IpAddr> = applied
                    .previous
                    .iter()
                    .filter_map(|value| match value {
                        Value::Address(address) => Some(*address),
                        Value::Txt(_) => None,
                    })
                    .collect();
                // DNS already held the change, yet the record says otherwise: an earlier run
                // wrote it and was killed before its history line, or someone else did. Either
                // way the host's address moved since the last event, and a reader (the notifier)
                // must hear of it once, from the recorded address, not as "unchanged".
                let recorded = self.state.applied_address(&host, family);
                let moved_unrecorded = !applied.changed && recorded != planned.change.address();
                // Otherwise what the backend read beats what was recorded; a backend that cannot
                // read (a command) reads nothing, and the record is all there is.
                if !read.is_empty() && !moved_unrecorded {
                    event.old = read;
                }
                event.changed = applied.changed || moved_unrecorded;
                self.record(event);
                let previous: Vec<String> =
                    applied.previous.iter().map(ToString::to_string).collect();
                if applied.changed {
                    self.report.applied += 1;
                } else {
                    self.report.unchanged += 1;
                }
                tracing::info!(
                    host = %Shown(&host),
                    old = %if previous.is_empty() { "-".to_string() } else { previous.join(",") },
                    new = %planned.change,
                    changed = applied.changed,
                    backend,
                    ms = timing.millis as u64,
                    wait_ms = timing.wait_ms as u64,
                    latency_ms = timing.latency_ms as u64,
                    job = %newest.id,
                    "applied"
                );
                let now = self.clock.now();
                match planned.change {
                    FamilyChange::Set(address) => {
                        self.state
                            .record_applied(&host, address, newest.received_at, now)
                    }
                    FamilyChange::Delete(family) => {
                        self.state
                            .record_deleted(&host, family, newest.received_at, now)
                    }
                }
                self.state_dirty = true;
                self.settle(&planned, Some(Settlement::Done), &planned.newest);
            }
            Err(error) if error.is_transient() => {
                self.counts
                    .add(backend, |counts| counts.transient_failures += 1);
                let failures = self.retry.get(&planned.target).map_or(0, |r| r.failures) + 1;
                // A server that said when to come back (`Retry-After`) is not asked sooner,
                // within reason.
                let delay = error.retry_after().map_or(backoff(failures), |after| {
                    after.min(MAX_RETRY_AFTER).max(backoff(failures))
                });
                tracing::warn!(
                    host = %Shown(&host), family = family.as_str(), backend, failures,
                    retry_in_s = delay.as_secs(), error = %Shown(&error), "transient backend failure; will retry"
                );
                let at = Instant::now() + delay;
                self.retry
                    .insert(planned.target.clone(), Retry { failures, at });
                let text = error.to_string();
                if self.failure_is_news(&planned.target, planned.change, &text) {
                    event.event = EventKind::BackendFailure;
                    event.failures = failures;
                    event.error = Some(text);
                    self.record(event);
                }
            }
            Err(error) => {
                event.failures = self.retry.get(&planned.target).map_or(0, |r| r.failures);
                self.retry.remove(&planned.target);
                self.failure_settled(&planned.target);
                event.event = EventKind::DeadLetter;
                event.error = Some(error.to_string());
                self.record(event);
                tracing::error!(
                    host = %Shown(&host), family = family.as_str(), address = %planned.change, backend,
                    job = %newest.id, error = %Shown(&error),
                    "permanent backend failure; this family of the job is dead-lettered, the others still apply"
                );
                // Recorded as handled, so the frontend learns the address did not land (its
                // next update of it is `good` again) and older jobs cannot roll DNS back.
                self.state.record_handled(&host, family, newest.received_at);
                self.state_dirty = true;
                let reason = match planned.change {
                    FamilyChange::Set(address) => {
                        format!("backend {backend} refused {host} {address}: {error}")
                    }
                    FamilyChange::Delete(family) => format!(
                        "backend {backend} refused to delete the {} records of {host}: {error}",
                        RecordType::of_family(family).as_str()
                    ),
                };
                self.settle(&planned, Some(Settlement::Failed(reason)), &planned.newest);
            }
        }
    }

    /// Settles the planned family in each of its files: the newest file (`newest`) with
    /// `outcome`, every other one as superseded by it. With no outcome, all are superseded.
    fn settle(&mut self, planned: &Planned, outcome: Option<Settlement>, newest: &str) {
        let family = planned.target.1;
        for name in &planned.files {
            let Some(file) = self.pending.get_mut(name) else {
                continue;
            };
            match (&outcome, name == newest) {
                (Some(outcome), true) => file.settle(family, outcome.clone()),
                _ => {
                    self.report.superseded += 1;
                    // Counted under the backend of the host's zone: the one it would have reached.
                    let backend = self
                        .config
                        .zone_for(&file.job.host)
                        .and_then(|zone| self.backends.for_zone(zone))
                        .map_or("", |backend| backend.name());
                    self.counts.add(backend, |counts| counts.superseded += 1);
                    tracing::info!(job = %file.job.id, host = %Shown(&file.job.host), family = family.as_str(), by = %Shown(newest), "superseded");
                    file.settle(family, Settlement::Done);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_stops_at_five_minutes() {
        let waits: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
