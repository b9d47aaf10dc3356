//! Why this exists: "what failed last for this host, and does it still fail?" is asked by
//! `dyndns-worker status` and by the frontend's `/status` (and its status page), both from
//! `history.jsonl`; the answer is folded here once, event by event, so a reader that follows the
//! history (the frontend) and one that reads it whole (the command) agree.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::history::{EventKind, HistoryEvent};
use crate::state::Family;

/// A host's most recent failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastError {
    #[serde(with = "crate::rfc3339")]
    pub time: SystemTime,
    pub family: Family,
    /// `backend_failure` (retried) or `dead_letter` (given up).
    pub event: EventKind,
    pub error: Option<String>,
    /// No change of that family was applied since: the failure still stands.
    pub current: bool,
}

/// The last error per host, built by [`LastErrors::observe`]-ing events oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastErrors {
    hosts: BTreeMap<String, LastError>,
}

impl LastErrors {
    /// Folds `events`, oldest first, into a new map.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a HistoryEvent>) -> LastErrors {
        let mut errors = LastErrors::default();
        for event in events {
            errors.observe(event);
        }
        errors
    }

    /// The next event, in the file's order (the worker's clock may step back; the order of its
    /// appends does not): a failure becomes the host's last error, an applied change of the same
    /// family makes it past.
    pub fn observe(&mut self, event: &HistoryEvent) {
        match event.event {
            EventKind::Applied => {
                if let Some(last) = self.hosts.get_mut(&event.host) {
                    if last.family == event.family {
                        last.current = false;
                    }
                }
            }
            EventKind::BackendFailure | EventKind::DeadLetter => {
                self.hosts.insert(
                    event.host.clone(),
                    LastError {
                        time: event.time,
                        family: event.family,
                        event: event.event,
                        error: event.error.clone(),
                        current: true,
                    },
                );
            }
        }
    }

    pub fn get(&self, host: &str) -> Option<&LastError> {
        self.hosts.get(host)
    }

    /// Every host with an error, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &LastError)> {
        self.hosts
            .iter()
            .map(|(host, error)| (host.as_str(), error))
    }

    /// Takes the map, for a caller that hands each error on.
    pub fn into_map(self) -> BTreeMap<String, LastError> {
        self.hosts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn event(kind: EventKind, family: Family, secs: u64) -> HistoryEvent {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_449_600 + secs);
        HistoryEvent {
            v: crate::HISTORY_VERSION,
            time: at,
            event: kind,
            host: "home.dyn.example.com".into(),
            family,
            old: Vec::new(),
            new: None,
            user: "router".into(),
            client: None,
            backend: Some("zonefile".into()),
            zone: Some("dyn.example.com".into()),
            job: uuid::Uuid::nil(),
            received_at: at,
            ms: Some(3),
            changed: true,
            failures: 1,
            error: (kind != EventKind::Applied).then(|| "refused".to_owned()),
        }
    }

    #[test]
    fn a_failure_stays_current_until_its_own_family_is_applied() {
        let failed = event(EventKind::DeadLetter, Family::V6, 1);
        let mut errors = LastErrors::from_events([&failed]);
        errors.observe(&event(EventKind::Applied, Family::V4, 2));
        let last = errors.get("home.dyn.example.com").expect("an error");
        assert!(last.current, "an IPv4 change does not mend IPv6");
        assert_eq!(last.error.as_deref(), Some("refused"));
        errors.observe(&event(EventKind::Applied, Family::V6, 3));
        assert!(!errors.get("home.dyn.example.com").expect("kept").current);
        errors.observe(&failed);
        assert!(
            errors.get("home.dyn.example.com").expect("kept").current,
            "a repeated old event is still the last one observed"
        );
    }
}
