//! Why this exists: which history events a target hears of, and as what, decided once: `change`
//! targets hear of applied changes that wrote DNS, `failure` targets of dead letters and backend
//! failures, and a target that heard of a failure hears of its recovery.

use dyndns_config::notify::NotifyTarget;
use dyndns_queue::{EventKind, HistoryEvent};
use serde::{Deserialize, Serialize};

/// What a message tells, in the words the messages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// An applied change that wrote DNS.
    Change,
    /// An applied change after failed attempts this target was told of.
    Recovery,
    /// A dead letter, or a backend failure being retried.
    Failure,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Change => "change",
            Category::Recovery => "recovery",
            Category::Failure => "failure",
        }
    }
}

/// What `event` is for `target`, or `None` when the target does not hear of it. `failure_told`
/// is the target's memory, per host and family (the event's), of a failure it was told of and no
/// recovery since.
pub fn categorise(
    target: &NotifyTarget,
    failure_told: &mut bool,
    event: &HistoryEvent,
) -> Option<Category> {
    if !target.wants_user(&event.user) {
        return None;
    }
    match event.event {
        EventKind::Applied => {
            let recovered = event.failures > 0 && *failure_told;
            // Whatever happened before, the host's records of this family are right again.
            *failure_told = false;
            if recovered {
                Some(Category::Recovery)
            } else if event.changed && target.on_change {
                Some(Category::Change)
            } else {
                None
            }
        }
        EventKind::DeadLetter | EventKind::BackendFailure if target.on_failure => {
            *failure_told = true;
            Some(Category::Failure)
        }
        EventKind::DeadLetter | EventKind::BackendFailure => None,
    }
}
