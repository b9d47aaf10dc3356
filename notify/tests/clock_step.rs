//! The wall clock stepped (NTP after a boot without an RTC, a wrong time zone fixed by hand): the
//! rate limit and the retry times are wall-clock times, so a step back must not hold messages for
//! the size of the step, and a step forward then back (a correction) must not flood. Driven by
//! `--once` runs at times the tests set; `real(s)` is the seconds really elapsed, `now` what the
//! stepped clock reads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::{Duration, SystemTime};

use dyndns_config::notify::{NotifyKind, NotifyTarget};
use util::*;

const HOUR: Duration = Duration::from_secs(3600);
const INTERVAL: Duration = Duration::from_secs(300);

fn rate_limited(receiver: &Receiver) -> NotifyTarget {
    NotifyTarget {
        min_interval: INTERVAL,
        ..http_target(NotifyKind::Webhook, &receiver.url("/hook"), None)
    }
}

/// The first of `seconds` at which a `--once` run delivers.
fn first_delivery(
    notifier: &mut dyndns_notify::Notifier,
    seconds: impl Iterator<Item = SystemTime>,
) -> Option<SystemTime> {
    seconds
        .into_iter()
        .find(|&now| once(notifier, now).delivered > 0)
}

fn seconds(from: SystemTime, count: u64) -> impl Iterator<Item = SystemTime> {
    (0..=count).map(move |n| from + Duration::from_secs(n))
}

#[test]
fn a_clock_stepped_back_an_hour_after_a_delivery_does_not_hold_the_next_change_for_an_hour() {
    let site = Site::new();
    let receiver = Receiver::start();
    let mut notifier = started(&site, &[rate_limited(&receiver)]);
    let mut log = history(&site.state());
    log.append(&[change("home.dyn.example.com", 3990)]).unwrap();
    assert_eq!(once(&mut notifier, time(4000)).delivered, 1);

    // Ten seconds later the clock is stepped back an hour; the next change comes at once.
    let stepped = time(4010) - HOUR;
    let mut next = change("home.dyn.example.com", 4010);
    next.time = stepped;
    log.append(&[next]).unwrap();
    assert_eq!(
        once(&mut notifier, stepped).delivered,
        0,
        "the rate limit still holds across the step"
    );
    let sent = first_delivery(&mut notifier, seconds(stepped, INTERVAL.as_secs()));
    assert!(
        sent.is_some(),
        "the change is delivered within min_interval of its arrival, not an hour later"
    );
    assert_eq!(receiver.received().len(), 2);
}

#[test]
fn a_send_time_saved_before_the_clock_stepped_back_does_not_hold_messages_after_a_restart() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = rate_limited(&receiver);
    let mut notifier = started(&site, std::slice::from_ref(&target));
    let mut log = history(&site.state());
    log.append(&[change("home.dyn.example.com", 3990)]).unwrap();
    assert_eq!(once(&mut notifier, time(4000)).delivered, 1);
    drop(notifier);

    // Restarted (a reboot) with the clock an hour behind the last send in notify-state.json.
    let stepped = time(4030) - HOUR;
    let mut next = change("home.dyn.example.com", 4030);
    next.time = stepped;
    log.append(&[next]).unwrap();
    let mut notifier = site.open(std::slice::from_ref(&target));
    let sent = first_delivery(&mut notifier, seconds(stepped, INTERVAL.as_secs()));
    assert!(
        sent.is_some(),
        "the saved send time ahead of the clock holds the message for min_interval at most"
    );
    drop(notifier);
    // The clamped time was saved: another restart does not bring the hour back.
    let mut after = change("home.dyn.example.com", 4400);
    after.time = stepped + Duration::from_secs(400);
    log.append(&[after]).unwrap();
    let mut notifier = site.open(&[target]);
    let sent = first_delivery(
        &mut notifier,
        seconds(stepped + Duration::from_secs(400), INTERVAL.as_secs()),
    );
    assert!(sent.is_some(), "delivered after a second restart too");
}

#[test]
fn a_delivery_retry_set_before_the_clock_stepped_back_waits_its_backoff_not_an_extra_hour() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = http_target(NotifyKind::Webhook, &receiver.url("/hook"), None);
    let mut notifier = started(&site, &[target]);
    history(&site.state())
        .append(&[change("home.dyn.example.com", 3990)])
        .unwrap();
    receiver.script(&[Answer::Status(500)]);
    let report = once(&mut notifier, time(4000));
    assert_eq!((report.delivered, report.failed), (0, 1));

    // The first retry is 5 s away; the clock steps back an hour one second later.
    let stepped = time(4001) - HOUR;
    let sent = first_delivery(
        &mut notifier,
        seconds(stepped, dyndns_notify::notifier::FIRST_BACKOFF.as_secs()),
    );
    assert!(
        sent.is_some(),
        "retried within its backoff of the step, not an hour later"
    );
    assert_eq!(receiver.received().len(), 2);
}

#[test]
fn a_clock_stepped_forward_an_hour_then_back_sends_at_most_one_extra_message_per_host() {
    let site = Site::new();
    let receiver = Receiver::start();
    let mut notifier = started(&site, &[rate_limited(&receiver)]);
    let mut log = history(&site.state());
    let hosts = ["a.dyn.example.com", "b.dyn.example.com"];
    // Twenty minutes of real time, a change of each host every 5 s; the clock reads an hour ahead
    // from real second 10 until the correction at real second 100.
    let clock = |real: u64| {
        if (10..100).contains(&real) {
            time(4000 + real) + HOUR
        } else {
            time(4000 + real)
        }
    };
    let mut sent_at: Vec<(String, u64)> = Vec::new();
    for real in 0..1200u64 {
        if real % 5 == 0 {
            for host in hosts {
                let mut event = change(host, 4000 + real);
                event.time = clock(real);
                log.append(&[event]).unwrap();
            }
        }
        let before = receiver.received().len();
        let delivered = once(&mut notifier, clock(real)).delivered;
        let got = receiver.wait_for(before + delivered);
        for request in &got[before..] {
            let host = request.json()["host"].as_str().unwrap().to_owned();
            sent_at.push((host, real));
        }
    }
    for host in hosts {
        let times: Vec<u64> = sent_at
            .iter()
            .filter(|(name, _)| name == host)
            .map(|&(_, real)| real)
            .collect();
        let short_gaps = times
            .windows(2)
            .filter(|pair| pair[1] - pair[0] < INTERVAL.as_secs())
            .count();
        assert!(
            short_gaps <= 1,
            "{host}: one message early at most (the step forward), got {times:?}"
        );
        // A steady clock sends at 0, 300, 600, 900: one more is the most the steps may add, and
        // none may be held past min_interval after the correction.
        assert!(times.len() <= 5, "{host}: {times:?}");
        assert!(
            times
                .iter()
                .any(|&real| (100..=100 + INTERVAL.as_secs()).contains(&real)),
            "{host}: a message within min_interval of the correction, got {times:?}"
        );
    }
}
