//! Why this exists: `/metrics` must tell how many changes each backend applied, found in place,
//! superseded or dead-lettered, and how long its batches took, but only the root worker knows,
//! and the frontend may not ask it (no socket between them). The worker counts since its start and
//! writes the counts into `heartbeat.json` with every beat; a restart starts them at zero again,
//! which Prometheus takes as a counter reset. `history.jsonl` is no substitute: it has no
//! superseded jobs, records a backend failure only when its text changes, and repeats an event
//! after a crash.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Upper bounds (milliseconds) of the batch latency histogram's buckets; the last bucket,
/// `+Inf`, is the count. From a zone file's few milliseconds to an API that takes a minute.
pub const BATCH_MS_BUCKETS: [u64; 12] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 60_000,
];

/// What the running worker did since its start, per backend name (`zonefile`, `plesk-api`, …;
/// the empty name holds jobs refused before they reached a backend).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerCounts {
    pub backends: BTreeMap<String, BackendCounts>,
}

/// One backend's counts. Each change of a host and family counts once, by its outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendCounts {
    /// Changes the backend wrote.
    #[serde(default)]
    pub applied: u64,
    /// Changes the backend found already in place (nothing written).
    #[serde(default)]
    pub unchanged: u64,
    /// Job families settled without the backend: a newer job for the same host and family won.
    #[serde(default)]
    pub superseded: u64,
    /// Changes that failed for good (and jobs refused at admission, under the empty name).
    #[serde(default)]
    pub dead_lettered: u64,
    /// Attempts that failed for now and are retried (every attempt, not only news).
    #[serde(default)]
    pub transient_failures: u64,
    /// How long each batch took at the backend.
    #[serde(default)]
    pub batches: LatencyHistogram,
}

/// Batches by duration: `buckets[i]` counts those that took at most [`BATCH_MS_BUCKETS`]`[i]`
/// and more than the bound before (not cumulative: the renderer sums them up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyHistogram {
    pub buckets: [u64; BATCH_MS_BUCKETS.len()],
    pub count: u64,
    pub sum_ms: u64,
}

impl LatencyHistogram {
    pub fn observe(&mut self, ms: u64) {
        if let Some(slot) = BATCH_MS_BUCKETS.iter().position(|bound| ms <= *bound) {
            self.buckets[slot] += 1;
        }
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
    }

    /// `(upper bound in ms, batches at or below it)`, as Prometheus's cumulative buckets, `+Inf`
    /// (the count) not included.
    pub fn cumulative(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        BATCH_MS_BUCKETS
            .iter()
            .zip(&self.buckets)
            .scan(0u64, |sum, (bound, count)| {
                // Read back from a heartbeat the frontend does not trust to add up.
                *sum = sum.saturating_add(*count);
                Some((*bound, *sum))
            })
    }
}

impl WorkerCounts {
    /// The counts of `backend`, created at zero.
    pub fn backend(&mut self, backend: &str) -> &mut BackendCounts {
        self.backends.entry(backend.to_owned()).or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buckets read from a damaged heartbeat overflowed the running sum: a panic in `/metrics`
    /// (debug builds), counts going down in release.
    #[test]
    fn buckets_too_big_to_add_up_saturate_instead_of_overflowing() {
        let mut histogram = LatencyHistogram::default();
        histogram.buckets[0] = u64::MAX;
        histogram.buckets[1] = 2;
        let sums: Vec<u64> = histogram.cumulative().map(|(_, sum)| sum).collect();
        assert!(sums.iter().all(|sum| *sum == u64::MAX), "{sums:?}");
    }

    #[test]
    fn batches_fall_into_their_buckets_and_add_up_cumulatively() {
        let mut histogram = LatencyHistogram::default();
        for ms in [0, 5, 6, 60_000, 60_001] {
            histogram.observe(ms);
        }
        assert_eq!(histogram.count, 5);
        assert_eq!(histogram.sum_ms, 120_012);
        let cumulative: Vec<(u64, u64)> = histogram.cumulative().collect();
        assert_eq!(cumulative[0], (5, 2), "0 and 5 ms");
        assert_eq!(cumulative[1], (10, 3));
        assert_eq!(
            cumulative.last(),
            Some(&(60_000, 4)),
            "60001 ms only in +Inf"
        );
    }
}
