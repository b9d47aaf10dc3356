//! The worker is killed with SIGKILL again and again while updates stream in and the notifier is
//! telling of them (its first delivery held open by the receiver): every update lands, every change
//! the history records is told exactly once (a change a killed worker records twice is recognised),
//! and the history has no broken line.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::day::{
    history, notify_to, start_notifier, start_worker, update_good, zone_file_site, PATIENCE,
};
use crate::notify_util::{Answer, Receiver};
use crate::util::{eventually, HOST};

#[test]
fn a_worker_killed_again_and_again_during_notifications_loses_and_repeats_nothing() {
    let site = zone_file_site("");
    let receiver = Receiver::start();
    notify_to(&site, "webhook", &receiver, "min_interval = 0");
    let _notifier = start_notifier(&site, None);
    let frontend = site.start_frontend();
    receiver.script(&[Answer::Hold]);
    let hosts = [
        HOST.to_owned(),
        "a.lab.dyn.example.com".to_owned(),
        "b.lab.dyn.example.com".to_owned(),
    ];
    let mut last = BTreeMap::new();
    for round in 1..=6u8 {
        let worker = start_worker(&site, None);
        for (n, host) in hosts.iter().enumerate() {
            let address = format!("198.51.100.{}", round * 10 + n as u8);
            update_good(&frontend, host, &address);
            last.insert(host.clone(), address);
        }
        if round == 1 {
            // The first message is under way (and held) when the first kill comes.
            receiver.wait_for(1);
        }
        // Killed at a different point of its pass each round: before, during or after it.
        std::thread::sleep(Duration::from_millis(u64::from(round) * 15));
        worker.kill();
    }
    let _worker = start_worker(&site, None);
    receiver.release();

    let zone_has_the_last = || {
        last.iter().all(|(host, address)| {
            let name = host.trim_end_matches(".example.com");
            crate::day::zone_a(&site, name) == [address.as_str()]
        })
    };
    assert!(eventually(PATIENCE, zone_has_the_last), "{last:?}");
    let recorded = dyndns_queue::read_history(&site.path().join("state")).unwrap();
    assert_eq!(recorded.unreadable, 0, "a killed worker leaves whole lines");
    // A change recorded twice (killed between its history line and its state save) is one change.
    let expected: HashSet<String> = history(&site)
        .iter()
        .map(|event| event.job.to_string())
        .collect();
    let all_told = eventually(PATIENCE, || {
        receiver
            .delivered_jobs()
            .into_iter()
            .collect::<HashSet<_>>()
            == expected
    });
    if !all_told {
        let told: HashSet<String> = receiver.delivered_jobs().into_iter().collect();
        for event in history(&site) {
            if !told.contains(&event.job.to_string()) {
                eprintln!("UNTOLD {}", serde_json::to_string(&event).unwrap());
            }
        }
    }
    assert!(all_told, "the changes above were recorded, never told");
    let delivered = receiver.delivered_jobs();
    assert_eq!(
        delivered.len(),
        expected.len(),
        "none told twice: {delivered:?}"
    );
    for folder in ["new", "cur", "failed"] {
        assert_eq!(site.files_in(folder), Vec::<String>::new(), "{folder}/");
    }
}
