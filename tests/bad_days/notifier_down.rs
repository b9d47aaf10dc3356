//! The notifier is down for a day (stopped, its machine's clock then a day later when it returns)
//! while the worker goes on applying: nothing is lost, everything is told when it returns, and the
//! rate limit holds: one message per host, the older events counted, and a change within the
//! `min_interval` after that waits for it.

use std::time::Duration;

use crate::day::{
    log, notify_to, start_both, start_notifier, update_good, wait_for_home, zone_file_site, Clock,
    PATIENCE,
};
use crate::notify_util::Receiver;
use crate::util::{eventually, HOST};

const LAB: &str = "a.lab.dyn.example.com";

#[test]
fn a_notifier_down_for_a_day_tells_everything_within_its_rate_limit_when_it_returns() {
    let site = zone_file_site("");
    let Some(clock) = Clock::new(&site) else {
        return;
    };
    let receiver = Receiver::start();
    notify_to(&site, "webhook", &receiver, "min_interval = \"1h\"");
    let (_worker, frontend) = start_both(&site);
    let update = |host: &str, address: &str| update_good(&frontend, host, address);
    let notifier = start_notifier(&site, Some(&clock));
    update(HOST, "198.51.100.1");
    receiver.wait_for(1);
    notifier.signal(nix::sys::signal::Signal::SIGTERM);
    notifier.wait_exit();

    // A day of changes while it is away: twelve of home, three of the lab host, each applied.
    for n in 2..=13 {
        let address = format!("198.51.100.{n}");
        update(HOST, &address);
        wait_for_home(&site, &address);
    }
    for n in 1..=3 {
        update(LAB, &format!("198.51.100.10{n}"));
        let landed = eventually(PATIENCE, || {
            crate::day::zone_a(&site, "a.lab.dyn") == [format!("198.51.100.10{n}")]
        });
        assert!(landed);
    }

    clock.set("+1d");
    let _notifier = start_notifier(&site, Some(&clock));
    let received = receiver.wait_for(3);
    let by_host = |host: &str| {
        let messages: Vec<serde_json::Value> = received[1..]
            .iter()
            .map(|request| request.json())
            .filter(|json| json["host"] == host)
            .collect();
        assert_eq!(messages.len(), 1, "one message for {host}: {messages:?}");
        messages.into_iter().next().unwrap()
    };
    let home = by_host(HOST);
    let listed = home["events"].as_array().unwrap().len() as u64;
    assert_eq!(
        listed + home["omitted"].as_u64().unwrap(),
        12,
        "every change of home, listed or counted: {home}"
    );
    assert_eq!(
        home["events"].as_array().unwrap().last().unwrap()["new"],
        "198.51.100.13"
    );
    let lab = by_host(LAB);
    assert_eq!(lab["events"].as_array().unwrap().len(), 3, "{lab}");

    // Within the hour after that message, a new change of home waits for the hour to pass.
    update(HOST, "198.51.100.14");
    wait_for_home(&site, "198.51.100.14");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        receiver.received().len(),
        3,
        "held by the rate limit: {}",
        log(&site, "notify.log")
    );
    clock.set("+25h");
    let received = receiver.wait_for(4);
    let held = received[3].json();
    assert_eq!(held["host"], HOST);
    assert_eq!(held["events"][0]["new"], "198.51.100.14", "{held}");
}
