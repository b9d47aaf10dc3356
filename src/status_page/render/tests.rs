//! What a root worker wrote from hostile input reaches the page as text, never as markup.

use std::time::{Duration, SystemTime};

use dyndns_queue::HISTORY_VERSION;

use super::super::view::HostView;
use super::*;

const HOSTILE: &str = "\"><script>alert(1)</script><img src=x onerror=alert(2)>'\u{202e}\u{1b}[2J";

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn hostile_page() -> Page {
    let event = HistoryEvent {
        v: HISTORY_VERSION,
        time: now(),
        event: EventKind::DeadLetter,
        host: HOSTILE.into(),
        family: Family::V6,
        old: vec!["2001:db8::1".parse().unwrap()],
        new: None,
        user: HOSTILE.into(),
        client: None,
        backend: None,
        zone: None,
        job: uuid::Uuid::nil(),
        received_at: now(),
        ms: None,
        changed: false,
        failures: 1,
        error: Some(HOSTILE.into()),
    };
    Page {
        user: HOSTILE.into(),
        admin: true,
        now: now(),
        worker: WorkerState::Never,
        queue: Some(Queue::default()),
        hosts: vec![HostView {
            name: HOSTILE.into(),
            ipv4: None,
            ipv6: Some(FamilyView {
                address: None,
                deleted: true,
                since: Some(now()),
            }),
            last_change: Some(now()),
            last_failure: Some(LastError {
                time: now(),
                family: Family::V6,
                event: EventKind::DeadLetter,
                error: Some(HOSTILE.into()),
                current: true,
            }),
            days: Vec::new(),
            recent: vec![event],
        }],
        notes: vec![HOSTILE.into()],
    }
}

#[test]
fn a_hostile_host_name_user_and_error_text_are_shown_as_text() {
    let html = render(&hostile_page());
    let escaped = "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#39;\\u{202e}\\u{1b}[2J";
    // User, note, host name, failure and the event's error.
    assert_eq!(html.matches(escaped).count(), 5, "{html}");
    for raw in ["<script", "<img", "\u{202e}", "\u{1b}"] {
        assert!(!html.contains(raw), "{raw:?} reached the page: {html}");
    }
}

#[test]
fn the_page_links_loads_and_runs_nothing() {
    let html = render(&hostile_page());
    for forbidden in [
        "http:", "https:", "//", "<link", "<script", "src=\"", "href=", "url(", "@import",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} in {html}");
    }
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
}

#[test]
fn text_is_escaped_for_attributes_too() {
    let mut out = String::new();
    push_text(&mut out, "a\"b'c<d>e&f\u{2028}g");
    assert_eq!(out, "a&quot;b&#39;c&lt;d&gt;e&amp;f\\u{2028}g");
}
