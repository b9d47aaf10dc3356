//! Why this exists: `dyndns-worker failed list | show ID | retry ID|--all | purge --older-than
//! DAYS`, the operator's way to see what failed and to fix it. Retrying re-checks a dead letter
//! against today's config (the rule admission applies) and against "DNS never rolls back" (a job
//! older than the change last handled for its host and family is refused) before moving it back
//! into `new/`, where the worker takes it up like any job. None of it takes the spool lock, so it
//! works beside a running worker; why that is safe is written in `dyndns_queue`'s
//! `dead_letters.rs`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use dyndns_config::Config;
use dyndns_queue::{AppliedState, DeadLetter, Job, SpoolDirs};
use serde::Serialize;

use crate::show_history::{readable, when};

/// How many dead letters each command handled and refused, for the exit status.
#[derive(Debug, Default)]
pub struct Outcome {
    pub refused: usize,
}

/// A dead letter as `failed list` shows it.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// Its name in `failed/`: what `show`, `retry` take (or a unique prefix of it).
    pub id: String,
    /// `file`, or what else is there (`symbolic link`, `fifo`, `directory`, …).
    pub kind: &'static str,
    pub host: Option<String>,
    pub user: Option<String>,
    /// `ipv4=192.0.2.7`, `ipv6=deleted`, … (empty when the job cannot be read).
    pub families: Vec<String>,
    #[serde(serialize_with = "optional_time")]
    pub received_at: Option<SystemTime>,
    #[serde(serialize_with = "optional_time")]
    pub dead_lettered_at: Option<SystemTime>,
    pub age_secs: u64,
    /// The reason's first line.
    pub reason: Option<String>,
    /// Why the job in it cannot be read (then it cannot be retried either).
    pub problem: Option<String>,
}

fn optional_time<S: serde::Serializer>(
    value: &Option<SystemTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value.and_then(dyndns_queue::rfc3339::format) {
        Some(text) => serializer.serialize_str(&text),
        None => serializer.serialize_none(),
    }
}

fn families(job: &Job) -> Vec<String> {
    job.changes()
        .map(|change| format!("{}={change}", change.family()))
        .collect()
}

/// Reads what `list` shows of one dead letter; never opens anything but a regular file.
fn listed(dirs: &SpoolDirs, letter: &DeadLetter, now: SystemTime) -> Listed {
    let (job, problem) = match dirs.read_dead_letter(letter) {
        Ok(job) => (Some(job), None),
        Err(error) => (None, Some(error.to_string())),
    };
    let reason = match dirs.dead_letter_reason(letter) {
        Ok(reason) => reason.map(|text| text.lines().next().unwrap_or_default().to_owned()),
        Err(error) => Some(format!("(unreadable: {error})")),
    };
    Listed {
        id: letter.id(),
        kind: letter.kind,
        host: job.as_ref().map(|job| job.host.clone()),
        user: job.as_ref().map(|job| job.user.clone()),
        families: job.as_ref().map(families).unwrap_or_default(),
        received_at: job.as_ref().map(|job| job.received_at),
        dead_lettered_at: letter.since,
        age_secs: letter.age(now).as_secs(),
        reason,
        problem,
    }
}

/// `age` for people, to the minute (to the second under one).
fn age(secs: u64) -> String {
    let rounded = if secs < 60 { secs } else { secs - secs % 60 };
    humantime::format_duration(Duration::from_secs(rounded)).to_string()
}

/// One line per dead letter: id, host, families, age, the reason's first line.
pub fn render_list(letters: &[Listed]) -> String {
    if letters.is_empty() {
        return "no dead letters\n".to_owned();
    }
    let mut out = String::new();
    for letter in letters {
        let what = match (&letter.host, &letter.problem) {
            (Some(host), _) => format!("{} {}", readable(host), letter.families.join(",")),
            (None, Some(problem)) => format!("(not a job: {})", readable_line(problem)),
            (None, None) => "(not a job)".to_owned(),
        };
        out.push_str(&format!(
            "{}  {}  {} ago  {}\n",
            readable(&letter.id),
            what,
            age(letter.age_secs),
            letter
                .reason
                .as_deref()
                .map_or("(no reason)".into(), readable)
        ));
    }
    out
}

/// `failed list [--json]`.
pub fn list(config: &Config, json: bool) -> anyhow::Result<Outcome> {
    let dirs = SpoolDirs::at(&config.spool_dir);
    let now = SystemTime::now();
    let letters: Vec<Listed> = dirs
        .dead_letters()?
        .iter()
        .map(|letter| listed(&dirs, letter, now))
        .collect();
    if json {
        let text = serde_json::to_string_pretty(&letters).context("cannot encode the list")?;
        dyndns_config::stdout::println(&text)?;
    } else {
        dyndns_config::stdout::print(&render_list(&letters))?;
    }
    Ok(Outcome::default())
}

/// `failed show ID`: the job as stored and its whole reason.
pub fn show(config: &Config, id: &str) -> anyhow::Result<Outcome> {
    let dirs = SpoolDirs::at(&config.spool_dir);
    let letter = dirs.find_dead_letter(id)?;
    let mut out = format!("dead letter {} ({})\n", readable(&letter.id()), letter.kind);
    if let Some(since) = letter.since {
        out.push_str(&format!(
            "dead-lettered {} ({} ago)\n",
            when(since),
            age(letter.age(SystemTime::now()).as_secs())
        ));
    }
    match dirs.read_dead_letter(&letter) {
        Ok(job) => {
            let value: serde_json::Value = serde_json::from_slice(&job.to_json()?)
                .context("cannot decode a job just encoded")?;
            let text = serde_json::to_string_pretty(&value).context("cannot encode the job")?;
            out.push_str(&format!("job:\n{text}\n"));
        }
        Err(error) => out.push_str(&format!(
            "job: unreadable: {}\n",
            readable(&error.to_string())
        )),
    }
    match dirs.dead_letter_reason(&letter) {
        Ok(Some(reason)) => {
            out.push_str("reason:\n");
            for line in reason.lines() {
                out.push_str(&format!("{}\n", readable_line(line)));
            }
        }
        Ok(None) => out.push_str("reason: none (not dead-lettered by a worker)\n"),
        Err(error) => out.push_str(&format!(
            "reason: unreadable: {}\n",
            readable(&error.to_string())
        )),
    }
    dyndns_config::stdout::print(&out)?;
    Ok(Outcome::default())
}

/// A reason line as it is when it holds no control or deceptive character (the worker escapes
/// those when it writes one), else escaped.
fn readable_line(line: &str) -> String {
    if line
        .chars()
        .all(|c| !c.is_control() && !dyndns_queue::is_deceptive(c))
    {
        line.to_owned()
    } else {
        readable(line)
    }
}

/// Why a dead letter may not go back into `new/`, or `None` when it may.
fn refusal(config: &Config, state: &AppliedState, job: &Job) -> Option<String> {
    let addresses: Vec<_> = job.addresses().collect();
    if let Err(rejection) = config.check_job(&job.user, &job.host, &addresses) {
        return Some(format!("today's config refuses it: {rejection}"));
    }
    for change in job.changes() {
        let family = change.family();
        let Some(handled) = state.handled_received_at(&job.host, family) else {
            continue;
        };
        // The worker's own rule (apply.rs): strictly older is superseded; the job that failed is
        // itself the newest handled, and may be tried again.
        if job.received_at < handled {
            return Some(format!(
                "it was received at {}, before the newest {family} change already handled for {} (received at {}): applying it would roll DNS back; send a new update instead",
                when(job.received_at),
                readable(&job.host),
                when(handled)
            ));
        }
    }
    None
}

/// `failed retry ID` or `--all`: each dead letter re-checked, and moved back into `new/` or
/// refused with why.
pub fn retry(config: &Config, id: Option<&str>) -> anyhow::Result<Outcome> {
    let dirs = SpoolDirs::at(&config.spool_dir);
    let letters = match id {
        Some(id) => vec![dirs.find_dead_letter(id)?],
        None => dirs.dead_letters()?,
    };
    if letters.is_empty() {
        dyndns_config::stdout::println("no dead letters")?;
        return Ok(Outcome::default());
    }
    let state_path = AppliedState::path_in(&config.worker.state_dir);
    let state = AppliedState::load(&state_path).with_context(|| {
        "cannot tell which changes were handled, so nothing is retried".to_owned()
    })?;
    let mut outcome = Outcome::default();
    for letter in letters {
        let shown = readable(&letter.id());
        let job = match dirs.read_dead_letter(&letter) {
            Ok(job) => job,
            Err(error) => {
                eprintln!(
                    "refused {shown}: not a job: {}",
                    readable(&error.to_string())
                );
                outcome.refused += 1;
                continue;
            }
        };
        if let Some(why) = refusal(config, &state, &job) {
            eprintln!("refused {shown}: {why}");
            outcome.refused += 1;
            continue;
        }
        match dirs.requeue_dead_letter(&letter, &job) {
            Ok(to) => dyndns_config::stdout::println(&format!(
                "retried {shown}: {} {} is back in the queue as {}",
                readable(&job.host),
                families(&job).join(","),
                readable(&to.display().to_string())
            ))?,
            Err(error) => {
                eprintln!("refused {shown}: {}", readable(&error.to_string()));
                outcome.refused += 1;
            }
        }
    }
    Ok(outcome)
}

/// `failed purge --older-than DAYS`.
pub fn purge(config: &Config, days: u64) -> anyhow::Result<Outcome> {
    let dirs = SpoolDirs::at(&config.spool_dir);
    let older_than = Duration::from_secs(days.saturating_mul(86_400));
    let purge = dirs.purge_dead_letters(older_than, SystemTime::now())?;
    for name in &purge.removed {
        dyndns_config::stdout::println(&format!("removed {}", readable(&name.to_string_lossy())))?;
    }
    dyndns_config::stdout::println(&format!(
        "{} dead letter(s) older than {days} day(s) removed{}",
        purge.removed.len(),
        if purge.orphan_reasons > 0 {
            format!(", and {} reason(s) without a letter", purge.orphan_reasons)
        } else {
            String::new()
        }
    ))?;
    for left in &purge.left {
        eprintln!("left: {}", readable(&left.to_string()));
    }
    Ok(Outcome {
        refused: purge.left.len(),
    })
}

/// Loads the config for a `failed` command.
pub fn load_config(config: Option<PathBuf>) -> anyhow::Result<Config> {
    let path = dyndns_config::resolve_path(config.as_deref());
    Ok(Config::load(&path)?)
}
