//! Why this exists: the worker's counts since its start (format in `dyndns_queue::WorkerCounts`)
//! are added to by the passes and read by the heartbeat task, which writes them into
//! `heartbeat.json` for the frontend's `/metrics`. A mutex held for an addition or a copy.

use std::sync::{Arc, Mutex, PoisonError};

use dyndns_queue::{BackendCounts, EventKind, HistoryEvent, WorkerCounts};

/// Shared between the worker and its heartbeat task.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counts(Arc<Mutex<WorkerCounts>>);

impl Counts {
    /// Adds to `backend`'s counts.
    pub(crate) fn add(&self, backend: &str, add: impl FnOnce(&mut BackendCounts)) {
        // Nothing that can panic runs while it is held.
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        add(counts.backend(backend));
    }

    /// A settled change as its history event tells it: applied (written or found in place) or
    /// dead-lettered, under its backend, or under the empty name when it reached none. Backend
    /// failures are counted per attempt where they happen, not per event.
    pub(crate) fn count_event(&self, event: &HistoryEvent) {
        let backend = event.backend.as_deref().unwrap_or("");
        match event.event {
            EventKind::Applied if event.changed => self.add(backend, |c| c.applied += 1),
            EventKind::Applied => self.add(backend, |c| c.unchanged += 1),
            EventKind::DeadLetter => self.add(backend, |c| c.dead_lettered += 1),
            EventKind::BackendFailure => {}
        }
    }

    /// What was counted so far.
    pub(crate) fn snapshot(&self) -> WorkerCounts {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
