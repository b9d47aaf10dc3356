//! Why this exists: the order that makes a crash harmless. What a pass settled is first recorded in
//! `applied.json`, and only then do the settled job files leave `cur/` (removed, or what failed
//! moved to `failed/`). The pass's history events are appended before either (`history.rs`). A kill at any point leaves every unrecorded job in `cur/` to be applied
//! again, and every job that left `cur/` recorded, so DNS never rolls back.

use std::collections::BTreeSet;

use dyndns_queue::SpoolError;
use tokio::time::Instant;

use crate::apply::backoff;
use crate::shown::{self, Shown};
use crate::worker::{Retry, Worker};

impl Worker {
    /// Saves `applied.json` if it changed. A failure (a full disk, say) is logged and retried with
    /// backoff, never fatal: the worker keeps applying, and settled jobs wait in `cur/` until the
    /// record is saved. `now` skips the backoff (run-once mode has one chance).
    pub fn save_state(&mut self, now: bool) {
        // The pass's events first: a crash between the two repeats an event, never loses one.
        self.flush_history(now);
        if !self.state_dirty {
            return;
        }
        if !now
            && self
                .save_retry
                .is_some_and(|retry| retry.at > Instant::now())
        {
            return;
        }
        match self.state.save(&self.state_path) {
            Ok(()) => {
                if let Some(retry) = self.save_retry.take() {
                    tracing::info!(path = %shown::path(&self.state_path), failures = retry.failures, "saved the applied state again");
                }
                self.state_dirty = false;
            }
            Err(error) => {
                let failures = self.save_retry.map_or(0, |retry| retry.failures) + 1;
                let delay = backoff(failures);
                tracing::error!(
                    error = %Shown(&error), failures, retry_in_s = delay.as_secs(),
                    "cannot save the applied state; applied jobs wait in cur/ until it is saved"
                );
                self.save_retry = Some(Retry {
                    failures,
                    at: Instant::now() + delay,
                });
            }
        }
    }

    /// Lets every settled job file leave `cur/`: removed if all its families landed, otherwise
    /// what failed goes to `failed/` beside the backend's messages. Only while the applied
    /// state on disk records every settled family.
    pub fn finish_settled(&mut self) {
        if self.state_dirty {
            return;
        }
        let settled: BTreeSet<String> = self
            .pending
            .iter()
            .filter(|(_, file)| file.is_settled())
            .map(|(name, _)| name.clone())
            .collect();
        for name in settled {
            let Some(file) = self.pending.get(&name) else {
                continue;
            };
            let result = match file.failed_part() {
                None => self.lock.complete(&name).map(|()| None),
                Some((_, reason, true)) => self
                    .lock
                    .dead_letter(&name, &reason)
                    .map(|path| Some((path, reason))),
                Some((part, reason, false)) => self
                    .lock
                    .dead_letter_part(&name, &part, &reason)
                    .map(|path| Some((path, reason))),
            };
            match result {
                Ok(None) | Err(SpoolError::Vanished { .. }) => {}
                Ok(Some((path, reason))) => {
                    tracing::warn!(file = %Shown(&name), moved_to = %shown::path(&path), reason = %Shown(&reason), "job dead-lettered");
                    self.report.dead_lettered += 1;
                }
                Err(error) => {
                    // Stays pending and settled: tried again after the next pass.
                    tracing::error!(file = %Shown(&name), error = %Shown(&error), "cannot let a settled job leave cur/");
                    continue;
                }
            }
            self.pending.remove(&name);
        }
    }
}
