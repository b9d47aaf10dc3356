//! The DNS server stops answering for a while (a real BIND `named`, stopped with SIGSTOP: queries
//! and UPDATEs time out, as with a hung or unreachable primary). The updates of that time are
//! accepted and wait; they coalesce, so only the newest address is written once the server answers
//! again; nothing is dead-lettered; and the notifier tells of it twice: once that updates fail, once
//! that they work again, however many retries the worker made in between. Ten minutes of this, in
//! the worker's backoff and the notifier's rate limit, are in worker/tests/lifecycle and
//! notify/tests/notifier.rs, which step a clock through them. A zone file whose disk is full is the
//! same kind of day: retried, never dead-lettered.

use nix::sys::signal::Signal;

use crate::day::{
    history, log, notify_to, start_both, start_notifier, start_worker, update_good, wait_for_home,
    zone_a, zone_file_site, PATIENCE,
};
use crate::dns_server::{DnsServer, Kind};
use crate::notify_util::Receiver;
use crate::util::small_disk::SmallDisk;
use crate::util::{eventually, Site, HOST};

use dyndns_queue::EventKind;

/// Where `HOST` (home.dyn.example.com) lives once the site's zones move under the server's zone.
fn host(server: &DnsServer) -> String {
    HOST.replace("example.com", server.zone())
}

#[test]
fn a_backend_down_for_a_while_gets_the_newest_address_once_back_and_one_message_each_way() {
    let Some(server) = DnsServer::start(Kind::Bind) else {
        return;
    };
    let receiver = Receiver::start();
    let site = Site::new();
    site.switch_to_rfc2136(
        server.address(),
        server.zone(),
        (server.key_name(), server.algorithm(), server.secret()),
    );
    // A one-second timeout so each retry of the outage is quick to fail.
    let mut config = std::fs::read_to_string(site.config_path()).unwrap();
    config.push_str("timeout_secs = 1\n");
    std::fs::write(site.config_path(), config).unwrap();
    notify_to(
        &site,
        "ntfy",
        &receiver,
        "on = [\"change\", \"failure\"]\nmin_interval = 0",
    );
    let host = host(&server);
    let _worker = start_worker(&site, None);
    let _notifier = start_notifier(&site, None);
    let frontend = site.start_frontend();
    let update = |address: &str| update_good(&frontend, &host, address);
    let published = || server.query(&host, "A");
    update("203.0.113.1");
    assert!(eventually(PATIENCE, || published() == ["203.0.113.1"]));
    receiver.wait_for(1);

    server_signal(&server, Signal::SIGSTOP);
    update("203.0.113.2");
    receiver.wait_for(2);
    update("203.0.113.3");
    update("203.0.113.4");
    // Several retries fail (1, 2, 4 s apart) before the server is back.
    let retried = eventually(PATIENCE, || {
        log(&site, "worker.log")
            .matches("transient backend failure")
            .count()
            >= 4
    });
    assert!(retried, "{}", log(&site, "worker.log"));
    assert_eq!(site.files_in("failed"), Vec::<String>::new());
    server_signal(&server, Signal::SIGCONT);

    let back = eventually(PATIENCE, || published() == ["203.0.113.4"]);
    assert!(back, "{:?}: {}", published(), log(&site, "worker.log"));
    assert!(eventually(PATIENCE, || receiver.titles().len() >= 3));
    assert_eq!(
        receiver.titles(),
        [
            format!("{host}: A 203.0.113.1"),
            format!("{host}: A update failing"),
            format!("{host}: A 203.0.113.4 (recovered)"),
        ]
    );

    let events = history(&site);
    let kinds: Vec<(EventKind, Option<String>)> = events
        .iter()
        .map(|event| (event.event, event.new.map(|address| address.to_string())))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Applied, Some("203.0.113.1".into())),
            (EventKind::BackendFailure, Some("203.0.113.2".into())),
            (EventKind::Applied, Some("203.0.113.4".into())),
        ],
        "one failure told however many retries, the two addresses in between never written"
    );
    assert!(events[2].failures >= 4, "{:?}", events[2]);
    for folder in ["new", "cur", "failed"] {
        assert_eq!(site.files_in(folder), Vec::<String>::new(), "{folder}/");
    }
}

fn server_signal(server: &DnsServer, signal: Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.pid() as i32), signal).unwrap();
}

#[test]
fn a_zone_file_on_a_full_disk_is_retried_until_there_is_room_never_dead_lettered() {
    let site = zone_file_site("");
    let Some(zones) = SmallDisk::over(site.path().join("zones")) else {
        return;
    };
    let (_worker, frontend) = start_both(&site);
    update_good(&frontend, HOST, "203.0.113.1");
    wait_for_home(&site, "203.0.113.1");
    zones.fill();
    update_good(&frontend, HOST, "203.0.113.2");
    let failing = eventually(PATIENCE, || {
        log(&site, "worker.log").contains("transient backend failure")
    });
    assert!(failing, "{}", log(&site, "worker.log"));
    assert_eq!(
        zone_a(&site, "home.dyn"),
        ["203.0.113.1"],
        "the old zone stands whole"
    );
    zones.empty();
    wait_for_home(&site, "203.0.113.2");
    // The history line follows the zone's write.
    assert!(eventually(PATIENCE, || history(&site).len() >= 3));
    let kinds: Vec<EventKind> = history(&site).iter().map(|event| event.event).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Applied,
            EventKind::BackendFailure,
            EventKind::Applied
        ]
    );
    assert_eq!(site.files_in("failed"), Vec::<String>::new());
}
