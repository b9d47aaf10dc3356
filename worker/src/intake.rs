//! Why this exists: admission. Every file in `new/` is claimed, every claimed file is read as
//! hostile input and taken over (all of a pass together, so their copies share one sync), and only
//! a job that fits the config and the clock joins the pending ones; anything else is dead-lettered
//! at once, and a read that may pass is retried.

use dyndns_queue::{Job, Listing, SpoolError, TakeError, MAX_FUTURE};

use crate::pending::PendingFile;
use crate::shown::{self, Shown};
use crate::worker::Worker;

impl Worker {
    /// Jobs left in `cur/` by a previous run were claimed but not settled: take them up again.
    pub fn resume_cur(&mut self) {
        match self.lock.list_cur() {
            Ok(listing) => {
                let names: Vec<String> = self
                    .note_unreadable(listing)
                    .into_iter()
                    .filter(|name| !self.pending.contains_key(name))
                    .collect();
                for name in &names {
                    tracing::info!(file = %Shown(name), "resuming a job claimed by an earlier run");
                }
                self.admit_all(names);
            }
            Err(error) => tracing::error!(error = %Shown(&error), "cannot list cur/"),
        }
    }

    /// Claims everything in `new/` (including files written while no worker ran).
    pub fn intake_new(&mut self) {
        // Each pass follows the clock, so a step back between two jobs is measured from the last
        // reading before it.
        self.latest_time();
        let names = match self.lock.list_new() {
            Ok(listing) => {
                if self.new_listing_error.take().is_some() {
                    tracing::info!("new/ can be listed again; taking its jobs");
                }
                self.note_unreadable(listing)
            }
            Err(error) => {
                let text = error.to_string();
                if self.new_listing_error.as_ref() != Some(&text) {
                    tracing::error!(
                        error = %Shown(&error),
                        "cannot list new/ (said again only when the error changes; jobs in cur/ still apply)"
                    );
                    self.new_listing_error = Some(text);
                }
                return;
            }
        };
        let mut claimed = Vec::with_capacity(names.len());
        for name in names {
            match self.lock.claim(&name) {
                Ok(()) => claimed.push(name),
                Err(SpoolError::Vanished { .. }) => {}
                Err(SpoolError::Duplicate { path, moved_to }) => {
                    tracing::warn!(file = %shown::path(&path), moved_to = %shown::path(&moved_to), "dead-lettered a job whose name was already claimed");
                    self.report.dead_lettered += 1;
                }
                Err(error) => {
                    tracing::error!(file = %Shown(&name), error = %Shown(&error), "cannot claim job")
                }
            }
        }
        self.admit_all(claimed);
    }

    /// Claimed files whose read may pass (a lease, a full disk) are tried again each pass.
    pub fn retry_unadmitted(&mut self) {
        let names: Vec<String> = self.unadmitted.iter().cloned().collect();
        self.admit_all(names);
    }

    /// Takes over every claimed file of a pass at once, so their copies share one sync
    /// (`SpoolLock::take_claimed_all`), then admits each.
    fn admit_all(&mut self, names: Vec<String>) {
        if names.is_empty() {
            return;
        }
        let taken = self.lock.take_claimed_all(&names);
        for (name, taken) in names.into_iter().zip(taken) {
            self.admit(name, taken);
        }
    }

    /// Logs and counts entries with non-UTF-8 names (the listing moved them to `failed/`).
    fn note_unreadable(&mut self, listing: Listing) -> Vec<String> {
        for entry in listing.unreadable {
            let name = entry.name.to_string_lossy();
            match entry.moved_to {
                Ok(moved_to) => {
                    tracing::warn!(file = %Shown(&name), moved_to = %shown::path(&moved_to), "dead-lettered a spool entry with a non-UTF-8 name");
                    self.report.dead_lettered += 1;
                }
                Err(error) => {
                    tracing::warn!(file = %Shown(&name), error = %Shown(&error), "cannot dead-letter a spool entry with a non-UTF-8 name; retrying on the next scan")
                }
            }
        }
        listing.names
    }

    /// Admits a claimed file by what reading and taking it over gave: a valid job that fits the
    /// config and is not dated in the future joins `pending`, anything else is dead-lettered.
    fn admit(&mut self, name: String, taken: Result<Job, TakeError>) {
        let job = match taken {
            Ok(job) => job,
            Err(TakeError::Rejected(error)) => {
                self.unadmitted.remove(&name);
                return self.dead_letter(&name, &error.to_string());
            }
            Err(TakeError::Vanished { .. }) => {
                self.unadmitted.remove(&name);
                return;
            }
            Err(error @ (TakeError::NotYet { .. } | TakeError::Copy { .. })) => {
                if self.unadmitted.insert(name.clone()) {
                    tracing::warn!(file = %Shown(&name), error = %Shown(&error), "cannot take over a claimed job yet; it stays in cur/ and is tried again");
                }
                return;
            }
        };
        self.unadmitted.remove(&name);
        let addresses: Vec<_> = job.addresses().collect();
        if let Err(rejection) = self.config.check_job(&job.user, &job.host, &addresses) {
            let reason = rejection.to_string();
            self.record_refused(&job, &reason);
            return self.dead_letter(&name, &reason);
        }
        // "The clock" never goes back here (see `Worker::latest_time`), as the frontend's dates
        // never do.
        let now = self.latest_time();
        if job.received_at > now + MAX_FUTURE {
            let at = |time| dyndns_queue::rfc3339::format(time).unwrap_or_else(|| "?".into());
            let reason = format!(
                "received_at {} is more than a day ahead of this machine's clock ({}, or the latest time it showed or a handled job carried); not applied and not recorded, so later updates still count",
                at(job.received_at),
                at(now)
            );
            self.record_refused(&job, &reason);
            return self.dead_letter(&name, &reason);
        }
        tracing::debug!(file = %Shown(&name), job = %job.id, host = %Shown(&job.host), "job claimed");
        self.pending.insert(name, PendingFile::new(job));
    }

    /// Moves a file that never became a pending job to `failed/`. Nothing about it is recorded
    /// in the applied state: it was not a change this worker accepted.
    pub(crate) fn dead_letter(&mut self, name: &str, reason: &str) {
        match self.lock.dead_letter(name, reason) {
            Ok(path) => {
                tracing::warn!(file = %Shown(name), moved_to = %shown::path(&path), reason = %Shown(reason), "job dead-lettered");
                self.report.dead_lettered += 1;
            }
            Err(SpoolError::Vanished { .. }) => {}
            Err(error) => {
                tracing::error!(file = %Shown(name), error = %Shown(&error), reason = %Shown(reason), "cannot dead-letter job; it stays in cur/ and is tried again");
                self.unadmitted.insert(name.to_owned());
            }
        }
        self.pending.remove(name);
    }
}
