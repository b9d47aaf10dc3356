//! The backend down for ten minutes while updates keep coming (issue 14, "bad days"), in paused
//! time: the jobs wait in the spool, coalesce, and the newest address of each host is written once
//! the backend is back; the history holds one failure and one recovery per host and family, and a
//! notifier following it sends one message of each.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dyndns_config::notify::{NotifyKind, NotifyTarget, SendTo};
use dyndns_notify::{Category, Deliver, DeliveryError, Message, Notifier};
use dyndns_queue::{read_history, EventKind, Family, HistoryEvent};
use dyndns_worker::{Clock, Mode};
use tokio::time::Instant;

use crate::util::{files_in, ip, Bench, HOST, OTHER};

const OUTAGE: Duration = Duration::from_secs(600);
/// The longest wait between two tries (`apply.rs`): the newest address lands this soon after.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const REFUSED: &str = "connection refused: 127.0.0.1:8081";

/// A target that keeps what it is handed, for the notifier driven beside the worker.
#[derive(Default)]
struct Recorded(Mutex<Vec<(String, Category)>>);

impl Deliver for Recorded {
    fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        self.0
            .lock()
            .expect("recorded lock")
            .push((message.host.clone(), message.category()));
        Ok(())
    }
}

fn ntfy_target() -> NotifyTarget {
    NotifyTarget {
        id: "notify[0] ntfy http://127.0.0.1:9/t".into(),
        label: "notify[0] ntfy http://127.0.0.1".into(),
        kind: NotifyKind::Ntfy,
        send_to: SendTo::Http {
            url: "http://127.0.0.1:9/t".into(),
            token_file: None,
        },
        on_change: true,
        on_failure: true,
        users: None,
        min_interval: Duration::from_secs(300),
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test(start_paused = true)]
async fn a_ten_minute_backend_outage_keeps_coalesces_and_applies_the_newest_once_it_returns() {
    let bench = Bench::new();
    let notify_dir = tempfile::tempdir().expect("notifier's folder");
    let recorded = Arc::new(Recorded::default());
    // Started before the worker wrote anything, as a notifier installed beside it.
    let mut notifier = Notifier::open(
        &bench.state_dir(),
        notify_dir.path(),
        vec![(ntfy_target(), recorded.clone() as Arc<dyn Deliver>)],
    )
    .expect("the notifier opens");
    let notify = |notifier: &mut Notifier, bench: &Bench| {
        dyndns_notify::run::run_once(notifier, &|| bench.clock.now()).expect("the notifier runs")
    };
    notify(&mut notifier, &bench);

    let began = Instant::now();
    bench.backend.down_for(OUTAGE, REFUSED);
    // What arrives during the outage, by second: HOST moves four times, OTHER twice.
    let arrivals = [
        (0, HOST, Some("203.0.113.1"), Some("2001:db8::1")),
        (0, OTHER, Some("203.0.113.10"), None),
        (60, HOST, Some("203.0.113.2"), Some("2001:db8::2")),
        (200, HOST, Some("203.0.113.3"), None),
        (400, HOST, Some("203.0.113.4"), Some("2001:db8::4")),
        (550, OTHER, Some("203.0.113.11"), None),
    ];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(bench.run_until(Mode::Continuous, async {
        let _ = stopped.await;
    }));
    let mut spooled = Vec::new();
    // The test's own second by second: jobs arrive, the notifier polls every 5 s as its loop would.
    for second in 0..1200u64 {
        for (at, host, v4, v6) in arrivals {
            if at == second {
                spooled.push(bench.spool_job(&bench.job(host, v4, v6, 0)));
            }
        }
        if second % 5 == 0 {
            notify(&mut notifier, &bench);
        }
        if second == 590 {
            // Ten seconds before the backend returns: every job waits, none is dead-lettered.
            let mut waiting = files_in(&bench.spool().cur());
            waiting.extend(files_in(&bench.spool().new()));
            waiting.sort();
            let mut expected = spooled.clone();
            expected.sort();
            assert_eq!(waiting, expected, "every job waits in cur/ or new/");
            assert!(files_in(&bench.spool().failed()).is_empty());
        }
        tokio::time::sleep_until(began + Duration::from_secs(second + 1)).await;
    }
    stop.send(()).expect("the worker waits");
    let report = worker.await.expect("joins").expect("runs");

    // Nothing dead-lettered, nothing left; each family's older jobs superseded by its newest.
    assert!(files_in(&bench.spool().failed()).is_empty());
    assert!(files_in(&bench.spool().cur()).is_empty());
    assert!(files_in(&bench.spool().new()).is_empty());
    assert_eq!(report.dead_lettered, 0);
    assert_eq!(
        report.superseded,
        3 + 2 + 1,
        "HOST A: 3, HOST AAAA: 2, OTHER A: 1"
    );
    assert_eq!(report.applied, 3);

    // Once back, one write per host and family, of the newest address, within MAX_BACKOFF.
    let back = began + OUTAGE;
    let after: Vec<_> = bench
        .backend
        .calls()
        .into_iter()
        .filter(|call| call.at >= back)
        .collect();
    let mut written: BTreeMap<(String, &str), (std::net::IpAddr, Duration)> = BTreeMap::new();
    for call in &after {
        let key = (call.change.host.clone(), call.change.record_type.as_str());
        let value = (
            crate::fake::SoleAddress::sole_address(&call.change),
            call.at - back,
        );
        assert!(
            written.insert(key, value).is_none(),
            "one write per host and family after the outage: {after:?}"
        );
    }
    let newest = [
        (HOST, Family::V4, "203.0.113.4"),
        (HOST, Family::V6, "2001:db8::4"),
        (OTHER, Family::V4, "203.0.113.11"),
    ];
    assert_eq!(written.len(), newest.len(), "{written:?}");
    for (host, family, address) in newest {
        assert_eq!(bench.backend.record(host, family), Some(ip(address)));
        let (_, waited) = written
            .values()
            .find(|(written, _)| *written == ip(address))
            .expect("written");
        assert!(
            *waited <= MAX_BACKOFF,
            "{host} {family}: applied {waited:?} after the backend returned"
        );
    }

    // The history: per host and family one failure (the backend's words) and one recovery.
    let events = read_history(&bench.state_dir()).expect("the history reads");
    assert_eq!(events.unreadable, 0);
    for (host, family, address) in newest {
        let mine: Vec<&HistoryEvent> = events
            .events
            .iter()
            .filter(|event| event.host == host && event.family == family)
            .collect();
        let kinds: Vec<EventKind> = mine.iter().map(|event| event.event).collect();
        assert_eq!(
            kinds,
            [EventKind::BackendFailure, EventKind::Applied],
            "{host} {family}: {mine:?}"
        );
        assert_eq!(mine[0].error.as_deref(), Some(REFUSED));
        assert_eq!(mine[0].failures, 1);
        assert!(mine[1].failures > 1, "{:?}", mine[1]);
        assert_eq!(mine[1].new, Some(ip(address)));
    }

    // A notifier following that history: per host one message of the failure, one of the recovery.
    let messages = recorded.0.lock().expect("recorded lock").clone();
    for host in [HOST, OTHER] {
        let told: Vec<Category> = messages
            .iter()
            .filter(|(name, _)| name == host)
            .map(|(_, category)| *category)
            .collect();
        assert_eq!(
            told,
            [Category::Failure, Category::Recovery],
            "{host}: {messages:?}"
        );
    }
}

/// A command backend's error quotes its argv, the address in it: each newer address arriving
/// during the outage made the same failure "news" again, one more event and message per address.
#[tokio::test(start_paused = true)]
async fn an_outage_whose_error_quotes_the_address_is_one_failure_however_many_addresses_come() {
    let bench = Bench::new();
    bench.backend.down_for(
        OUTAGE,
        "`/usr/local/sbin/dns-update home.dyn.example.com {address}` exited with status 75",
    );
    let began = Instant::now();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(bench.run_until(Mode::Continuous, async {
        let _ = stopped.await;
    }));
    for (second, address) in [
        (0, "203.0.113.1"),
        (60, "203.0.113.2"),
        (200, "203.0.113.3"),
    ] {
        tokio::time::sleep_until(began + Duration::from_secs(second)).await;
        bench.spool_job(&bench.job(HOST, Some(address), None, 0));
    }
    tokio::time::sleep_until(began + OUTAGE + MAX_BACKOFF + Duration::from_secs(1)).await;
    stop.send(()).expect("the worker waits");
    worker.await.expect("joins").expect("runs");

    let events = read_history(&bench.state_dir()).expect("the history reads");
    let kinds: Vec<EventKind> = events.events.iter().map(|event| event.event).collect();
    assert_eq!(
        kinds,
        [EventKind::BackendFailure, EventKind::Applied],
        "{:?}",
        events.events
    );
    let error = events.events[0].error.as_deref().expect("the words");
    assert!(
        error.contains("203.0.113.1"),
        "as the backend said it: {error}"
    );
}
