//! Why this exists: the notifier's bookkeeping between the history and the targets, free of threads
//! and of the wall clock (the caller passes `now`), so tests drive it step by step — a crash is a
//! notifier dropped before its `save`. It reads new events (skipping the worker's repeats), queues
//! each for the targets that hear of it, hands out the messages that are due, and settles what the
//! deliveries answered: delivered (no longer owed) or failed (owed, the target backs off).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dyndns_config::notify::NotifyTarget;
use dyndns_queue::{HistoryError, HistoryFollower};

use crate::category::categorise;
use crate::deliver::{Configured, Deliver, DeliveryError};
use crate::message::Message;
use crate::outbox::{Notice, TargetOutbox};
use crate::state::{NotifyState, StateError};

/// The first retry of a failed target; each further failure doubles it, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// A configured target, its delivery, and how it fares.
struct Target {
    config: NotifyTarget,
    deliver: Arc<dyn Deliver>,
    /// Failed deliveries in a row.
    failures: u32,
    /// No delivery before this, after a failure.
    retry_at: Option<SystemTime>,
    /// A delivery is under way (one at a time per target, so messages keep their order).
    busy: bool,
}

pub struct Notifier {
    follower: HistoryFollower,
    state: NotifyState,
    targets: Vec<Target>,
    /// Events of the history read so far in this process, repeats included.
    read: u64,
    /// Repeats of events already read, skipped.
    repeats: u64,
    /// Something changed since the last save.
    dirty: bool,
}

impl Notifier {
    /// Resumes from the state in `state_dir`; without one (the first start) it begins at the end
    /// of the history: what happened before the notifier was installed is not news.
    pub fn open(
        history_dir: &Path,
        state_dir: &Path,
        targets: Vec<Configured>,
    ) -> Result<Notifier, NotifierError> {
        let (mut state, follower) = match NotifyState::load(state_dir)? {
            None => {
                tracing::info!(
                    history = %history_dir.display(),
                    "no notifier state yet: starting at the end of the history"
                );
                (
                    NotifyState::fresh(state_dir),
                    HistoryFollower::from_end(history_dir),
                )
            }
            Some(state) => {
                let follower = match state.saved.cursor {
                    Some(cursor) => HistoryFollower::resume(history_dir, cursor),
                    // Saved before any history file existed: every file there now is new.
                    None => HistoryFollower::from_oldest(history_dir),
                };
                (state, follower)
            }
        };
        keep_outboxes_of(&mut state, &targets);
        let targets = targets
            .into_iter()
            .map(|(config, deliver)| Target {
                config,
                deliver,
                failures: 0,
                retry_at: None,
                busy: false,
            })
            .collect();
        Ok(Notifier {
            follower,
            state,
            targets,
            read: 0,
            repeats: 0,
            dirty: false,
        })
    }

    /// Takes up the targets of a reloaded config; only while no delivery is under way (`false`,
    /// and nothing changed, otherwise), so no answer comes back for a target that moved. A target
    /// whose id is unchanged keeps its outbox, rate limit and failure count (tried again at once:
    /// a reload is the operator's fix); a removed one's outbox is
    /// dropped; a new one hears of the events read from now on. The cursor stays.
    pub fn replace_targets(&mut self, targets: Vec<Configured>) -> bool {
        if self.busy() {
            return false;
        }
        keep_outboxes_of(&mut self.state, &targets);
        let mut old = std::mem::take(&mut self.targets);
        self.targets = targets
            .into_iter()
            .map(|(config, deliver)| {
                let kept = old
                    .iter()
                    .position(|target| target.config.id == config.id)
                    .map(|at| old.swap_remove(at));
                // A reload is the operator's word that something was fixed (a token, a URL): a
                // failing target is tried at once, not after up to ten minutes of backoff; its
                // failure count, and so the wait after another failure, is kept.
                Target {
                    config,
                    deliver,
                    failures: kept.as_ref().map_or(0, |target| target.failures),
                    retry_at: None,
                    busy: false,
                }
            })
            .collect();
        self.dirty = true;
        true
    }

    /// Reads what the worker appended and queues it; returns how many new events were read. The
    /// cursor moves in memory; [`Notifier::save`] makes it and the queued messages durable together.
    pub fn read_history(&mut self) -> Result<usize, NotifierError> {
        let polled = self.follower.poll();
        if self.follower.take_gap() {
            tracing::warn!(
                history = %self.follower.history_dir().display(),
                "the history file the notifier was reading is gone (rotated away: more rotations \
                 than [worker] history_keep while the notifier was down or behind; or removed by \
                 hand): it goes on with the files made after it, and events in files removed \
                 meanwhile may never be told; raise [worker] history_max_bytes or history_keep \
                 to keep more"
            );
        }
        let events = polled?;
        let mut fresh = 0;
        for event in events {
            self.read += 1;
            if !self.state.first_sight(&event) {
                self.repeats += 1;
                tracing::debug!(host = %event.host, job = %event.job, "a repeated history event is skipped");
                continue;
            }
            fresh += 1;
            for target in &self.targets {
                let outbox = outbox_of(&mut self.state, &target.config.id);
                // A host gets an entry only once there is something to keep about it, so hosts a
                // target never hears of take no room in the state file.
                let was_told = outbox
                    .hosts
                    .get(&event.host)
                    .is_some_and(|host| host.failure_told.get(event.family));
                let mut told = was_told;
                let category = categorise(&target.config, &mut told, &event);
                if told != was_told {
                    outbox
                        .host(&event.host)
                        .failure_told
                        .set(event.family, told);
                }
                if let Some(category) = category {
                    outbox.push(Notice {
                        category,
                        event: event.clone(),
                    });
                }
            }
        }
        let cursor = self.follower.cursor();
        if cursor.is_some() && cursor != self.state.saved.cursor {
            self.state.saved.cursor = cursor;
            self.dirty = true;
        }
        Ok(fresh)
    }

    /// The messages due at `now`, at most one per target that is neither busy nor backing off;
    /// each is marked under way until [`Notifier::settle`]. A send or retry time further ahead of
    /// `now` than it was set to be (the clock stepped back) is brought back first.
    pub fn due(&mut self, now: SystemTime) -> Vec<(usize, Message)> {
        let mut due = Vec::new();
        for (index, target) in self.targets.iter_mut().enumerate() {
            let outbox = outbox_of(&mut self.state, &target.config.id);
            // The wall clock may have been stepped back (see `TargetOutbox::clamp_to`): no wait
            // is ever longer than it was when it was set.
            if outbox.clamp_to(now) {
                tracing::warn!(
                    target_id = %target.config.label,
                    "a message was sent at a time ahead of the clock: the clock was set back; the rate limit counts from now"
                );
                self.dirty = true;
            }
            if let Some(at) = target.retry_at {
                let longest = now + backoff(target.failures);
                if at > longest {
                    target.retry_at = Some(longest);
                }
            }
            if target.busy || target.retry_at.is_some_and(|at| at > now) {
                continue;
            }
            if let Some(message) =
                outbox.take_due(&target.config.id, now, target.config.min_interval)
            {
                target.busy = true;
                due.push((index, message));
            }
        }
        due
    }

    /// The delivery of target `index`.
    pub fn deliverer(&self, index: usize) -> Option<Arc<dyn Deliver>> {
        self.targets.get(index).map(|target| target.deliver.clone())
    }

    /// Records what delivering `message` to target `index` gave. Not saved yet.
    pub fn settle(
        &mut self,
        index: usize,
        message: &Message,
        result: Result<(), DeliveryError>,
        now: SystemTime,
    ) {
        let Some(target) = self.targets.get_mut(index) else {
            return;
        };
        target.busy = false;
        self.dirty = true;
        let outbox = outbox_of(&mut self.state, &target.config.id);
        match result {
            Ok(()) => {
                outbox.delivered(message, now);
                if target.failures > 0 {
                    tracing::info!(
                        target_id = %target.config.label,
                        failures = target.failures,
                        "the target takes messages again"
                    );
                }
                target.failures = 0;
                target.retry_at = None;
                tracing::info!(
                    target_id = %target.config.label,
                    host = %message.host,
                    events = message.notices.len() as u64 + u64::from(message.omitted.count()),
                    "notification delivered"
                );
            }
            Err(error) => {
                outbox.failed(message);
                target.failures = target.failures.saturating_add(1);
                let backoff = backoff(target.failures);
                target.retry_at = Some(now + backoff);
                // The error names the target and URL or program; never a token.
                tracing::warn!(
                    %error,
                    failures = target.failures,
                    retry_in_secs = backoff.as_secs(),
                    "notification not delivered; it stays owed and is retried"
                );
            }
        }
    }

    /// Saves the cursor and every outbox together.
    pub fn save(&mut self) -> Result<(), NotifierError> {
        self.state.save()?;
        self.dirty = false;
        Ok(())
    }

    /// Whether the state changed since the last save (or was never saved).
    pub fn dirty(&self) -> bool {
        self.dirty || self.state.saves == 0
    }

    /// Events owed across all targets (held back, failing or not yet sent).
    pub fn owed(&self) -> usize {
        self.state
            .saved
            .targets
            .values()
            .map(TargetOutbox::owed)
            .sum()
    }

    /// Whether any delivery is under way.
    pub fn busy(&self) -> bool {
        self.targets.iter().any(|target| target.busy)
    }

    /// Events read and repeats skipped in this process.
    pub fn counts(&self) -> (u64, u64) {
        (self.read, self.repeats)
    }

    /// Times the state file was written in this process.
    pub fn saves(&self) -> u64 {
        self.state.saves
    }

    pub fn state_path(&self) -> &PathBuf {
        &self.state.path
    }

    /// When the next message may become due (a rate limit ending, a backoff ending); `None` when
    /// nothing is owed that is not under way. Times are as set: after a step back of the clock,
    /// only [`Notifier::due`] brings them back.
    pub fn next_due(&self) -> Option<SystemTime> {
        self.targets
            .iter()
            .filter(|target| !target.busy)
            .filter_map(|target| {
                let outbox = self.state.saved.targets.get(&target.config.id)?;
                let due = outbox.next_due(target.config.min_interval)?;
                Some(target.retry_at.map_or(due, |retry| retry.max(due)))
            })
            .min()
    }
}

/// Drops the outboxes of targets not in `targets` (warning when one still owed messages) and
/// makes an empty one for each new target, keyed by id.
fn keep_outboxes_of(state: &mut NotifyState, targets: &[Configured]) {
    let ids: Vec<&str> = targets
        .iter()
        .map(|(config, _)| config.id.as_str())
        .collect();
    state.saved.targets.retain(|id, outbox| {
        let kept = ids.contains(&id.as_str());
        if !kept && outbox.owed() > 0 {
            tracing::warn!(
                target_id = %dyndns_config::notify::shown_id(id),
                owed = outbox.owed(),
                "a target no longer in the config still owed messages; they are dropped"
            );
        }
        kept
    });
    for id in ids {
        state.saved.targets.entry(id.to_owned()).or_default();
    }
}

fn outbox_of<'a>(state: &'a mut NotifyState, id: &str) -> &'a mut TargetOutbox {
    state.saved.targets.entry(id.to_owned()).or_default()
}

/// 5 s, 10 s, 20 s, … up to ten minutes.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF)
}
