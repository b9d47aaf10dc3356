//! Why this exists: what each target still owes, per host, and the rate limit: at most one message
//! per host per `min_interval`, the events held back summarised in the next one. A pure state
//! machine on a given clock, so the tests step through hours without waiting for them; it is saved
//! with the cursor (`state.rs`), which is what makes "never lost, never resent" hold.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use dyndns_queue::{Family, HistoryEvent};
use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::message::Message;

/// Events a message describes one by one; older ones held back are only counted. A notifier that
/// was down for a day owes one message per host, not a thousand lines.
pub const KEEP_PER_HOST: usize = 10;

/// One event a target is to hear of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub category: Category,
    pub event: HistoryEvent,
}

/// Events held back beyond [`KEEP_PER_HOST`]: counted by category, from the oldest one's time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omitted {
    pub changes: u32,
    pub recoveries: u32,
    pub failures: u32,
    #[serde(with = "crate::time_text::optional", default)]
    pub since: Option<SystemTime>,
}

impl Omitted {
    pub fn count(&self) -> u32 {
        self.changes + self.recoveries + self.failures
    }

    fn add(&mut self, notice: &Notice) {
        match notice.category {
            Category::Change => self.changes += 1,
            Category::Recovery => self.recoveries += 1,
            Category::Failure => self.failures += 1,
        }
        let time = notice.event.time;
        self.since = Some(self.since.map_or(time, |since| since.min(time)));
    }

    /// What is left after a message that carried `sent` was delivered.
    fn minus(&self, sent: &Omitted) -> Omitted {
        let rest = Omitted {
            changes: self.changes.saturating_sub(sent.changes),
            recoveries: self.recoveries.saturating_sub(sent.recoveries),
            failures: self.failures.saturating_sub(sent.failures),
            since: self.since,
        };
        if rest.count() == 0 {
            Omitted::default()
        } else {
            rest
        }
    }
}

/// Per address family, whether a target was told of a failure and of no recovery since. The
/// worker fails and recovers each family of a host apart (an AAAA may go through while A fails),
/// so one flag per host lost A's recovery when AAAA applied first, or told it as a plain change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SavedFailureTold")]
pub struct FailureTold {
    pub v4: bool,
    pub v6: bool,
}

impl FailureTold {
    pub fn get(&self, family: Family) -> bool {
        match family {
            Family::V4 => self.v4,
            Family::V6 => self.v6,
        }
    }

    pub fn set(&mut self, family: Family, told: bool) {
        match family {
            Family::V4 => self.v4 = told,
            Family::V6 => self.v6 = told,
        }
    }
}

/// [`FailureTold`] as a state file holds it: per family, or one flag per host as the first
/// notifier saved it (read as told for both, so no recovery goes untold).
#[derive(Deserialize)]
#[serde(untagged)]
enum SavedFailureTold {
    Host(bool),
    Families { v4: bool, v6: bool },
}

impl From<SavedFailureTold> for FailureTold {
    fn from(saved: SavedFailureTold) -> FailureTold {
        match saved {
            SavedFailureTold::Host(told) => FailureTold { v4: told, v6: told },
            SavedFailureTold::Families { v4, v6 } => FailureTold { v4, v6 },
        }
    }
}

/// One host's part of a target's outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOutbox {
    /// When the last message about this host was delivered (the rate limit counts from it).
    /// Never ahead of the clock once [`TargetOutbox::clamp_to`] has seen it.
    #[serde(with = "crate::time_text::optional", default)]
    pub last_sent: Option<SystemTime>,
    /// Owed, oldest first, at most [`KEEP_PER_HOST`] while no delivery is under way.
    pub pending: Vec<Notice>,
    /// Owed and older than `pending`, only counted.
    pub omitted: Omitted,
    /// Per family, the target was told of a failure and of no recovery since.
    pub failure_told: FailureTold,
    /// A delivery of `pending`'s first entries is under way: nothing is dropped from the front
    /// until it settles. Not saved: after a restart nothing is under way.
    #[serde(skip)]
    in_flight: bool,
}

impl HostOutbox {
    fn due_at(&self, min_interval: Duration) -> Option<SystemTime> {
        if self.pending.is_empty() || self.in_flight {
            return None;
        }
        Some(match self.last_sent {
            None => SystemTime::UNIX_EPOCH,
            Some(sent) => sent + min_interval,
        })
    }

    fn trim(&mut self) {
        if self.in_flight {
            return;
        }
        while self.pending.len() > KEEP_PER_HOST {
            let oldest = self.pending.remove(0);
            self.omitted.add(&oldest);
        }
    }
}

/// Everything one target owes, by host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetOutbox {
    pub hosts: BTreeMap<String, HostOutbox>,
}

impl TargetOutbox {
    /// The host's memory that `categorise` updates.
    pub fn host(&mut self, host: &str) -> &mut HostOutbox {
        self.hosts.entry(host.to_owned()).or_default()
    }

    /// Queues `notice` for its host.
    pub fn push(&mut self, notice: Notice) {
        let host = self.host(&notice.event.host);
        host.pending.push(notice);
        host.trim();
    }

    /// How many events are owed, counted ones included.
    pub fn owed(&self) -> usize {
        self.hosts
            .values()
            .map(|host| host.pending.len() + host.omitted.count() as usize)
            .sum()
    }

    /// Sets every send time ahead of `now` to `now`; true if one was. A send time in the future
    /// means the wall clock was stepped back since (or the state was saved under a clock that ran
    /// ahead): left as it is, it would hold the host's next message for the size of the step plus
    /// `min_interval` (an hour's step, an hour's silence). Counted as `now`, the rate limit holds
    /// for `min_interval` from the step, never more. Clamping, rather than reading a future time
    /// as `now` at each look, keeps the limit: a host sent to just before the step still waits its
    /// `min_interval`. A step forward then back (a correction) sends at most one message per host
    /// early, the one the forward step made due; the step back then costs nothing more.
    pub fn clamp_to(&mut self, now: SystemTime) -> bool {
        let mut clamped = false;
        for host in self.hosts.values_mut() {
            if host.last_sent.is_some_and(|sent| sent > now) {
                host.last_sent = Some(now);
                clamped = true;
            }
        }
        clamped
    }

    /// The message for the host whose rate limit has passed and that has waited longest, marked
    /// as under way; `None` when no host is due at `now`.
    pub fn take_due(
        &mut self,
        target: &str,
        now: SystemTime,
        min_interval: Duration,
    ) -> Option<Message> {
        let (name, host) = self
            .hosts
            .iter_mut()
            .filter(|(_, host)| host.due_at(min_interval).is_some_and(|due| due <= now))
            .min_by_key(|(_, host)| host.pending.first().map(|notice| notice.event.time))?;
        host.in_flight = true;
        Some(Message {
            target: target.to_owned(),
            host: name.clone(),
            notices: host.pending.clone(),
            omitted: host.omitted,
        })
    }

    /// `message` reached its target at `now`: what it carried is no longer owed.
    pub fn delivered(&mut self, message: &Message, now: SystemTime) {
        let Some(host) = self.hosts.get_mut(&message.host) else {
            return;
        };
        host.in_flight = false;
        let sent = message.notices.len().min(host.pending.len());
        host.pending.drain(..sent);
        host.omitted = host.omitted.minus(&message.omitted);
        host.last_sent = Some(now);
        host.trim();
    }

    /// `message` did not reach its target: it stays owed, with whatever came since.
    pub fn failed(&mut self, message: &Message) {
        if let Some(host) = self.hosts.get_mut(&message.host) {
            host.in_flight = false;
            host.trim();
        }
    }

    /// When the next host becomes due (for a caller that sleeps until then); `None` when nothing
    /// is owed or everything owed is under way.
    pub fn next_due(&self, min_interval: Duration) -> Option<SystemTime> {
        self.hosts
            .values()
            .filter_map(|host| host.due_at(min_interval))
            .min()
    }
}

#[cfg(test)]
mod tests;
