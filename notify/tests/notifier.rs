//! The notifier's promises, driven step by step on a clock the tests set: each message format as a
//! local receiver and a fake sendmail get it, retries that lose nothing, restarts that resend
//! nothing (and a crash before the save at most once), a day of events, rotation, users, repeats.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::Duration;

use dyndns_config::notify::{NotifyKind, NotifyTarget, SendTo};
use dyndns_queue::EventKind;
use util::*;

#[test]
fn webhook_ntfy_and_gotify_get_their_documented_requests_with_their_tokens() {
    let site = Site::new();
    let receiver = Receiver::start();
    let token = site.dir.path().join("token");
    std::fs::write(&token, "tk_secret123\n").unwrap();
    let targets = vec![
        http_target(NotifyKind::Webhook, &receiver.url("/hook"), None),
        NotifyTarget {
            id: "notify[1] ntfy".into(),
            ..http_target(
                NotifyKind::Ntfy,
                &receiver.url("/dyndns-alerts"),
                Some(&token),
            )
        },
        NotifyTarget {
            id: "notify[2] gotify".into(),
            ..http_target(NotifyKind::Gotify, &receiver.url("/gotify"), Some(&token))
        },
    ];
    let mut notifier = started(&site, &targets);
    history(&site.state())
        .append(&[change("home.dyn.example.com", 7)])
        .unwrap();
    let report = once(&mut notifier, time(10));
    assert_eq!((report.delivered, report.failed, report.owed), (3, 0, 0));
    let mut got = receiver.wait_for(3);
    got.sort_by(|a, b| a.path.cmp(&b.path));
    let [ntfy, gotify, webhook] = [&got[0], &got[1], &got[2]];

    assert_eq!(
        (webhook.method.as_str(), webhook.path.as_str()),
        ("POST", "/hook")
    );
    assert_eq!(webhook.headers["content-type"], "application/json");
    assert!(!webhook.headers.contains_key("authorization"));
    let json = webhook.json();
    assert_eq!(json["version"], 1);
    assert_eq!(json["host"], "home.dyn.example.com");
    assert_eq!(json["category"], "change");
    assert_eq!(json["events"][0]["new"], "198.51.100.7");
    assert_eq!(json["events"][0]["old"][0], "198.51.100.254");
    assert_eq!(json["events"][0]["event"], "applied");
    assert_eq!(json["omitted"], 0);
    assert_eq!(json["title"], "home.dyn.example.com: A 198.51.100.7");

    assert_eq!(ntfy.path, "/dyndns-alerts");
    assert_eq!(
        ntfy.headers["title"],
        "home.dyn.example.com: A 198.51.100.7"
    );
    assert_eq!(ntfy.headers["tags"], "globe_with_meridians");
    assert_eq!(ntfy.headers["priority"], "3");
    assert_eq!(ntfy.headers["authorization"], "Bearer tk_secret123");
    assert!(
        ntfy.body.starts_with("home.dyn.example.com A: 198.51.100.254 -> 198.51.100.7\nat 2026-11-28T22:50:07Z for user router from 203.0.113.9 via zonefile"),
        "{}",
        ntfy.body
    );

    assert_eq!(gotify.path, "/gotify/message");
    assert_eq!(gotify.headers["x-gotify-key"], "tk_secret123");
    assert!(!gotify.headers.contains_key("authorization"));
    let json = gotify.json();
    assert_eq!(json["title"], "home.dyn.example.com: A 198.51.100.7");
    assert_eq!(json["priority"], 5);
    assert!(json["message"].as_str().unwrap().contains("198.51.100.7"));
}

#[test]
fn failures_are_high_priority_and_a_recovery_follows_a_failure_told() {
    let site = Site::new();
    let receiver = Receiver::start();
    let targets = vec![NotifyTarget {
        on_change: false,
        ..http_target(NotifyKind::Ntfy, &receiver.url("/t"), None)
    }];
    let mut notifier = started(&site, &targets);
    let mut log = history(&site.state());
    let mut unchanged = change("quiet.dyn.example.com", 2);
    unchanged.changed = false;
    log.append(&[
        change("home.dyn.example.com", 1),
        unchanged,
        failure("home.dyn.example.com", 3, EventKind::BackendFailure),
    ])
    .unwrap();
    once(&mut notifier, time(5));
    let got = receiver.wait_for(1);
    assert_eq!(got.len(), 1, "a failure-only target hears of no change");
    assert_eq!(got[0].headers["priority"], "4");
    assert_eq!(got[0].headers["tags"], "warning");
    assert_eq!(
        got[0].headers["title"],
        "home.dyn.example.com: A update failing"
    );
    assert!(
        got[0].body.contains("rndc: connect failed"),
        "{}",
        got[0].body
    );

    let mut recovered = change("home.dyn.example.com", 9);
    recovered.failures = 4;
    log.append(&[recovered]).unwrap();
    once(&mut notifier, time(10));
    let got = receiver.wait_for(2);
    assert_eq!(
        got[1].headers["title"],
        "home.dyn.example.com: A 198.51.100.9 (recovered)"
    );
    assert_eq!(got[1].headers["tags"], "white_check_mark");
    assert!(
        got[1].body.contains("applied after 4 failed attempts"),
        "{}",
        got[1].body
    );
}

#[test]
fn sendmail_gets_its_argv_and_an_rfc5322_message_on_stdin() {
    let site = Site::new();
    let program = fake_sendmail(site.dir.path());
    let target = NotifyTarget {
        id: "notify[0] sendmail".into(),
        label: "notify[0] sendmail".into(),
        kind: NotifyKind::Sendmail,
        send_to: SendTo::Sendmail {
            command: vec![program.display().to_string(), "-t".into(), "-i".into()],
            to: vec!["admin@example.com".into(), "ops@example.com".into()],
            from: "dyndns@example.com".into(),
        },
        on_change: true,
        on_failure: true,
        users: None,
        min_interval: Duration::ZERO,
        timeout: Duration::from_secs(10),
    };
    let mut notifier = started(&site, &[target]);
    history(&site.state())
        .append(&[failure("home.dyn.example.com", 4, EventKind::DeadLetter)])
        .unwrap();
    assert_eq!(once(&mut notifier, time(5)).delivered, 1);
    let log = sendmail_log(site.dir.path());
    assert_eq!(log.len(), 1);
    let (argv, mail) = &log[0];
    assert_eq!(argv, &["-t", "-i"]);
    let (head, body) = mail.split_once("\n\n").unwrap();
    let headers: Vec<&str> = head.lines().collect();
    assert_eq!(headers[0], "From: dyndns@example.com");
    assert_eq!(headers[1], "To: admin@example.com, ops@example.com");
    assert_eq!(
        headers[2],
        "Subject: [dyndns] home.dyn.example.com: A update failed for good"
    );
    assert!(
        headers[3].starts_with("Date: ") && headers[3].ends_with(" +0000"),
        "{}",
        headers[3]
    );
    assert!(headers[4].starts_with("Message-ID: <") && headers[4].ends_with("@dyndns-notify>"));
    assert!(headers.contains(&"Content-Type: text/plain; charset=utf-8"));
    assert!(body.contains("dead-lettered"), "{body}");

    // A sendmail that fails leaves the message owed; it goes out once the program works.
    std::fs::write(site.dir.path().join("sendmail.status"), "75").unwrap();
    history(&site.state())
        .append(&[change("home.dyn.example.com", 6)])
        .unwrap();
    let report = once(&mut notifier, time(7));
    assert_eq!((report.delivered, report.failed, report.owed), (0, 1, 1));
    std::fs::remove_file(site.dir.path().join("sendmail.status")).unwrap();
    let report = once(&mut notifier, time(60));
    assert_eq!((report.delivered, report.owed), (1, 0));
    let log = sendmail_log(site.dir.path());
    assert_eq!(log.len(), 3, "the failed try, then the delivery");
    assert_eq!(
        log[1].1,
        log[2].1.replace(&date_of(&log[2].1), &date_of(&log[1].1))
    );
}

fn date_of(mail: &str) -> String {
    mail.lines()
        .find(|line| line.starts_with("Date: "))
        .unwrap()
        .to_owned()
}

#[test]
fn a_receiver_that_fails_500_times_out_or_refuses_then_recovers_gets_each_event_once() {
    let site = Site::new();
    let receiver = Receiver::start();
    let refused = http_target(NotifyKind::Webhook, &refused_url(), None);
    let flaky = NotifyTarget {
        id: "notify[1] flaky".into(),
        timeout: Duration::from_millis(500),
        ..http_target(NotifyKind::Webhook, &receiver.url("/hook"), None)
    };
    let mut notifier = started(&site, &[refused.clone(), flaky.clone()]);
    history(&site.state())
        .append(&[
            change("a.dyn.example.com", 1),
            change("b.dyn.example.com", 2),
        ])
        .unwrap();
    receiver.script(&[Answer::Status(500), Answer::Hold, Answer::Close]);
    // Each run tries every target once; the refused one does not hold up the flaky one.
    let report = once(&mut notifier, time(3));
    assert_eq!((report.delivered, report.failed, report.owed), (0, 2, 4));
    // Backing off: nothing is tried before the retry time.
    assert_eq!(once(&mut notifier, time(4)).failed, 0);
    let report = once(&mut notifier, time(100));
    assert_eq!((report.delivered, report.failed), (0, 2), "held: a timeout");
    let report = once(&mut notifier, time(200));
    assert_eq!(
        (report.delivered, report.failed),
        (0, 2),
        "closed without an answer"
    );
    drop(notifier);

    // Refused for good: that target's events stay owed across a restart; the other one recovers.
    let mut notifier = site.open(&[refused, flaky]);
    let report = once(&mut notifier, time(300));
    assert_eq!((report.delivered, report.failed, report.owed), (2, 1, 2));
    let got = receiver.received();
    let delivered: Vec<String> = got[3..]
        .iter()
        .map(|r| r.json()["host"].to_string())
        .collect();
    assert_eq!(
        got.len(),
        5,
        "three failed tries, then one message per host"
    );
    assert_eq!(
        delivered,
        ["\"a.dyn.example.com\"", "\"b.dyn.example.com\""]
    );
}

#[test]
fn a_restart_after_delivery_resends_nothing_and_a_crash_before_the_save_resends_once() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = http_target(NotifyKind::Webhook, &receiver.url("/hook"), None);
    let mut notifier = started(&site, std::slice::from_ref(&target));
    let mut log = history(&site.state());
    log.append(&[change("home.dyn.example.com", 1)]).unwrap();
    assert_eq!(once(&mut notifier, time(2)).delivered, 1);
    drop(notifier);
    let mut notifier = site.open(std::slice::from_ref(&target));
    assert_eq!(once(&mut notifier, time(3)).delivered, 0, "nothing resent");
    assert_eq!(receiver.received().len(), 1);

    // A crash between the delivery and the save: the message is delivered, the state not saved.
    log.append(&[change("home.dyn.example.com", 4)]).unwrap();
    notifier.read_history().unwrap();
    notifier.save().unwrap();
    let due = notifier.due(time(5));
    assert_eq!(due.len(), 1);
    let (index, message) = &due[0];
    notifier
        .deliverer(*index)
        .unwrap()
        .deliver(message)
        .unwrap();
    drop(notifier); // killed: no settle, no save
    assert_eq!(receiver.received().len(), 2);
    let mut notifier = site.open(std::slice::from_ref(&target));
    assert_eq!(once(&mut notifier, time(6)).delivered, 1, "resent once");
    drop(notifier);
    let mut notifier = site.open(&[target]);
    assert_eq!(once(&mut notifier, time(7)).delivered, 0, "and only once");
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].json()["events"], got[2].json()["events"]);
}

#[test]
fn a_day_of_events_while_the_notifier_is_down_is_delivered_within_the_rate_limit() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = NotifyTarget {
        min_interval: Duration::from_secs(3600),
        ..http_target(NotifyKind::Webhook, &receiver.url("/hook"), None)
    };
    drop(started(&site, std::slice::from_ref(&target)));
    // A day: 1,000 events over three hosts, every ~86 s, with failures among them.
    let mut log = history(&site.state());
    let hosts = [
        "a.dyn.example.com",
        "b.dyn.example.com",
        "c.dyn.example.com",
    ];
    for n in 0..1000u64 {
        let host = hosts[(n % 3) as usize];
        let event = if n % 50 == 0 {
            failure(host, n * 86, EventKind::BackendFailure)
        } else {
            change(host, n * 86)
        };
        log.append(&[event]).unwrap();
    }
    let back = time(86_400);
    let mut notifier = site.open(std::slice::from_ref(&target));
    let report = once(&mut notifier, back);
    assert_eq!(
        (report.delivered, report.owed),
        (3, 0),
        "one message per host"
    );
    let got = receiver.received();
    let mut total = 0;
    for request in &got {
        let json = request.json();
        let events = json["events"].as_array().unwrap().len() as u64;
        assert_eq!(events, 10, "the newest ten listed");
        total += events + json["omitted"].as_u64().unwrap();
        assert!(json["message"]
            .as_str()
            .unwrap()
            .contains("more events since"));
    }
    assert_eq!(total, 1000, "every event told or counted, none lost");

    // Back to normal: the next change of a host waits for its hour, then goes out alone.
    log.append(&[change("a.dyn.example.com", 86_500)]).unwrap();
    assert_eq!(once(&mut notifier, time(86_600)).delivered, 0, "held back");
    drop(notifier);
    let mut notifier = site.open(std::slice::from_ref(&target));
    assert_eq!(
        once(&mut notifier, time(86_400 + 3599)).delivered,
        0,
        "still held after a restart"
    );
    assert_eq!(once(&mut notifier, time(86_400 + 3600)).delivered, 1);
    let last = receiver.received().pop().unwrap().json();
    assert_eq!(last["events"].as_array().unwrap().len(), 1);
    assert_eq!(last["omitted"], 0);
}

#[test]
fn rotation_of_the_history_while_following_loses_and_repeats_nothing() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = http_target(NotifyKind::Webhook, &receiver.url("/hook"), None);
    let mut notifier = started(&site, std::slice::from_ref(&target));
    // 4 KiB files: a rotation every dozen events.
    let mut log = dyndns_queue::HistoryLog::new(&site.state(), 4096, 3);
    let mut sent = 0;
    for round in 0..6u64 {
        for n in 0..5 {
            log.append(&[change(&format!("h{n}.dyn.example.com"), round * 10 + n)])
                .unwrap();
        }
        sent += once(&mut notifier, time(round * 10 + 9)).delivered;
        if round == 3 {
            // A restart mid-way resumes on a cursor whose file has been renamed since.
            drop(notifier);
            notifier = site.open(std::slice::from_ref(&target));
        }
    }
    assert!(
        site.state().join("history.jsonl.2").exists(),
        "rotated at least twice"
    );
    assert_eq!(sent, 30);
    let jobs: std::collections::HashSet<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["events"][0]["job"].to_string())
        .collect();
    assert_eq!(jobs.len(), 30, "each event once");
}

#[test]
fn users_filter_and_repeated_events_of_a_crashed_worker_are_told_once() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = NotifyTarget {
        users: Some(vec!["router".into()]),
        ..http_target(NotifyKind::Webhook, &receiver.url("/hook"), None)
    };
    let mut notifier = started(&site, &[target]);
    let mut log = history(&site.state());
    let mine = change("home.dyn.example.com", 1);
    let mut theirs = change("other.dyn.example.com", 2);
    theirs.user = "neighbour".into();
    log.append(&[mine.clone(), theirs]).unwrap();
    // The worker crashed after its append and before its state save: it writes the pass again.
    log.append(&[mine]).unwrap();
    let report = once(&mut notifier, time(3));
    assert_eq!(report.delivered, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["host"], "home.dyn.example.com");
    assert_eq!(
        notifier.counts(),
        (3, 1),
        "three lines read, one repeat skipped"
    );
    drop(notifier);
    let saved = std::fs::read_to_string(site.dir.path().join("notify/notify-state.json")).unwrap();
    assert!(
        !saved.contains("other.dyn.example.com"),
        "a host the target does not hear of takes no room: {saved}"
    );
}

#[test]
fn a_ten_minute_backend_outage_is_one_message_of_the_failure_and_one_of_the_recovery() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = NotifyTarget {
        min_interval: Duration::from_secs(300),
        ..http_target(NotifyKind::Ntfy, &receiver.url("/t"), None)
    };
    let mut notifier = started(&site, &[target]);
    let mut log = history(&site.state());
    // The worker writes a failing change once (and again only if its error text changes).
    log.append(&[failure(
        "home.dyn.example.com",
        0,
        EventKind::BackendFailure,
    )])
    .unwrap();
    for second in (5..600).step_by(5) {
        once(&mut notifier, time(second));
    }
    let mut recovered = change("home.dyn.example.com", 600);
    // As the worker counts them: its tries at 0, 1, 3, 7, …, 511 s failed (backoff 1 s doubling
    // to 300 s), the one at 811 s applied. The events here have the shape the worker writes
    // (worker/tests/lifecycle/outage.rs feeds a Notifier the real ones).
    recovered.failures = 10;
    log.append(&[recovered]).unwrap();
    for second in (600..1200).step_by(5) {
        once(&mut notifier, time(second));
    }
    assert_eq!(
        receiver.titles(),
        [
            "home.dyn.example.com: A update failing",
            "home.dyn.example.com: A 198.51.100.100 (recovered)"
        ]
    );
}

#[test]
fn replaced_targets_keep_an_unchanged_ones_rate_limit_and_drop_a_removed_ones_outbox() {
    let site = Site::new();
    let receiver = Receiver::start();
    let kept = NotifyTarget {
        min_interval: Duration::from_secs(3600),
        ..http_target(NotifyKind::Webhook, &receiver.url("/kept"), None)
    };
    let gone = NotifyTarget {
        id: "notify[1] webhook".into(),
        ..http_target(NotifyKind::Webhook, &refused_url(), None)
    };
    let mut notifier = started(&site, &[kept.clone(), gone]);
    let mut log = history(&site.state());
    log.append(&[change("home.dyn.example.com", 1)]).unwrap();
    let report = once(&mut notifier, time(10));
    assert_eq!((report.delivered, report.failed, report.owed), (1, 1, 1));
    log.append(&[change("home.dyn.example.com", 2)]).unwrap();
    assert_eq!(once(&mut notifier, time(11)).owed, 3, "held back, and owed");

    assert!(notifier.replace_targets(with_delivery(vec![kept])));
    assert_eq!(notifier.owed(), 1, "the removed target's outbox is gone");
    let report = once(&mut notifier, time(20));
    assert_eq!(
        (report.delivered, report.owed),
        (0, 1),
        "still an hour apart"
    );
    let report = once(&mut notifier, time(10 + 3600));
    assert_eq!((report.delivered, report.owed), (1, 0));
    let got = receiver.wait_for(2);
    assert_eq!(got[1].json()["events"][0]["new"], "198.51.100.2");
    notifier.save().unwrap();
    let saved = std::fs::read_to_string(site.dir.path().join("notify/notify-state.json")).unwrap();
    assert!(!saved.contains("notify[1]"), "{saved}");
}

#[test]
fn history_jsonl_removed_by_hand_does_not_resend_the_rotated_files_before_it() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = http_target(NotifyKind::Webhook, &receiver.url("/hook"), None);
    let mut notifier = started(&site, std::slice::from_ref(&target));
    // More events than the notifier remembers keys of, in rotated files before the current one.
    let mut log = dyndns_queue::HistoryLog::new(&site.state(), 64 * 1024, 100);
    for batch in 0..50u64 {
        let events: Vec<_> = (0..100)
            .map(|n| change("old.dyn.example.com", batch * 100 + n))
            .collect();
        log.append(&events).unwrap();
    }
    assert!(site.state().join("history.jsonl.2").exists());
    assert_eq!(once(&mut notifier, time(10_000)).delivered, 1);
    drop(notifier);

    // The operator removes the current file while the notifier is down; the worker starts another.
    std::fs::remove_file(site.state().join("history.jsonl")).unwrap();
    log.append(&[change("new.dyn.example.com", 10_001)])
        .unwrap();
    let mut notifier = site.open(std::slice::from_ref(&target));
    let report = once(&mut notifier, time(10_002));
    let hosts: Vec<String> = receiver.received()[1..]
        .iter()
        .map(|request| request.json()["host"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hosts, ["new.dyn.example.com"], "{report:?}");

    // The same with the notifier running: the file it reads is removed under it.
    std::fs::remove_file(site.state().join("history.jsonl")).unwrap();
    log.append(&[change("newer.dyn.example.com", 10_003)])
        .unwrap();
    once(&mut notifier, time(10_004));
    let hosts: Vec<String> = receiver.received()[2..]
        .iter()
        .map(|request| request.json()["host"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hosts, ["newer.dyn.example.com"]);
}

#[test]
fn a_reload_tries_a_failing_target_at_once_instead_of_after_its_backoff() {
    let site = Site::new();
    let receiver = Receiver::start();
    let target = http_target(NotifyKind::Webhook, &receiver.url("/hook"), None);
    let mut notifier = started(&site, std::slice::from_ref(&target));
    receiver.script(&[Answer::Status(401); 3]);
    history(&site.state())
        .append(&[change("home.dyn.example.com", 1)])
        .unwrap();
    // Fails at 10 s, then 15 s, then 25 s: the next try would be 20 s later.
    for second in [10, 15, 25] {
        assert_eq!(once(&mut notifier, time(second)).failed, 1, "at {second} s");
    }
    assert_eq!(once(&mut notifier, time(26)).delivered, 0, "backing off");
    // The operator fixed the token and reloaded.
    assert!(notifier.replace_targets(with_delivery(vec![target])));
    let report = once(&mut notifier, time(26));
    assert_eq!((report.delivered, report.owed), (1, 0));
}
