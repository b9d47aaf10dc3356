//! Why this exists: the due changes through the backend, one batch per zone, and what each change's
//! own outcome means for every pending job of that host and family: applied or superseded (settled), failed for good
//! (settled as a dead letter of that family only), or failed for now (retried with backoff).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use std::collections::BTreeMap;

use dyndns_queue::Job;

use crate::backend::{Applied, BackendError, Change, Failure};
use crate::batch::{plan, Planned};
use crate::pending::Settlement;
use crate::shown::Shown;
use crate::worker::{Retry, Worker};

/// The longest wait between two attempts at one change.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How long one batch took at the backend (`ms`), and from a change's request to the backend
/// (`wait_ms`) and to its confirmation (`latency_ms`).
struct Timing {
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

/// A due planned change ready for its zone's batch: the target, the job it comes from and the change.
struct Ready {
    planned: Planned,
    newest: Job,
    change: Change,
}

impl Worker {
    /// Applies every planned change whose retry time has come, all changes of one backend zone in
    /// one batch, zone after zone. In run-once mode each change is tried once, whatever its backoff.
    pub async fn apply_due(&mut self, stopping: &AtomicBool, run_once: bool) {
        let now = Instant::now();
        let mut zones: BTreeMap<String, Vec<Ready>> = BTreeMap::new();
        for planned in plan(&self.pending) {
            let due = self
                .retry
                .get(&planned.target)
                .is_none_or(|retry| retry.at <= now || run_once);
            if !due {
                continue;
            }
            if let Some(ready) = self.ready(planned) {
                zones
                    .entry(ready.change.zone.clone())
                    .or_default()
                    .push(ready);
            }
        }
        for (zone, batch) in zones {
            if stopping.load(Ordering::SeqCst) {
                // The batch in flight has finished; the rest stays in cur/ for the next start.
                return;
            }
            self.apply_zone(&zone, batch).await;
        }
    }

    /// The change for a planned target, or `None` when it is settled without the backend.
    fn ready(&mut self, planned: Planned) -> Option<Ready> {
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
            self.settle(&planned, None, "a newer change already handled");
            return None;
        }
        let located = self.config.zone_for(&newest.host).and_then(|zone| {
            let label = zone.label_of(&newest.host)?;
            Some((zone, label))
        });
        let Some((zone, label)) = located else {
            // Admission checked this, and a backend zone is its zone or a parent of it; the config
            // cannot change under a running worker.
            let reason = "host is outside every configured zone".to_owned();
            self.settle(&planned, Some(Settlement::Failed(reason)), &planned.newest);
            return None;
        };
        let change = Change {
            host: newest.host.clone(),
            zone: zone.backend_zone.clone(),
            label,
            address: planned.address,
            ttl: zone.ttl,
        };
        Some(Ready {
            planned,
            newest,
            change,
        })
    }

    /// Hands the backend every ready change of one zone at once and settles each by its own result.
    async fn apply_zone(&mut self, zone: &str, batch: Vec<Ready>) {
        let changes: Vec<Change> = batch.iter().map(|ready| ready.change.clone()).collect();
        let received: Vec<SystemTime> = batch.iter().map(|r| r.newest.received_at).collect();
        let since_request = |now: SystemTime, received_at: SystemTime| {
            now.duration_since(received_at)
                .map_or(0, |elapsed| elapsed.as_millis())
        };
        // Request → backend: how long each job took to reach the backend, and to be confirmed by it.
        let reached = self.clock.now();
        let started = Instant::now();
        let mut outcomes = self.backend.apply_batch(zone, &changes).await.into_iter();
        let millis = started.elapsed().as_millis();
        let confirmed = self.clock.now();
        for (ready, received_at) in batch.into_iter().zip(received) {
            let outcome = outcomes
                .next()
                .unwrap_or_else(|| Err(BackendError::transient(Failure::NoResult)));
            let timing = Timing {
                millis,
                wait_ms: since_request(reached, received_at),
                latency_ms: since_request(confirmed, received_at),
            };
            self.apply_one(ready, outcome, timing);
        }
    }

    /// Settles one change of a batch by its result.
    fn apply_one(&mut self, ready: Ready, outcome: Result<Applied, BackendError>, timing: Timing) {
        let Ready {
            planned, newest, ..
        } = ready;
        let (host, family) = planned.target.clone();
        let backend = self.backend.name();
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
                    host = %Shown(&host),
                    old = %if previous.is_empty() { "-".to_string() } else { previous.join(",") },
                    new = %planned.address,
                    changed = applied.changed,
                    backend,
                    ms = timing.millis as u64,
                    wait_ms = timing.wait_ms as u64,
                    latency_ms = timing.latency_ms as u64,
                    job = %newest.id,
                    "applied"
                );
                let now = self.clock.now();
                self.state
                    .record_applied(&host, planned.address, newest.received_at, now);
                self.state_dirty = true;
                self.settle(&planned, Some(Settlement::Done), &planned.newest);
            }
            Err(error) if error.is_transient() => {
                let failures = self.retry.get(&planned.target).map_or(0, |r| r.failures) + 1;
                // A server that said when to come back (`Retry-After`) is not asked sooner.
                let delay = error
                    .retry_after()
                    .map_or(backoff(failures), |after| after.max(backoff(failures)));
                tracing::warn!(
                    host = %Shown(&host), family = family.as_str(), backend, failures,
                    retry_in_s = delay.as_secs(), error = %Shown(&error), "transient backend failure; will retry"
                );
                let at = Instant::now() + delay;
                self.retry
                    .insert(planned.target.clone(), Retry { failures, at });
            }
            Err(error) => {
                self.retry.remove(&planned.target);
                tracing::error!(
                    host = %Shown(&host), family = family.as_str(), address = %planned.address, backend,
                    job = %newest.id, error = %Shown(&error),
                    "permanent backend failure; this family of the job is dead-lettered, the others still apply"
                );
                // Recorded as handled, so the frontend learns the address did not land (its
                // next update of it is `good` again) and older jobs cannot roll DNS back.
                self.state.record_handled(&host, family, newest.received_at);
                self.state_dirty = true;
                let reason = format!(
                    "backend {backend} refused {host} {}: {error}",
                    planned.address
                );
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
