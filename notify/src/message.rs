//! Why this exists: what a message says, once for every kind of target: a title (ASCII, as HTTP
//! headers and mail subjects want it), a text body, and the events as data for the webhook. The
//! newest event is the headline; the others owed for the host are listed, and the ones beyond
//! [`crate::outbox::KEEP_PER_HOST`] counted ("and 25 more events since …").

use std::fmt::Write as _;
use std::time::SystemTime;

use dyndns_queue::{EventKind, Family, HistoryEvent};

use crate::category::Category;
use crate::outbox::{Notice, Omitted};
use crate::time_text::rfc3339;

/// One message to one target about one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The target's id (`notify[0] ntfy https://…`), for logs.
    pub target: String,
    pub host: String,
    /// Oldest first; never empty.
    pub notices: Vec<Notice>,
    /// Older events, only counted.
    pub omitted: Omitted,
}

impl Message {
    /// The newest notice, which the title names.
    pub fn headline(&self) -> Option<&Notice> {
        self.notices.last()
    }

    pub fn category(&self) -> Category {
        self.headline()
            .map_or(Category::Change, |notice| notice.category)
    }

    /// Events the message covers besides the headline.
    pub fn held_back(&self) -> u32 {
        let listed = u32::try_from(self.notices.len().saturating_sub(1)).unwrap_or(u32::MAX);
        listed.saturating_add(self.omitted.count())
    }

    /// The oldest event's time the message covers.
    pub fn since(&self) -> Option<SystemTime> {
        let listed = self.notices.first().map(|notice| notice.event.time);
        match (self.omitted.since, listed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `home.dyn.example.com: A 198.51.100.7` and the like; ASCII only (host names are).
    pub fn title(&self) -> String {
        let Some(notice) = self.headline() else {
            return format!("{}: no event", self.host);
        };
        let event = &notice.event;
        let record = record_type(event.family);
        let new = event
            .new
            .map_or_else(|| "deleted".to_owned(), |address| address.to_string());
        let mut title = match notice.category {
            Category::Change => format!("{}: {record} {new}", self.host),
            Category::Recovery => format!("{}: {record} {new} (recovered)", self.host),
            Category::Failure if event.event == EventKind::DeadLetter => {
                format!("{}: {record} update failed for good", self.host)
            }
            Category::Failure => format!("{}: {record} update failing", self.host),
        };
        let more = self.held_back();
        if more > 0 {
            let _ = write!(title, " (+{more} more)");
        }
        title
    }

    /// The text: the headline in full, then the others, then the count of the rest.
    pub fn body(&self) -> String {
        let mut body = String::new();
        let mut newest_first = self.notices.iter().rev();
        if let Some(notice) = newest_first.next() {
            body.push_str(&describe(notice));
        }
        let listed: Vec<&Notice> = newest_first.collect();
        let more = self.held_back();
        if more > 0 {
            let since = self
                .since()
                .map_or_else(String::new, |t| format!(" since {}", rfc3339(t)));
            let _ = write!(body, "\n\nand {more} more {}{since}", events_word(more));
            let counts = self.counts();
            let _ = write!(body, " ({counts}), held back by the rate limit:");
            for notice in listed {
                let _ = write!(body, "\n- {}", one_line(notice));
            }
            if self.omitted.count() > 0 {
                let _ = write!(
                    body,
                    "\n- {} older ones, only counted",
                    self.omitted.count()
                );
            }
        }
        body
    }

    /// `4 changes, 1 failure` over everything besides the headline.
    fn counts(&self) -> String {
        let mut counts = self.omitted;
        for notice in self.notices.iter().rev().skip(1) {
            match notice.category {
                Category::Change => counts.changes += 1,
                Category::Recovery => counts.recoveries += 1,
                Category::Failure => counts.failures += 1,
            }
        }
        let mut parts = Vec::new();
        for (n, one, many) in [
            (counts.changes, "change", "changes"),
            (counts.recoveries, "recovery", "recoveries"),
            (counts.failures, "failure", "failures"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        parts.join(", ")
    }
}

fn events_word(n: u32) -> &'static str {
    if n == 1 {
        "event"
    } else {
        "events"
    }
}

fn record_type(family: Family) -> &'static str {
    match family {
        Family::V4 => "A",
        Family::V6 => "AAAA",
    }
}

fn addresses(event: &HistoryEvent) -> (String, String) {
    (event.old_shown(", ", "none"), event.new_shown())
}

/// One line per event, for the list of those held back.
fn one_line(notice: &Notice) -> String {
    let event = &notice.event;
    let (old, new) = addresses(event);
    let record = record_type(event.family);
    let at = rfc3339(event.time);
    match notice.category {
        Category::Change => format!("{at} {record} {old} -> {new}"),
        Category::Recovery => format!(
            "{at} {record} {new} applied after {} failed attempts",
            event.failures
        ),
        Category::Failure => format!("{at} {record} {new} failed: {}", error_text(event)),
    }
}

fn error_text(event: &HistoryEvent) -> String {
    // The worker caps and escapes it; a line break would still spoil a one-line list.
    event
        .error
        .as_deref()
        .unwrap_or("no reason recorded")
        .replace(['\r', '\n'], " ")
}

/// The headline event in full.
fn describe(notice: &Notice) -> String {
    let event = &notice.event;
    let (old, new) = addresses(event);
    let record = record_type(event.family);
    let mut text = match (notice.category, event.event) {
        (Category::Change, _) => format!("{} {record}: {old} -> {new}", event.host),
        (Category::Recovery, _) => format!(
            "{} {record}: {old} -> {new}, applied after {} failed attempts",
            event.host, event.failures
        ),
        (Category::Failure, EventKind::DeadLetter) => format!(
            "{} {record}: the change to {new} failed for good and was dead-lettered \
             (see dyndns-worker failed): {}",
            event.host,
            error_text(event)
        ),
        (Category::Failure, _) => format!(
            "{} {record}: the change to {new} failed (attempt {}), retrying: {}",
            event.host,
            event.failures,
            error_text(event)
        ),
    };
    let _ = write!(text, "\nat {} for user {}", rfc3339(event.time), event.user);
    if let Some(client) = event.client {
        let _ = write!(text, " from {client}");
    }
    if let Some(backend) = &event.backend {
        let _ = write!(text, " via {backend}");
    }
    text
}
