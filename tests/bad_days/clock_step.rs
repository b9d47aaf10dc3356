//! The wall clock steps back an hour under the running frontend, worker and notifier (a bad NTP
//! server, a VM restored from a snapshot, an administrator's typo), and later forward again. An
//! update after the step is accepted, applied (never taken for an old job that would roll DNS
//! back), and told without waiting out the hour; `/health` is 200 again at the worker's next beat;
//! a restart during the hour changes none of it.

use std::time::Duration;

use crate::day::{
    history, log, notify_to, start_notifier, start_worker, update_good, wait_for_home,
    zone_file_site, Clock, PATIENCE,
};
use crate::notify_util::Receiver;
use crate::util::{eventually, Frontend, Site, HOST};

fn start_frontend(site: &Site, clock: &Clock) -> Frontend {
    let mut command = site.serve_command();
    clock.apply(&mut command);
    site.spawn_frontend(command)
}

#[test]
fn a_clock_stepped_back_an_hour_and_forward_again_loses_delays_and_rolls_back_nothing() {
    let site = zone_file_site("heartbeat_max_age_secs = 30");
    let Some(clock) = Clock::new(&site) else {
        return;
    };
    let receiver = Receiver::start();
    notify_to(&site, "ntfy", &receiver, "min_interval = 2");
    let worker = start_worker(&site, Some(&clock));
    let _notifier = start_notifier(&site, Some(&clock));
    let mut frontend = start_frontend(&site, &clock);
    let update_lands_and_is_told = |frontend: &Frontend, address: &str, told: usize| {
        update_good(frontend, HOST, address);
        wait_for_home(&site, address);
        let heard = eventually(PATIENCE, || receiver.titles().len() >= told);
        assert!(
            heard,
            "{:?}: {}",
            receiver.titles(),
            log(&site, "notify.log")
        );
        assert_eq!(receiver.titles()[told - 1], format!("{HOST}: A {address}"));
    };
    update_lands_and_is_told(&frontend, "203.0.113.1", 1);
    assert_eq!(frontend.get("/health", None).status, 200);

    clock.set("-1h");
    update_lands_and_is_told(&frontend, "203.0.113.2", 2);
    // The beat written before the step is dated an hour ahead: not taken as recent, until the
    // worker's next one (every second here).
    let healthy = eventually(Duration::from_secs(10), || {
        frontend.get("/health", None).status == 200
    });
    assert!(healthy, "{}", frontend.get("/health", None).body);

    // A restart of both within the hour: the frontend's job clock starts after the jobs handled.
    drop(frontend);
    worker.signal(nix::sys::signal::Signal::SIGTERM);
    worker.wait_exit();
    let _worker = start_worker(&site, Some(&clock));
    frontend = start_frontend(&site, &clock);
    update_lands_and_is_told(&frontend, "203.0.113.3", 3);

    clock.set("+0");
    update_lands_and_is_told(&frontend, "203.0.113.4", 4);

    let events = history(&site);
    let applied: Vec<String> = events
        .iter()
        .map(|event| format!("{:?} {}", event.event, event.new.unwrap()))
        .collect();
    assert_eq!(
        applied,
        [
            "Applied 203.0.113.1",
            "Applied 203.0.113.2",
            "Applied 203.0.113.3",
            "Applied 203.0.113.4"
        ]
    );
    // The step really reached the worker (libfaketime took): its events of the hour are dated
    // before the first one, and the last, after the correction, after it again.
    let hour_back = |later: &dyndns_queue::HistoryEvent| {
        events[0]
            .time
            .duration_since(later.time)
            .is_ok_and(|back| back > std::time::Duration::from_secs(50 * 60))
    };
    assert!(hour_back(&events[1]) && hour_back(&events[2]), "{events:?}");
    assert!(events[3].time > events[0].time, "{events:?}");
    for pair in events.windows(2) {
        assert!(
            pair[0].received_at < pair[1].received_at,
            "the jobs' own order survives the step: {pair:?}"
        );
    }
    for folder in ["new", "cur", "failed"] {
        assert_eq!(site.files_in(folder), Vec::<String>::new(), "{folder}/");
    }
    assert_eq!(receiver.received().len(), 4, "{:?}", receiver.titles());
}
