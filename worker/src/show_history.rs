//! Why this exists: `dyndns-worker history [HOST] [--since DURATION] [--json]` prints what the
//! worker did, from every history file (rotated ones first, so oldest first). It only reads: no
//! lock, so it runs beside a working worker, as root or as a member of the state folder's group.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use dyndns_config::Config;
use dyndns_queue::{each_history_line, EventKind, HistoryEvent};

use crate::shown::Shown;

/// Which events to print.
pub struct HistoryFilter {
    /// Only this host (any case, a trailing dot ignored).
    pub host: Option<String>,
    /// Only events at most this old.
    pub since: Option<Duration>,
}

impl HistoryFilter {
    fn keeps(&self, event: &HistoryEvent, now: SystemTime) -> bool {
        let host = self.host.as_deref().map(canonical);
        host.is_none_or(|host| event.host == host)
            && self
                .since
                .is_none_or(|since| now.checked_sub(since).is_none_or(|from| event.time >= from))
    }
}

/// A host as typed on a command line, as the history spells it.
pub(crate) fn canonical(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A time to the second, for people.
pub(crate) fn when(time: SystemTime) -> String {
    match dyndns_queue::rfc3339::format(time) {
        Some(_) => humantime::format_rfc3339_seconds(time).to_string(),
        None => "?".to_owned(),
    }
}

/// A name as it is when it is plain printable ASCII (host and user names are), else quoted and
/// escaped: a line in the history cannot forge another on the terminal.
pub(crate) fn readable(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_graphic()) {
        text.to_owned()
    } else {
        Shown(text).to_string()
    }
}

/// One event as a line for people: time, what, host and family, old → new, who from where, which
/// backend and zone, how long, the job, and the error if any. Values from the spool or a backend
/// are escaped as in the worker's log.
pub fn human_line(event: &HistoryEvent) -> String {
    let old = event.old_shown(",", "-");
    let new = event.new_shown();
    let mut line = format!(
        "{} {:<15} {} {} {old} -> {new} user {}",
        when(event.time),
        event.event.as_str(),
        readable(&event.host),
        event.family,
        readable(&event.user),
    );
    if let Some(client) = event.client {
        line.push_str(&format!(" from {client}"));
    }
    if let Some(backend) = &event.backend {
        line.push_str(&format!(" via {}", readable(backend)));
    }
    if let Some(zone) = &event.zone {
        line.push_str(&format!(" zone {}", readable(zone)));
    }
    if let Some(ms) = event.ms {
        line.push_str(&format!(" {ms} ms"));
    }
    match event.event {
        EventKind::Applied if !event.changed => line.push_str(" (already in place)"),
        EventKind::Applied if event.failures > 0 => {
            line.push_str(&format!(" (recovered after {} failures)", event.failures))
        }
        EventKind::BackendFailure => line.push_str(&format!(" (attempt {})", event.failures)),
        _ => {}
    }
    line.push_str(&format!(" job {}", event.job));
    if let Some(error) = &event.error {
        line.push_str(&format!(": {}", Shown(error)));
    }
    line
}

/// Prints the events `filter` keeps, as stored (`json`) or one line each for people, as they are
/// read (a history of many megabytes is never held whole); a count of unreadable lines goes to
/// stderr.
pub fn print_history(
    config: Option<PathBuf>,
    filter: &HistoryFilter,
    json: bool,
) -> anyhow::Result<()> {
    let path = dyndns_config::resolve_path(config.as_deref());
    let config = Config::load(&path)?;
    let now = SystemTime::now();
    let mut out = dyndns_config::stdout::Lines::new();
    let mut unreadable = 0usize;
    let mut failed = None;
    each_history_line(&config.worker.state_dir, |line| match line {
        Some(event) if failed.is_none() && filter.keeps(&event, now) => {
            let line = if json {
                serde_json::to_string(&event).context("cannot encode an event")
            } else {
                Ok(human_line(&event))
            };
            if let Err(err) = line.and_then(|line| Ok(out.line(&line)?)) {
                failed = Some(err);
            }
        }
        Some(_) => {}
        None => unreadable += 1,
    })?;
    if let Some(err) = failed {
        return Err(err);
    }
    out.finish()?;
    if unreadable > 0 {
        eprintln!("dyndns-worker: skipped {unreadable} unreadable line(s) in the history files");
    }
    Ok(())
}
