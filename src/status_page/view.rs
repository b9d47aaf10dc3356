//! Why this exists: what one user may see on the status page, decided apart from reading files and
//! from HTML, so the rule "a user sees their own hosts, an admin every host" is tested on plain
//! values. Its inputs are what the worker wrote (applied.json, the last errors `LastErrors` folded
//! from the history, the timeline's history events, heartbeat) and the config's user; its output
//! is a [`Page`] that `render.rs` turns into HTML.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dyndns_config::names::HostPattern;
use dyndns_config::{Config, User};
use dyndns_queue::{
    AppliedState, EventKind, FamilyState, Heartbeat, HistoryEvent, LastError, LastErrors,
};

use super::history_window::{cut_text, MAX_ERROR_CHARS};

/// Days the timeline covers, today included.
pub const TIMELINE_DAYS: usize = 30;

/// The newest events listed under a host.
pub const RECENT_EVENTS: usize = 10;

const DAY_SECS: u64 = 86_400;

/// The start of the timeline: midnight (UTC) of the oldest day shown.
pub fn window_start(now: SystemTime) -> SystemTime {
    let today = day_of(now);
    UNIX_EPOCH + Duration::from_secs(today.saturating_sub(TIMELINE_DAYS as u64 - 1) * DAY_SECS)
}

/// Days since 1970 (UTC).
pub fn day_of(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        / DAY_SECS
}

/// Everything the page shows.
#[derive(Debug)]
pub struct Page {
    pub user: String,
    pub admin: bool,
    pub now: SystemTime,
    pub worker: WorkerState,
    /// The worker's queue: admins only.
    pub queue: Option<Queue>,
    pub hosts: Vec<HostView>,
    /// What could not be read or was left out; the rest is still shown.
    pub notes: Vec<String>,
}

/// Whether a worker is running, judged by its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Beating within two intervals (and a few seconds of slack).
    Running {
        since: SystemTime,
        beat_at: SystemTime,
    },
    /// No clean exit recorded, but no beat for longer than two intervals: killed, or hung.
    Silent { beat_at: SystemTime },
    /// Stopped cleanly (a `--run-once` worker from cron ends so after every run).
    Stopped { at: SystemTime },
    /// No heartbeat file: no worker ever ran on this state folder.
    Never,
    /// The heartbeat could not be read (the reason is in the page's notes).
    Unknown,
}

impl WorkerState {
    pub fn of(heartbeat: Option<&Heartbeat>, now: SystemTime) -> WorkerState {
        let Some(beat) = heartbeat else {
            return WorkerState::Never;
        };
        if let Some(at) = beat.stopped_at {
            return WorkerState::Stopped { at };
        }
        let recent = Duration::from_secs(beat.interval_secs.saturating_mul(2).saturating_add(5));
        if beat.is_recent(now, recent) {
            WorkerState::Running {
                since: beat.started_at,
                beat_at: beat.beat_at,
            }
        } else {
            WorkerState::Silent {
                beat_at: beat.beat_at,
            }
        }
    }
}

/// Job counts; `None` where the folder could not be listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queue {
    pub pending: Option<usize>,
    pub in_flight: Option<usize>,
    pub failed: DeadLetters,
    /// Dead-letter events in the timeline's window, from the history (readable when `failed/` is
    /// not).
    pub dead_letters_in_window: usize,
}

/// How many jobs are in `failed/`, and who counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeadLetters {
    /// This process listed the folder.
    Listed(usize),
    /// `failed/` is root's alone: the worker counted it at its beat `at`.
    AtBeat { count: u64, at: SystemTime },
    /// Neither: no beat carried a count.
    #[default]
    Unknown,
}

/// One host's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostView {
    pub name: String,
    pub ipv4: Option<FamilyView>,
    pub ipv6: Option<FamilyView>,
    /// The newest change applied (either family), by applied.json.
    pub last_change: Option<SystemTime>,
    /// From the whole history, as `/status` shows it (error text cut to [`MAX_ERROR_CHARS`]).
    pub last_failure: Option<LastError>,
    /// Oldest day first; the last is today.
    pub days: Vec<Day>,
    /// Newest first, at most [`RECENT_EVENTS`].
    pub recent: Vec<HistoryEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyView {
    /// What DNS holds by the last change applied; `None` after a delete or before any.
    pub address: Option<IpAddr>,
    pub deleted: bool,
    pub since: Option<SystemTime>,
}

/// One day of the timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    /// Days since 1970 (UTC).
    pub day: u64,
    /// Changes applied that wrote to DNS.
    pub changes: u32,
    /// Backend failures and dead letters.
    pub failures: u32,
}

/// What the page is made from.
pub struct Sources<'a> {
    pub config: &'a Config,
    pub user: &'a User,
    pub now: SystemTime,
    pub applied: &'a AppliedState,
    /// Each host's last failure (`StatusReader`, the same as `/status`).
    pub last_errors: &'a LastErrors,
    /// The timeline's history events in any order, repeats included.
    pub events: &'a [&'a HistoryEvent],
    /// From the heartbeat ([`WorkerState::of`]).
    pub worker: WorkerState,
    /// Counted only for an admin.
    pub queue: Option<Queue>,
    pub notes: Vec<String>,
}

/// May `user` see `host` on the page? Their own hosts (exact, below a pattern, LAN hosts), or all
/// for an admin: the same rule that lets them update it.
pub fn may_see(user: &User, host: &str) -> bool {
    user.admin || user.may_update(host)
}

/// Builds the page for `sources.user`.
pub fn build(sources: Sources<'_>) -> Page {
    let Sources {
        config,
        user,
        now,
        applied,
        last_errors,
        events,
        worker,
        queue,
        notes,
    } = sources;
    let since = window_start(now);
    let mut seen = HashSet::new();
    let mut mine: Vec<&HistoryEvent> = events
        .iter()
        .copied()
        .filter(|event| event.time >= since && may_see(user, &event.host))
        .filter(|event| seen.insert(event.dedupe_key()))
        .collect();
    mine.sort_by_key(|event| event.time);

    let mut names: BTreeSet<&str> = BTreeSet::new();
    let owners: Vec<&User> = if user.admin {
        config.users.iter().collect()
    } else {
        vec![user]
    };
    for owner in owners {
        for pattern in &owner.hosts {
            if let HostPattern::Exact(name) = pattern {
                names.insert(name);
            }
        }
        names.extend(
            owner
                .lan_hosts
                .iter()
                .map(|lan_host| lan_host.name.as_str()),
        );
    }
    names.extend(
        applied
            .hosts()
            .map(|(host, _)| host)
            .filter(|host| may_see(user, host)),
    );
    names.extend(mine.iter().map(|event| event.host.as_str()));
    // A host whose only trace is a failure older than the window still shows it, as on `/status`.
    names.extend(
        last_errors
            .iter()
            .map(|(host, _)| host)
            .filter(|host| may_see(user, host)),
    );

    let mut per_host: BTreeMap<&str, Vec<&HistoryEvent>> = BTreeMap::new();
    for event in &mine {
        per_host.entry(&event.host).or_default().push(event);
    }
    let hosts = names
        .into_iter()
        .map(|name| {
            host_view(
                name,
                applied,
                last_errors.get(name),
                per_host.get(name).map_or(&[], Vec::as_slice),
                now,
            )
        })
        .collect();
    let queue = queue.filter(|_| user.admin).map(|queue| Queue {
        dead_letters_in_window: mine
            .iter()
            .filter(|event| event.event == EventKind::DeadLetter)
            .count(),
        ..queue
    });
    Page {
        user: user.name.clone(),
        admin: user.admin,
        now,
        worker,
        queue,
        hosts,
        notes,
    }
}

fn family_view(state: Option<&FamilyState>) -> Option<FamilyView> {
    let state = state?;
    Some(FamilyView {
        address: state.address,
        deleted: state.is_deleted(),
        since: state.applied_at(),
    })
}

/// One host from applied.json, its last error and its events (oldest first, inside the window,
/// deduped).
fn host_view(
    name: &str,
    applied: &AppliedState,
    last_error: Option<&LastError>,
    events: &[&HistoryEvent],
    now: SystemTime,
) -> HostView {
    let state = applied.host(name);
    let ipv4 = family_view(state.and_then(|state| state.ipv4.as_ref()));
    let ipv6 = family_view(state.and_then(|state| state.ipv6.as_ref()));
    let last_change = [&ipv4, &ipv6]
        .into_iter()
        .flatten()
        .filter_map(|family| family.since)
        .max();
    let today = day_of(now);
    let first = today.saturating_sub(TIMELINE_DAYS as u64 - 1);
    let mut days: Vec<Day> = (first..=today)
        .map(|day| Day {
            day,
            ..Day::default()
        })
        .collect();
    for event in events {
        // An event dated after now (a clock stepped back) counts on today.
        let index = day_of(event.time).clamp(first, today) - first;
        if let Some(day) = usize::try_from(index)
            .ok()
            .and_then(|index| days.get_mut(index))
        {
            match event.event {
                EventKind::Applied if event.changed => day.changes += 1,
                EventKind::Applied => {}
                EventKind::BackendFailure | EventKind::DeadLetter => day.failures += 1,
            }
        }
    }
    let recent = events
        .iter()
        .rev()
        .take(RECENT_EVENTS)
        .map(|event| (*event).clone())
        .collect();
    let last_failure = last_error.cloned().map(|mut failure| {
        if let Some(error) = &mut failure.error {
            cut_text(error, MAX_ERROR_CHARS);
        }
        failure
    });
    HostView {
        name: name.to_owned(),
        ipv4,
        ipv6,
        last_change,
        last_failure,
        days,
        recent,
    }
}

#[cfg(test)]
pub(super) mod tests;
