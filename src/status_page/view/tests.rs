//! Who sees which host, and what a host's timeline and last failure say.

use std::time::{Duration, SystemTime};

use dyndns_queue::{Family, HISTORY_VERSION};

use super::*;

const CONFIG: &str = r#"
[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "zonefile"
state_dir = "state"

[[zone]]
name = "dyn.example.com"

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0"
hosts = ["home.dyn.example.com", "*.lab.dyn.example.com"]
[[user.lan_host]]
name = "nas.dyn.example.com"
interface_id = "::211:32ff:fe12:3456"

[[user]]
name = "other"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0"
hosts = ["other.dyn.example.com"]

[[user]]
name = "boss"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0"
admin = true

[backend.zonefile]
path = "zone"
"#;

fn config() -> Config {
    Config::parse(CONFIG, std::path::Path::new("/etc/dyndns/dyndns.toml")).unwrap()
}

/// Noon UTC of a day in 2027.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(20_000 * DAY_SECS + 12 * 3600)
}

fn days_ago(days: u64) -> SystemTime {
    now() - Duration::from_secs(days * DAY_SECS)
}

/// An event of `host` as the worker writes it (a failure's error text is `refused`); the page's
/// own tests use it too.
pub(in crate::status_page) fn event(
    host: &str,
    time: SystemTime,
    kind: EventKind,
    family: Family,
) -> HistoryEvent {
    HistoryEvent {
        v: HISTORY_VERSION,
        time,
        event: kind,
        host: host.into(),
        family,
        old: Vec::new(),
        new: Some(match family {
            Family::V4 => "203.0.113.7".parse().unwrap(),
            Family::V6 => "2001:db8::7".parse().unwrap(),
        }),
        user: "router".into(),
        client: None,
        backend: Some("zonefile".into()),
        zone: Some("dyn.example.com".into()),
        job: uuid::Uuid::new_v4(),
        received_at: time,
        ms: Some(1),
        changed: kind == EventKind::Applied,
        failures: 0,
        error: (kind != EventKind::Applied).then(|| "refused".to_owned()),
    }
}

fn applied() -> AppliedState {
    let mut state = AppliedState::default();
    for host in [
        "home.dyn.example.com",
        "printer.lab.dyn.example.com",
        "other.dyn.example.com",
        "gone.dyn.example.com",
    ] {
        state.record_applied(
            host,
            "203.0.113.7".parse().unwrap(),
            days_ago(2),
            days_ago(2),
        );
    }
    state
}

/// The page of user `name` from `events`, oldest first as the history holds them (the timeline
/// and the last errors both from them).
fn page_of(config: &Config, name: &str, events: &[&HistoryEvent]) -> Page {
    let applied = applied();
    build(Sources {
        config,
        user: config.user(name).unwrap(),
        now: now(),
        applied: &applied,
        last_errors: &LastErrors::from_events(events.iter().copied()),
        events,
        worker: WorkerState::Never,
        queue: Some(Queue {
            pending: Some(3),
            ..Queue::default()
        }),
        notes: Vec::new(),
    })
}

fn names(page: &Page) -> Vec<&str> {
    page.hosts.iter().map(|host| host.name.as_str()).collect()
}

#[test]
fn a_user_sees_their_exact_lan_and_pattern_matched_hosts_only() {
    let config = config();
    let theirs = event(
        "cam.lab.dyn.example.com",
        days_ago(1),
        EventKind::Applied,
        Family::V4,
    );
    let others = event(
        "other.dyn.example.com",
        days_ago(1),
        EventKind::DeadLetter,
        Family::V4,
    );
    let page = page_of(&config, "router", &[&theirs, &others]);
    assert_eq!(
        names(&page),
        [
            "cam.lab.dyn.example.com",
            "home.dyn.example.com",
            "nas.dyn.example.com",
            "printer.lab.dyn.example.com"
        ]
    );
    assert!(page.queue.is_none(), "the queue is for admins");
    assert!(!page.admin);
}

#[test]
fn an_admin_sees_every_host_and_the_queue() {
    let config = config();
    let others = event(
        "other.dyn.example.com",
        days_ago(1),
        EventKind::DeadLetter,
        Family::V4,
    );
    let page = page_of(&config, "boss", &[&others]);
    assert_eq!(
        names(&page),
        [
            "gone.dyn.example.com",
            "home.dyn.example.com",
            "nas.dyn.example.com",
            "other.dyn.example.com",
            "printer.lab.dyn.example.com"
        ]
    );
    let queue = page.queue.unwrap();
    assert_eq!((queue.pending, queue.dead_letters_in_window), (Some(3), 1));
}

#[test]
fn the_timeline_counts_per_day_once_per_event_and_a_later_change_clears_the_failure() {
    let config = config();
    let host = "home.dyn.example.com";
    let failed = event(host, days_ago(3), EventKind::BackendFailure, Family::V4);
    let v6_change = event(host, days_ago(2), EventKind::Applied, Family::V6);
    let v4_change = event(host, days_ago(1), EventKind::Applied, Family::V4);
    let too_old = event(host, days_ago(40), EventKind::Applied, Family::V4);
    // A crash between the history append and the state save repeats an event.
    let page = page_of(
        &config,
        "router",
        &[&too_old, &failed, &failed, &v6_change, &v4_change],
    );
    let home = page.hosts.iter().find(|view| view.name == host).unwrap();
    assert_eq!(home.days.len(), TIMELINE_DAYS);
    assert_eq!(home.days.last().unwrap().day, day_of(now()));
    let counts: Vec<(u32, u32)> = home
        .days
        .iter()
        .map(|day| (day.changes, day.failures))
        .collect();
    let mut expected = vec![(0, 0); TIMELINE_DAYS];
    expected[TIMELINE_DAYS - 4] = (0, 1);
    expected[TIMELINE_DAYS - 3] = (1, 0);
    expected[TIMELINE_DAYS - 2] = (1, 0);
    assert_eq!(counts, expected);
    let failure = home.last_failure.as_ref().unwrap();
    assert_eq!(failure.family, Family::V4);
    assert!(!failure.current, "the IPv4 change a day later recovered it");
    assert_eq!(home.recent.len(), 3);
    assert_eq!(home.recent[0].time, days_ago(1), "newest first");
    assert_eq!(home.last_change, Some(days_ago(2)), "from applied.json");
}

#[test]
fn a_change_of_the_other_family_leaves_the_failure_standing() {
    let config = config();
    let host = "home.dyn.example.com";
    let failed = event(host, days_ago(3), EventKind::DeadLetter, Family::V4);
    let v6_change = event(host, days_ago(2), EventKind::Applied, Family::V6);
    let page = page_of(&config, "router", &[&failed, &v6_change]);
    let home = page.hosts.iter().find(|view| view.name == host).unwrap();
    assert!(home.last_failure.as_ref().unwrap().current);
}

#[test]
fn a_worker_is_running_only_while_it_beats() {
    let beat = |beat_at: SystemTime, stopped_at: Option<SystemTime>| Heartbeat {
        v: dyndns_queue::HEARTBEAT_VERSION,
        pid: 7,
        started_at: days_ago(1),
        beat_at,
        interval_secs: 30,
        mode: dyndns_queue::RunMode::Continuous,
        version: "0.1.0".into(),
        stopped_at,
        counts: Default::default(),
        failed: None,
    };
    let recent = now() - Duration::from_secs(40);
    assert_eq!(
        WorkerState::of(Some(&beat(recent, None)), now()),
        WorkerState::Running {
            since: days_ago(1),
            beat_at: recent
        }
    );
    let late = now() - Duration::from_secs(600);
    assert_eq!(
        WorkerState::of(Some(&beat(late, None)), now()),
        WorkerState::Silent { beat_at: late }
    );
    assert_eq!(
        WorkerState::of(Some(&beat(late, Some(late))), now()),
        WorkerState::Stopped { at: late }
    );
    assert_eq!(WorkerState::of(None, now()), WorkerState::Never);
    // Beaten before the clock stepped back an hour: not a proof of life until the next beat.
    let ahead = now() + Duration::from_secs(3600);
    assert_eq!(
        WorkerState::of(Some(&beat(ahead, None)), now()),
        WorkerState::Silent { beat_at: ahead }
    );
}

/// The page's last failure is `/status`'s: folded over the whole history in the order it was
/// written, so one older than the timeline still stands, and a clock stepped back cannot reorder
/// a recovery before its failure.
#[test]
fn the_last_failure_is_the_one_status_shows_even_older_than_the_timeline() {
    let config = config();
    let host = "home.dyn.example.com";
    let failed = event(host, days_ago(45), EventKind::DeadLetter, Family::V4);
    let page = page_of(&config, "router", &[&failed]);
    let home = page.hosts.iter().find(|view| view.name == host).unwrap();
    let failure = home.last_failure.as_ref().expect("older than 30 days");
    assert!(failure.current);
    assert!(
        home.days.iter().all(|day| day.failures == 0),
        "not in the timeline"
    );

    let failed_late = event(host, days_ago(1), EventKind::BackendFailure, Family::V4);
    let mended_by_a_stepped_back_clock = event(host, days_ago(2), EventKind::Applied, Family::V4);
    let page = page_of(
        &config,
        "router",
        &[&failed_late, &mended_by_a_stepped_back_clock],
    );
    let home = page.hosts.iter().find(|view| view.name == host).unwrap();
    assert!(!home.last_failure.as_ref().unwrap().current);
}

/// A user allowed `*.dyn.example.com` sees what lies below it, from every source the page reads
/// (applied.json, the timeline's events, the last errors), and nothing beside or above it.
#[test]
fn a_wildcard_user_sees_no_host_outside_their_pattern() {
    let text = format!(
        "{CONFIG}\n[[user]]\nname = \"wild\"\npassword_hash = \"{}\"\nhosts = [\"*.dyn.example.com\"]\n",
        config().user("router").unwrap().password_hash.as_ref().unwrap()
    );
    let config = Config::parse(&text, std::path::Path::new("/etc/dyndns/dyndns.toml")).unwrap();
    let inside = ["a.dyn.example.com", "deep.a.dyn.example.com"];
    let outside = [
        "dyn.example.com",
        "xdyn.example.com",
        "dyn.example.com.evil.example.net",
        "a.dyn.example.com.evil.example.net",
        "other.example.net",
    ];
    let mut applied = AppliedState::default();
    let mut events = Vec::new();
    for host in inside.iter().chain(&outside) {
        applied.record_applied(
            host,
            "203.0.113.7".parse().unwrap(),
            days_ago(2),
            days_ago(2),
        );
        events.push(event(host, days_ago(1), EventKind::Applied, Family::V4));
        events.push(event(host, days_ago(1), EventKind::DeadLetter, Family::V6));
    }
    let events: Vec<&HistoryEvent> = events.iter().collect();
    let page = build(Sources {
        config: &config,
        user: config.user("wild").unwrap(),
        now: now(),
        applied: &applied,
        last_errors: &LastErrors::from_events(events.iter().copied()),
        events: &events,
        worker: WorkerState::Never,
        queue: None,
        notes: Vec::new(),
    });
    assert_eq!(names(&page), inside);
    assert!(page.hosts.iter().all(|host| host
        .recent
        .iter()
        .all(|event| inside.contains(&event.host.as_str()))));
}
