//! Why this exists: `/metrics` in Prometheus's text format (version 0.0.4), written by hand (a
//! few dozen lines do not need a crate). Two sources: the frontend's own counters of update
//! requests by request style and result, kept here as relaxed atomic additions into a fixed
//! table, so counting costs the `nochg` path no allocation and no lock; and what the worker wrote
//! into `heartbeat.json` with its last beat (its counts since its start, which Prometheus sees
//! reset when the worker restarts, and the dead letters), read by `status_data.rs`.
//!
//! Label values are fixed words (request styles, result codes, backend kinds), never a host or
//! a user, so the series stay few and nothing a client sent reaches the output.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use dyndns_queue::Heartbeat;

use crate::reply::{Code, Reply};
use crate::status_data::Health;

/// The request styles, each one label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Dyndns2,
    TpLink,
    TokenUrl,
    JsonApi,
}

impl Dialect {
    const ALL: [Dialect; 4] = [
        Dialect::Dyndns2,
        Dialect::TpLink,
        Dialect::TokenUrl,
        Dialect::JsonApi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Dyndns2 => "dyndns2",
            Dialect::TpLink => "tplink",
            Dialect::TokenUrl => "token_url",
            Dialect::JsonApi => "json_api",
        }
    }
}

/// Every result a request can count under, in [`result_index`]'s order (the dyndns2 words every
/// style's outcome is made of).
const RESULTS: [&str; 10] = [
    "good", "nochg", "nohost", "notfqdn", "numhost", "badauth", "badsys", "abuse", "dnserr", "911",
];

fn result_index(code: &Code) -> usize {
    match code {
        Code::Good(_) => 0,
        Code::NoChange(_) => 1,
        Code::NoHost => 2,
        Code::NotFqdn => 3,
        Code::NumHost => 4,
        Code::BadAuth => 5,
        Code::BadSys => 6,
        Code::Abuse => 7,
        Code::DnsErr => 8,
        Code::ServerError => 9,
    }
}

/// Update requests answered, per style and result.
pub struct RequestCounters {
    counts: [[AtomicU64; RESULTS.len()]; Dialect::ALL.len()],
}

impl Default for RequestCounters {
    fn default() -> Self {
        RequestCounters {
            counts: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }
}

impl RequestCounters {
    /// Counts one request: a request naming several hosts counts once, under its first refusal
    /// if one host was refused, else under its first answer (`good` or `nochg`).
    pub fn count(&self, dialect: Dialect, reply: &Reply) {
        let accepted = |code: &&Code| matches!(code, Code::Good(_) | Code::NoChange(_));
        let Some(code) = reply
            .lines
            .iter()
            .find(|code| !accepted(code))
            .or_else(|| reply.lines.first())
        else {
            return;
        };
        let dialect = Dialect::ALL
            .iter()
            .position(|known| *known == dialect)
            .unwrap_or(0);
        self.counts[dialect][result_index(code)].fetch_add(1, Ordering::Relaxed);
    }
}

/// A label value inside its quotes: backslash, double quote and line feed escaped, as the text
/// format asks. (Every value written is a fixed word today; a backend name comes from a file.)
fn push_label_value(out: &mut String, value: &str) {
    for character in value.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn seconds(ms: u64) -> f64 {
    // Milliseconds as seconds; exact enough for any count of them below 2^53.
    ms as f64 / 1000.0
}

/// The whole `/metrics` body.
pub fn render(requests: &RequestCounters, health: &Health) -> String {
    let mut out = String::with_capacity(8192);
    header(
        &mut out,
        "dyndns_requests_total",
        "counter",
        "Update requests answered since the frontend started, by request style and result.",
    );
    for (dialect, row) in Dialect::ALL.iter().zip(&requests.counts) {
        for (result, count) in RESULTS.iter().zip(row) {
            let _ = writeln!(
                out,
                "dyndns_requests_total{{dialect=\"{}\",result=\"{result}\"}} {}",
                dialect.as_str(),
                count.load(Ordering::Relaxed)
            );
        }
    }
    header(
        &mut out,
        "dyndns_spool_writable",
        "gauge",
        "1 when the frontend can spool a job (tmp/ and new/ writable, room on the file system).",
    );
    let _ = writeln!(
        out,
        "dyndns_spool_writable {}",
        u8::from(health.spool_writable)
    );
    header(
        &mut out,
        "dyndns_spool_jobs",
        "gauge",
        "Job files in the spool: new (waiting), cur (claimed by the worker), failed (dead letters, \
         as of the worker's last beat).",
    );
    let failed = health
        .heartbeat
        .as_ref()
        .and_then(|beat| beat.failed)
        .map(|count| usize::try_from(count).unwrap_or(usize::MAX));
    for (folder, count) in [("new", health.new), ("cur", health.cur), ("failed", failed)] {
        if let Some(count) = count {
            let _ = writeln!(out, "dyndns_spool_jobs{{folder=\"{folder}\"}} {count}");
        }
    }
    if let Some(beat) = &health.heartbeat {
        render_worker(&mut out, beat, health);
    }
    out
}

/// The worker's gauges and counts, from its heartbeat.
fn render_worker(out: &mut String, beat: &Heartbeat, health: &Health) {
    header(
        out,
        "dyndns_worker_heartbeat_age_seconds",
        "gauge",
        "Seconds since the worker's last heartbeat.",
    );
    let age = health.heartbeat_age.unwrap_or_default().as_secs_f64();
    let _ = writeln!(out, "dyndns_worker_heartbeat_age_seconds {age}");
    header(
        out,
        "dyndns_worker_heartbeat_recent",
        "gauge",
        "1 when the heartbeat is as recent as /health wants it.",
    );
    let _ = writeln!(
        out,
        "dyndns_worker_heartbeat_recent {}",
        u8::from(health.worker_recent())
    );
    header(
        out,
        "dyndns_worker_running",
        "gauge",
        "1 while the last worker has not recorded a clean stop.",
    );
    let _ = writeln!(out, "dyndns_worker_running {}", u8::from(beat.is_running()));
    header(
        out,
        "dyndns_worker_start_time_seconds",
        "gauge",
        "When the worker whose counts follow started (Unix time); its counts begin at zero.",
    );
    let started = beat
        .started_at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let _ = writeln!(out, "dyndns_worker_start_time_seconds {started}");

    header(
        out,
        "dyndns_worker_jobs_total",
        "counter",
        "Changes settled by the worker since its start, by backend and outcome (applied: written, \
         unchanged: already in place, superseded: a newer job won, dead_lettered: failed for good; \
         backend \"\": refused before any backend).",
    );
    for (backend, counts) in &beat.counts.backends {
        for (outcome, count) in [
            ("applied", counts.applied),
            ("unchanged", counts.unchanged),
            ("superseded", counts.superseded),
            ("dead_lettered", counts.dead_lettered),
        ] {
            out.push_str("dyndns_worker_jobs_total{backend=\"");
            push_label_value(out, backend);
            let _ = writeln!(out, "\",outcome=\"{outcome}\"}} {count}");
        }
    }
    header(
        out,
        "dyndns_worker_transient_failures_total",
        "counter",
        "Attempts that failed for now and are retried, by backend.",
    );
    for (backend, counts) in &beat.counts.backends {
        out.push_str("dyndns_worker_transient_failures_total{backend=\"");
        push_label_value(out, backend);
        let _ = writeln!(out, "\"}} {}", counts.transient_failures);
    }
    header(
        out,
        "dyndns_worker_batch_duration_seconds",
        "histogram",
        "How long each batch of changes took at its backend.",
    );
    for (backend, counts) in &beat.counts.backends {
        let batches = &counts.batches;
        let mut series = |suffix: &str, le: Option<&str>, value: &dyn std::fmt::Display| {
            let _ = write!(
                out,
                "dyndns_worker_batch_duration_seconds{suffix}{{backend=\""
            );
            push_label_value(out, backend);
            if let Some(le) = le {
                let _ = write!(out, "\",le=\"{le}");
            }
            let _ = writeln!(out, "\"}} {value}");
        };
        for (bound, count) in batches.cumulative() {
            series("_bucket", Some(&seconds(bound).to_string()), &count);
        }
        series("_bucket", Some("+Inf"), &batches.count);
        series("_sum", None, &seconds(batches.sum_ms));
        series("_count", None, &batches.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smallvec::smallvec;

    use crate::request::Addresses;

    #[test]
    fn a_request_counts_once_under_its_first_refusal_else_its_first_answer() {
        let counters = RequestCounters::default();
        let good = Code::Good(Addresses {
            v4: Some("203.0.113.7".parse().unwrap()),
            v6: None,
        });
        counters.count(
            Dialect::Dyndns2,
            &Reply {
                lines: smallvec![good.clone(), Code::NoHost],
            },
        );
        counters.count(Dialect::TokenUrl, &Reply::one(good));
        counters.count(Dialect::JsonApi, &Reply::one(Code::ServerError));
        let read = |dialect: usize, result: usize| {
            counters.counts[dialect][result].load(Ordering::Relaxed)
        };
        assert_eq!((read(0, 2), read(0, 0)), (1, 0), "nohost, not good");
        assert_eq!(read(2, 0), 1);
        assert_eq!(read(3, 9), 1);
        assert_eq!(RESULTS[result_index(&Code::ServerError)], "911");
    }

    #[test]
    fn label_values_are_escaped_as_the_text_format_asks() {
        let mut out = String::new();
        push_label_value(&mut out, "a\"b\\c\nd");
        assert_eq!(out, "a\\\"b\\\\c\\nd");
    }
    /// The backend names in the heartbeat are read from a file: one that tries to end its label
    /// and start a sample of its own stays inside its quotes, on its line.
    #[test]
    fn a_hostile_backend_name_in_the_heartbeat_stays_inside_its_label() {
        let hostile = "x\"} 1\nevil_metric 666\n\\";
        let now = std::time::SystemTime::now();
        let mut counts = dyndns_queue::WorkerCounts::default();
        counts.backend(hostile).applied = 3;
        counts.backend(hostile).batches.observe(12);
        let health = Health {
            spool_writable: true,
            new: Some(0),
            cur: Some(0),
            heartbeat: Some(Heartbeat {
                counts,
                ..crate::status_data::beat_for_tests(now, Some(1))
            }),
            heartbeat_error: None,
            heartbeat_age: Some(std::time::Duration::ZERO),
            max_age: None,
            checked_at: now,
        };
        let text = render(&RequestCounters::default(), &health);
        for line in text.lines() {
            assert!(
                line.starts_with("# ") || line.starts_with("dyndns_"),
                "a line of its own: {line:?}"
            );
        }
        let escaped = "backend=\"x\\\"} 1\\nevil_metric 666\\n\\\\\"";
        assert!(
            text.contains(&format!(
                "dyndns_worker_jobs_total{{{escaped},outcome=\"applied\"}} 3"
            )),
            "{text}"
        );
    }
}
