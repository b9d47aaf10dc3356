//! The rate limit and the summary, on a clock the test steps.

use std::time::{Duration, UNIX_EPOCH};

use dyndns_queue::{EventKind, Family, HistoryEvent, HISTORY_VERSION};
use uuid::Uuid;

use super::*;

const MINUTE: Duration = Duration::from_secs(60);

fn notice(host: &str, second: u64, category: Category) -> Notice {
    let time = UNIX_EPOCH + Duration::from_secs(1_795_906_200 + second);
    Notice {
        category,
        event: HistoryEvent {
            v: HISTORY_VERSION,
            time,
            event: match category {
                Category::Failure => EventKind::BackendFailure,
                _ => EventKind::Applied,
            },
            host: host.into(),
            family: Family::V4,
            old: vec![],
            new: Some(std::net::IpAddr::from([
                192,
                0,
                2,
                (second % 250) as u8 + 1,
            ])),
            user: "router".into(),
            client: None,
            backend: Some("zonefile".into()),
            zone: Some("example.com".into()),
            job: Uuid::now_v7(),
            received_at: time,
            ms: Some(1),
            changed: true,
            failures: u32::from(category == Category::Failure),
            error: None,
        },
    }
}

fn at(second: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_906_200 + second)
}

#[test]
fn one_message_per_host_per_interval_and_the_next_one_summarises_what_was_held_back() {
    let mut outbox = TargetOutbox::default();
    let interval = 5 * MINUTE;
    outbox.push(notice("a.dyn.example.com", 0, Category::Change));
    let first = outbox
        .take_due("t", at(0), interval)
        .expect("the first is sent at once");
    assert_eq!(first.notices.len(), 1);
    outbox.delivered(&first, at(1));

    for second in 10..17 {
        outbox.push(notice("a.dyn.example.com", second, Category::Change));
    }
    outbox.push(notice("a.dyn.example.com", 20, Category::Failure));
    assert!(
        outbox.take_due("t", at(60), interval).is_none(),
        "held back"
    );
    assert_eq!(outbox.next_due(interval), Some(at(301)));
    // Another host has its own limit.
    outbox.push(notice("b.dyn.example.com", 30, Category::Change));
    let other = outbox.take_due("t", at(60), interval).expect("b is due");
    assert_eq!(other.host, "b.dyn.example.com");
    outbox.delivered(&other, at(61));

    let summary = outbox.take_due("t", at(301), interval).expect("due again");
    assert_eq!(summary.held_back(), 7);
    assert_eq!(summary.category(), Category::Failure);
    assert!(
        summary.title().ends_with("(+7 more)"),
        "{}",
        summary.title()
    );
    let body = summary.body();
    assert!(
        body.contains("and 7 more events since 2026-11-28T22:50:10Z (7 changes), held back"),
        "{body}"
    );
    outbox.delivered(&summary, at(302));
    assert_eq!(outbox.owed(), 0);
}

#[test]
fn a_long_outage_keeps_ten_events_per_host_and_counts_the_rest() {
    let mut outbox = TargetOutbox::default();
    for second in 0..1000 {
        let category = if second % 10 == 0 {
            Category::Failure
        } else {
            Category::Change
        };
        outbox.push(notice("a.dyn.example.com", second, category));
    }
    assert_eq!(outbox.owed(), 1000);
    let host = &outbox.hosts["a.dyn.example.com"];
    assert_eq!(host.pending.len(), KEEP_PER_HOST);
    assert_eq!(host.omitted.count(), 990);
    assert_eq!(
        host.omitted.failures, 99,
        "0, 10, … 980 were pushed out; 990 is still listed"
    );
    let message = outbox.take_due("t", at(2000), MINUTE).expect("due");
    assert_eq!(message.held_back(), 999);
    assert!(
        message
            .body()
            .contains("and 999 more events since 2026-11-28T22:50:00Z (899 changes, 100 failures)"),
        "{}",
        message.body()
    );
    outbox.delivered(&message, at(2000));
    assert_eq!(outbox.owed(), 0);
}

#[test]
fn events_arriving_during_a_delivery_stay_owed_and_a_failed_one_is_owed_whole() {
    let mut outbox = TargetOutbox::default();
    outbox.push(notice("a.dyn.example.com", 0, Category::Change));
    let message = outbox.take_due("t", at(0), MINUTE).expect("due");
    assert!(
        outbox.take_due("t", at(0), MINUTE).is_none(),
        "one delivery per host at a time"
    );
    for second in 1..=12 {
        outbox.push(notice("a.dyn.example.com", second, Category::Change));
    }
    assert_eq!(
        outbox.hosts["a.dyn.example.com"].pending.len(),
        13,
        "nothing trimmed under way"
    );
    outbox.failed(&message);
    assert_eq!(outbox.owed(), 13);
    let again = outbox
        .take_due("t", at(1), MINUTE)
        .expect("a failed host is due again");
    assert_eq!(again.held_back(), 12);
    outbox.push(notice("a.dyn.example.com", 13, Category::Change));
    outbox.delivered(&again, at(2));
    assert_eq!(outbox.owed(), 1, "the event that came during the delivery");
}

#[test]
fn a_state_saved_with_one_failure_flag_per_host_reads_as_told_for_both_families() {
    let old: HostOutbox = serde_json::from_str(
        r#"{"last_sent":null,"pending":[],"omitted":{"changes":0,"recoveries":0,"failures":0},"failure_told":true}"#,
    )
    .expect("the first notifier's state reads");
    assert_eq!(old.failure_told, FailureTold { v4: true, v6: true });
    let mut host = HostOutbox::default();
    host.failure_told.set(Family::V6, true);
    let saved = serde_json::to_string(&host).expect("writes");
    let read: HostOutbox = serde_json::from_str(&saved).expect("reads back");
    assert_eq!(
        read.failure_told,
        FailureTold {
            v4: false,
            v6: true
        }
    );
}
