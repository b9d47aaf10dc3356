//! Why this exists: `dyndns-worker status [--json]` answers "is it working?" in one place: per host
//! the addresses `applied.json` records and since when, and the last error the history holds; the
//! jobs pending in `new/`, in flight in `cur/` and dead-lettered in `failed/`; whether a worker
//! holds the spool lock now (a read-only, non-blocking probe) and since when (the heartbeat). It
//! only reads, needs no lock, and works as a member of the state folder's group (what only root
//! may read, `failed/` and the lock, is then reported as unknown).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use dyndns_config::Config;
use dyndns_queue::{
    each_history_line, AppliedState, Family, FamilyState, Heartbeat, LastError, LastErrors,
    LockHolder, SpoolDirs,
};
use serde::Serialize;

use crate::show_history::when;
use crate::shown::Shown;

/// The whole answer; `--json` prints it as it is.
#[derive(Debug, Serialize)]
pub struct Status {
    pub worker: WorkerStatus,
    /// Job files in `new/`; `null` when the folder cannot be read.
    pub pending: Option<usize>,
    /// Job files in `cur/`.
    pub in_flight: Option<usize>,
    /// Dead letters in `failed/` (their `.reason` files not counted).
    pub failed: Option<usize>,
    pub hosts: Vec<HostStatus>,
    /// Problems met reading the state, history or heartbeat; the rest is still shown.
    pub problems: Vec<String>,
    pub history_unreadable_lines: usize,
}

#[derive(Debug, Serialize)]
pub struct WorkerStatus {
    /// `held` (a worker runs), `free`, or `unknown` (the lock file is root's).
    pub lock: &'static str,
    pub heartbeat: Option<Heartbeat>,
    /// Seconds since the last beat.
    pub heartbeat_age_secs: Option<u64>,
    /// `heartbeat.json` is there but cannot be read (its problem is in `problems`).
    #[serde(skip)]
    pub heartbeat_unreadable: bool,
}

#[derive(Debug, Serialize)]
pub struct HostStatus {
    pub host: String,
    pub ipv4: Option<FamilyStatus>,
    pub ipv6: Option<FamilyStatus>,
    pub last_error: Option<LastError>,
}

#[derive(Debug, Serialize)]
pub struct FamilyStatus {
    /// What DNS holds by the last change applied; `null` after a delete or before any.
    pub address: Option<IpAddr>,
    pub deleted: bool,
    /// When that change was applied.
    #[serde(serialize_with = "optional_time")]
    pub changed_at: Option<SystemTime>,
}

fn time<S: serde::Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&dyndns_queue::rfc3339::format(*time).unwrap_or_default())
}

fn optional_time<S: serde::Serializer>(
    value: &Option<SystemTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => time(value, serializer),
        None => serializer.serialize_none(),
    }
}

fn family_status(state: Option<&FamilyState>) -> Option<FamilyStatus> {
    let state = state?;
    Some(FamilyStatus {
        address: state.address,
        deleted: state.is_deleted(),
        changed_at: state.applied_at(),
    })
}

/// Gathers the status of `config`'s worker, spool and hosts.
pub fn gather(config: &Config, now: SystemTime) -> Status {
    let mut problems = Vec::new();
    let dirs = SpoolDirs::at(&config.spool_dir);
    let lock = match dirs.lock_holder() {
        LockHolder::Held => "held",
        LockHolder::Free => "free",
        LockHolder::Unknown(_) => "unknown",
    };
    let state_dir = &config.worker.state_dir;
    let mut heartbeat_unreadable = false;
    let heartbeat = Heartbeat::read(state_dir).unwrap_or_else(|err| {
        problems.push(err.to_string());
        heartbeat_unreadable = true;
        None
    });
    let state = AppliedState::load(&AppliedState::path_in(state_dir)).unwrap_or_else(|err| {
        problems.push(err.to_string());
        AppliedState::default()
    });
    // Folded line by line: a history of many megabytes is never held whole.
    let mut errors = LastErrors::default();
    let mut unreadable = 0usize;
    if let Err(err) = each_history_line(state_dir, |line| match line {
        Some(event) => errors.observe(&event),
        None => unreadable += 1,
    }) {
        problems.push(err.to_string());
    }
    let mut errors = errors.into_map();
    let mut hosts: Vec<HostStatus> = state
        .hosts()
        .map(|(host, state)| HostStatus {
            host: host.to_owned(),
            ipv4: family_status(state.ipv4.as_ref()),
            ipv6: family_status(state.ipv6.as_ref()),
            last_error: errors.remove(host),
        })
        .collect();
    // Hosts that only ever failed are in the history alone.
    hosts.extend(errors.into_iter().map(|(host, error)| HostStatus {
        host,
        ipv4: None,
        ipv6: None,
        last_error: Some(error),
    }));
    hosts.sort_by(|a, b| a.host.cmp(&b.host));
    Status {
        worker: WorkerStatus {
            lock,
            heartbeat_age_secs: heartbeat.as_ref().map(|beat| beat.age(now).as_secs()),
            heartbeat,
            heartbeat_unreadable,
        },
        pending: dirs.count_new(),
        in_flight: dirs.count_cur(),
        failed: dirs.count_failed(),
        hosts,
        problems,
        history_unreadable_lines: unreadable,
    }
}

fn or_unknown(count: Option<usize>) -> String {
    count.map_or_else(|| "?".to_owned(), |count| count.to_string())
}

/// The worker line: running or not, by the lock when it can be probed, else by the heartbeat,
/// judged against `now`: a beat from the future (a clock stepped back) is fresh only within the
/// same margin as one from the past.
fn worker_line(worker: &WorkerStatus, now: SystemTime) -> String {
    let beat = worker.heartbeat.as_ref();
    let age = worker.heartbeat_age_secs.unwrap_or(0);
    let describe = |beat: &Heartbeat| {
        format!(
            "pid {}, {} mode, version {}, started {}, last beat {age} s ago",
            beat.pid,
            beat.mode.as_str(),
            Shown(&beat.version),
            when(beat.started_at)
        )
    };
    match (worker.lock, beat) {
        ("held", Some(beat)) if beat.is_running() => format!("worker: running ({})", describe(beat)),
        ("held", _) => "worker: running (holds the spool lock; no heartbeat yet)".to_owned(),
        ("free", Some(beat)) => match beat.stopped_at {
            Some(stopped) => format!(
                "worker: not running (the last one, pid {}, stopped {})",
                beat.pid,
                when(stopped)
            ),
            None => format!(
                "worker: not running (the last one, pid {}, beat last at {} and did not stop cleanly)",
                beat.pid,
                when(beat.beat_at)
            ),
        },
        ("free", None) if worker.heartbeat_unreadable => {
            "worker: not running (its heartbeat is unreadable; see the problems below)".to_owned()
        }
        ("free", None) => "worker: not running (none has run here yet)".to_owned(),
        (_, Some(beat)) => {
            let max = Duration::from_secs(beat.interval_secs.saturating_mul(2).saturating_add(5));
            let fresh = beat.is_recent(now, max);
            let verdict = match (beat.is_running(), fresh) {
                (true, true) => "running by its heartbeat",
                (true, false) => "not beating: stopped or hung",
                (false, _) => "stopped",
            };
            format!(
                "worker: {verdict} (the lock is root's and was not probed; {})",
                describe(beat)
            )
        }
        (_, None) if worker.heartbeat_unreadable => {
            "worker: unknown (its heartbeat is unreadable, and the lock is root's)".to_owned()
        }
        (_, None) => "worker: unknown (no heartbeat, and the lock is root's)".to_owned(),
    }
}

/// `status` for people, as of `now`.
pub fn render(status: &Status, now: SystemTime) -> String {
    let mut out = worker_line(&status.worker, now);
    out.push('\n');
    out.push_str(&format!(
        "spool: {} pending (new/), {} in flight (cur/), {} failed (failed/)\n",
        or_unknown(status.pending),
        or_unknown(status.in_flight),
        or_unknown(status.failed)
    ));
    if status.hosts.is_empty() {
        out.push_str("no host has been updated yet\n");
    }
    for host in &status.hosts {
        out.push_str(&format!("{}\n", host.host));
        for (family, state) in [(Family::V4, &host.ipv4), (Family::V6, &host.ipv6)] {
            let Some(state) = state else {
                continue;
            };
            let what = match (state.address, state.deleted) {
                (Some(address), _) => address.to_string(),
                (None, true) => "deleted".to_owned(),
                (None, false) => "none applied".to_owned(),
            };
            let since = state
                .changed_at
                .map(|at| format!(" since {}", when(at)))
                .unwrap_or_default();
            out.push_str(&format!("  {family}  {what}{since}\n"));
        }
        if let Some(error) = &host.last_error {
            out.push_str(&format!(
                "  last error {} {} {}{}: {}\n",
                when(error.time),
                error.family,
                error.event.as_str(),
                if error.current {
                    " (still failing)"
                } else {
                    " (applied since)"
                },
                Shown(error.error.as_deref().unwrap_or("")),
            ));
        }
    }
    for problem in &status.problems {
        out.push_str(&format!("problem: {}\n", Shown(problem)));
    }
    if status.history_unreadable_lines > 0 {
        out.push_str(&format!(
            "history: {} unreadable line(s) skipped\n",
            status.history_unreadable_lines
        ));
    }
    out
}

/// `dyndns-worker status [--json]`.
pub fn print_status(config: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    let path = dyndns_config::resolve_path(config.as_deref());
    let config = Config::load(&path)?;
    let now = SystemTime::now();
    let status = gather(&config, now);
    if json {
        let text = serde_json::to_string_pretty(&status).context("cannot encode the status")?;
        dyndns_config::stdout::println(&text)?;
    } else {
        dyndns_config::stdout::print(&render(&status, now))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
