//! A recovery is told per host and family, as the worker fails and recovers per host and family:
//! a host with A and AAAA records may fail in one family while the other is applied, or in both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use dyndns_config::notify::{NotifyKind, NotifyTarget};
use dyndns_queue::{EventKind, Family};
use util::*;

const HOST: &str = "home.dyn.example.com";

fn aaaa(mut event: dyndns_queue::HistoryEvent, n: u16) -> dyndns_queue::HistoryEvent {
    event.family = Family::V6;
    event.new = Some(std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, n]));
    event
}

#[test]
fn a_failure_only_target_hears_of_the_recovery_after_the_other_family_was_applied() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = NotifyTarget {
        on_change: false,
        ..http_target(NotifyKind::Ntfy, &receiver.url("/t"), None)
    };
    let mut notifier = started(&site, &[target]);
    let mut log = history(&site.state());
    log.append(&[failure(HOST, 1, EventKind::BackendFailure)])
        .unwrap();
    once(&mut notifier, time(2));
    // AAAA goes through while A still fails; then A recovers.
    log.append(&[aaaa(change(HOST, 3), 3)]).unwrap();
    once(&mut notifier, time(4));
    let mut recovered = change(HOST, 5);
    recovered.failures = 3;
    log.append(&[recovered]).unwrap();
    once(&mut notifier, time(6));
    let titles: Vec<String> = receiver
        .received()
        .iter()
        .map(|request| request.headers["title"].clone())
        .collect();
    assert_eq!(
        titles,
        [
            "home.dyn.example.com: A update failing",
            "home.dyn.example.com: A 198.51.100.5 (recovered)"
        ]
    );
}

#[test]
fn a_host_failing_in_both_families_is_told_it_recovered_in_both() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = http_target(NotifyKind::Ntfy, &receiver.url("/t"), None);
    let mut notifier = started(&site, &[target]);
    let mut log = history(&site.state());
    log.append(&[
        failure(HOST, 1, EventKind::BackendFailure),
        aaaa(failure(HOST, 1, EventKind::BackendFailure), 1),
    ])
    .unwrap();
    once(&mut notifier, time(2));
    let mut v4 = change(HOST, 9);
    v4.failures = 10;
    let mut v6 = aaaa(change(HOST, 9), 9);
    v6.failures = 10;
    log.append(&[v4, v6]).unwrap();
    once(&mut notifier, time(10));
    let got = receiver.received();
    let titles: Vec<&str> = got
        .iter()
        .map(|request| request.headers["title"].as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "home.dyn.example.com: AAAA update failing (+1 more)",
            "home.dyn.example.com: AAAA 2001:db8::9 (recovered) (+1 more)"
        ]
    );
    assert_eq!(got[1].headers["tags"], "white_check_mark");
}
