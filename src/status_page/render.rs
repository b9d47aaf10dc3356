//! Why this exists: the status page as HTML, written by hand into one string: every value that came
//! from a file (host names, addresses, user names, and the backends' error texts, which echo
//! whatever a hostile client or a DNS server sent) goes through [`push_text`], which escapes it
//! for both element text and quoted attributes. The page is self-contained: inline CSS, no script,
//! no image, no font, no link to anything (the CSP header in `status_page.rs` forbids them too),
//! and fluid down to a phone's width.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::SystemTime;

use dyndns_queue::{is_deceptive, EventKind, Family, HistoryEvent, LastError};

use super::view::{
    Day, DeadLetters, FamilyView, HostView, Page, Queue, WorkerState, TIMELINE_DAYS,
};

/// The page's CSS: a system font, one column, a 30-cell strip per host that shrinks with the screen.
const STYLE: &str = "\
:root{color-scheme:light dark;--none:#d4d4d8;--change:#16a34a;--fail:#dc2626;--both:#d97706;--muted:#71717a}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}
main{max-width:52rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:0 0 .25rem}
h2{font-size:1.1rem;margin:0 0 .5rem;overflow-wrap:anywhere}
section{border:1px solid var(--none);border-radius:.5rem;padding:.75rem;margin:.75rem 0}
.muted,figcaption,.scale{color:var(--muted);font-size:.875rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .75rem;margin:0 0 .5rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
code{font-size:.95em;overflow-wrap:anywhere}
.ok{color:var(--change)}.bad{color:var(--fail)}.warn{color:var(--both)}
figure{margin:.5rem 0}
.days{display:grid;grid-template-columns:repeat(30,1fr);gap:2px;list-style:none;margin:.25rem 0 0;padding:0}
.days li{height:1.5rem;border-radius:2px;background:var(--none)}
.days .c{background:var(--change)}.days .f{background:var(--fail)}.days .cf{background:var(--both)}
.scale{display:flex;justify-content:space-between}
.events{padding-left:1.1rem;margin:.25rem 0 0;font-size:.9rem}
.events li{overflow-wrap:anywhere}
.legend span{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin:0 .2em 0 .6em;vertical-align:-.05em}
";

/// The whole page.
pub fn render(page: &Page) -> String {
    let mut out = String::with_capacity(8192 + page.hosts.len() * 4096);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>dyndns status</title><style>",
    );
    out.push_str(STYLE);
    out.push_str("</style></head><body><main><header><h1>dyndns status</h1><p class=\"muted\">");
    out.push_str("Signed in as <b>");
    push_text(&mut out, &page.user);
    out.push_str("</b>");
    if page.admin {
        out.push_str(" (admin: every host)");
    }
    out.push_str(" · ");
    push_time(&mut out, page.now);
    out.push_str("</p></header>");
    worker(&mut out, page);
    if !page.notes.is_empty() {
        out.push_str("<section class=\"notes\"><h2>Notes</h2><ul>");
        for note in &page.notes {
            out.push_str("<li>");
            push_text(&mut out, note);
            out.push_str("</li>");
        }
        out.push_str("</ul></section>");
    }
    if page.hosts.is_empty() {
        out.push_str("<section><p>No hosts to show yet.</p></section>");
    }
    for host in &page.hosts {
        host_section(&mut out, host, page.now);
    }
    out.push_str(
        "<p class=\"muted legend\">Timeline, one cell per day (UTC), oldest first:\
         <span style=\"background:var(--change)\"></span>changed\
         <span style=\"background:var(--fail)\"></span>failed\
         <span style=\"background:var(--both)\"></span>both\
         <span style=\"background:var(--none)\"></span>nothing</p>",
    );
    out.push_str("</main></body></html>\n");
    out
}

fn worker(out: &mut String, page: &Page) {
    out.push_str("<section class=\"worker\"><h2>Worker</h2><p>");
    match &page.worker {
        WorkerState::Running { since, beat_at } => {
            out.push_str("<b class=\"ok\">Running</b> since ");
            push_time(out, *since);
            out.push_str(", last beat ");
            push_age(out, *beat_at, page.now);
        }
        WorkerState::Silent { beat_at } => {
            out.push_str("<b class=\"bad\">Not beating</b>: last beat ");
            push_age(out, *beat_at, page.now);
            out.push_str(", with no clean stop (killed or hung?)");
        }
        WorkerState::Stopped { at } => {
            out.push_str("<b class=\"warn\">Not running</b>: stopped cleanly ");
            push_age(out, *at, page.now);
            out.push_str(" (a worker run from cron stops after each run)");
        }
        WorkerState::Never => out.push_str("<b class=\"warn\">Never ran</b> on this state folder"),
        WorkerState::Unknown => out.push_str("<b class=\"warn\">Unknown</b>: see the notes"),
    }
    out.push_str("</p>");
    if let Some(queue) = &page.queue {
        queue_counts(out, queue);
    }
    out.push_str("</section>");
}

fn queue_counts(out: &mut String, queue: &Queue) {
    let count = |out: &mut String, value: Option<usize>, unknown: &str| match value {
        Some(value) => {
            let _ = write!(out, "{value}");
        }
        None => out.push_str(unknown),
    };
    out.push_str("<dl class=\"queue\"><dt>Pending</dt><dd>");
    count(out, queue.pending, "unknown (new/ cannot be listed)");
    out.push_str("</dd><dt>In flight</dt><dd>");
    count(out, queue.in_flight, "unknown (cur/ cannot be listed)");
    out.push_str("</dd><dt>Failed</dt><dd>");
    match queue.failed {
        DeadLetters::Listed(count) => {
            let _ = write!(out, "{count}");
        }
        DeadLetters::AtBeat { count, at } => {
            let _ = write!(out, "{count} (the worker's count at its beat of ");
            push_time(out, at);
            out.push(')');
        }
        DeadLetters::Unknown => out.push_str(
            "unknown here (failed/ is root's and no worker beat counted it: \
             `dyndns-worker failed list`)",
        ),
    }
    let _ = write!(
        out,
        "</dd><dt>Dead letters</dt><dd>{} in {TIMELINE_DAYS} days</dd></dl>",
        queue.dead_letters_in_window
    );
}

fn host_section(out: &mut String, host: &HostView, now: SystemTime) {
    out.push_str("<section class=\"host\"><h2>");
    push_text(out, &host.name);
    out.push_str("</h2><dl>");
    family_line(out, "IPv4", host.ipv4.as_ref());
    family_line(out, "IPv6", host.ipv6.as_ref());
    out.push_str("<dt>Last change</dt><dd>");
    match host.last_change {
        Some(at) => push_age(out, at, now),
        None => out.push_str("none yet"),
    }
    out.push_str("</dd><dt>Last failure</dt><dd>");
    match &host.last_failure {
        Some(failure) => failure_text(out, failure, now),
        None => out.push_str("none recorded"),
    }
    out.push_str("</dd></dl>");
    timeline(out, &host.days);
    if !host.recent.is_empty() {
        out.push_str("<ol class=\"events\" reversed>");
        for event in &host.recent {
            event_line(out, event);
        }
        out.push_str("</ol>");
    }
    out.push_str("</section>");
}

fn family_line(out: &mut String, label: &str, family: Option<&FamilyView>) {
    let _ = write!(out, "<dt>{label}</dt><dd>");
    match family {
        Some(FamilyView {
            address: Some(address),
            since,
            ..
        }) => {
            out.push_str("<code>");
            push_ip(out, *address);
            out.push_str("</code>");
            if let Some(since) = since {
                out.push_str(" since ");
                push_time(out, *since);
            }
        }
        Some(FamilyView {
            deleted: true,
            since,
            ..
        }) => {
            out.push_str("deleted");
            if let Some(since) = since {
                out.push(' ');
                push_time(out, *since);
            }
        }
        _ => out.push_str("none"),
    }
    out.push_str("</dd>");
}

fn failure_text(out: &mut String, failure: &LastError, now: SystemTime) {
    out.push_str(if failure.current {
        "<span class=\"bad\">"
    } else {
        "<span>"
    });
    out.push_str(kind_word(failure.event));
    out.push(' ');
    out.push_str(family_word(failure.family));
    out.push(' ');
    push_age(out, failure.time, now);
    out.push_str(if failure.current {
        ", still failing"
    } else {
        ", recovered since"
    });
    out.push_str("</span>");
    if let Some(error) = &failure.error {
        out.push_str("<br><code>");
        push_text(out, error);
        out.push_str("</code>");
    }
}

/// The strip: one cell per day, its counts in the title (and in the caption's sums).
fn timeline(out: &mut String, days: &[Day]) {
    let changes: u32 = days.iter().map(|day| day.changes).sum();
    let failures: u32 = days.iter().map(|day| day.failures).sum();
    let _ = write!(
        out,
        "<figure><figcaption>Last {TIMELINE_DAYS} days: {changes} change{}, {failures} failure{}\
         </figcaption><ol class=\"days\">",
        plural(changes),
        plural(failures)
    );
    for day in days {
        let class = match (day.changes > 0, day.failures > 0) {
            (true, true) => " class=\"cf\"",
            (true, false) => " class=\"c\"",
            (false, true) => " class=\"f\"",
            (false, false) => "",
        };
        let _ = write!(out, "<li{class} title=\"");
        push_date(out, day.day);
        let _ = write!(
            out,
            ": {} change{}, {} failure{}\"></li>",
            day.changes,
            plural(day.changes),
            day.failures,
            plural(day.failures)
        );
    }
    out.push_str("</ol><div class=\"scale\"><span>");
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        push_date(out, first.day);
        out.push_str("</span><span>");
        push_date(out, last.day);
    }
    out.push_str("</span></div></figure>");
}

fn event_line(out: &mut String, event: &HistoryEvent) {
    out.push_str("<li>");
    push_time(out, event.time);
    out.push(' ');
    out.push_str(family_word(event.family));
    out.push(' ');
    let word = match event.event {
        EventKind::Applied if !event.changed => "already in place",
        EventKind::Applied => "changed",
        other => kind_word(other),
    };
    out.push_str(word);
    out.push_str(": ");
    let mut first = true;
    for old in &event.old {
        if !first {
            out.push_str(", ");
        }
        first = false;
        push_ip(out, *old);
    }
    if first {
        out.push_str("none");
    }
    out.push_str(" → ");
    match event.new {
        Some(new) => push_ip(out, new),
        None => out.push_str("deleted"),
    }
    if let Some(error) = &event.error {
        out.push_str(" <code>");
        push_text(out, error);
        out.push_str("</code>");
    }
    out.push_str("</li>");
}

fn kind_word(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Applied => "applied",
        EventKind::DeadLetter => "dead letter",
        EventKind::BackendFailure => "backend failure",
    }
}

fn family_word(family: Family) -> &'static str {
    match family {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

fn plural(count: u32) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// Appends `text` escaped for HTML text and double- or single-quoted attributes. Control
/// characters and those that reorder or break lines (`is_deceptive`) are written visibly as
/// `\u{…}`, so an error text cannot make itself look like something else.
pub fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() || is_deceptive(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// Addresses are typed values, but written through the same escape all the same.
fn push_ip(out: &mut String, address: IpAddr) {
    push_text(out, &address.to_string());
}

/// `2026-11-29 22:50:03 UTC`; a time RFC 3339 cannot spell as `unknown time`.
fn push_time(out: &mut String, time: SystemTime) {
    match dyndns_queue::rfc3339::format(time) {
        Some(text) => {
            // `2026-11-29T22:50:03.123456789Z`: the date and the time to the second.
            let (date, rest) = text.split_at(10);
            out.push_str(date);
            out.push(' ');
            out.push_str(rest.get(1..9).unwrap_or(""));
            out.push_str(" UTC");
        }
        None => out.push_str("unknown time"),
    }
}

/// `<time> (<n> <unit> ago)`.
fn push_age(out: &mut String, time: SystemTime, now: SystemTime) {
    push_time(out, time);
    let secs = now.duration_since(time).unwrap_or_default().as_secs();
    let (value, unit) = match secs {
        0..=119 => (secs, "s"),
        120..=7199 => (secs / 60, "min"),
        7200..=172_799 => (secs / 3600, "h"),
        _ => (secs / 86_400, "days"),
    };
    let _ = write!(out, " ({value} {unit} ago)");
}

/// `2026-11-29` for days since 1970.
fn push_date(out: &mut String, day: u64) {
    let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(day.saturating_mul(86_400));
    match dyndns_queue::rfc3339::format(time) {
        Some(text) => out.push_str(text.get(..10).unwrap_or("")),
        None => out.push_str("unknown day"),
    }
}

#[cfg(test)]
mod tests;
