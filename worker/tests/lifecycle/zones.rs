//! Each zone names its backend: zones on different backends are applied side by side, and a zone
//! with `create_missing = false` updates only names its backend already holds.

use std::sync::Arc;
use std::time::Duration;

use dyndns_queue::Family;
use dyndns_worker::backend::Backend;
use dyndns_worker::Mode;
use tokio::time::Instant;

use crate::fake::{FakeBackend, SoleAddress, Step};
use crate::util::{files_in, ip, Bench, ELSEWHERE, HOST, OTHER};

/// The `example.net` zone on the `none` backend; `example.com` stays on `zonefile`.
fn net_on_none(text: String) -> String {
    text.replace(
        "backend_zone = \"example.net\"\n",
        "backend_zone = \"example.net\"\nbackend = \"none\"\n",
    )
}

#[tokio::test(start_paused = true)]
async fn zones_on_different_backends_are_applied_side_by_side() {
    let bench = Bench::edited(3600, net_on_none);
    let net = Arc::new(FakeBackend::default());
    bench.backend.delay_writes(Duration::from_secs(10));
    net.delay_writes(Duration::from_secs(10));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.8"), None, 1));

    let started = Instant::now();
    let report = bench
        .run_split(
            bench.backend.clone() as Arc<dyn Backend>,
            net.clone() as Arc<dyn Backend>,
            Mode::RunOnce,
            std::future::pending(),
        )
        .await
        .expect("the worker runs");

    assert_eq!(report.applied, 2);
    // Each zone went to its own backend, and only there.
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(bench.backend.record(ELSEWHERE, Family::V4), None);
    assert_eq!(net.record(ELSEWHERE, Family::V4), Some(ip("203.0.113.8")));
    assert_eq!(net.record(HOST, Family::V4), None);
    // Two writes of 10 s each took 10 s, not 20: side by side.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(files_in(&bench.spool().cur()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn create_missing_false_dead_letters_a_new_name_and_updates_a_held_one() {
    let bench = Bench::edited(3600, |text| {
        text.replace(
            "backend_zone = \"example.com\"\n",
            "backend_zone = \"example.com\"\ncreate_missing = false\n",
        )
    });
    let name = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    let report = bench.run_once().await;
    assert_eq!(report.dead_lettered, 1);
    assert!(bench.backend.calls().is_empty(), "nothing was written");
    let failed = bench.spool().failed();
    let reason = std::fs::read_to_string(failed.join(format!("{name}.reason"))).expect("reason");
    assert!(reason.contains("create_missing = false"), "{reason}");

    // Once the name exists at the backend (with its IPv6 address, say), its IPv4 address is kept.
    bench.backend.hold(HOST, ip("2001:db8::1"));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.9"), None, 0));
    let report = bench.run_once().await;
    assert_eq!(report.applied, 1, "{report:?}");
    let written: Vec<_> = bench
        .backend
        .calls()
        .iter()
        .map(|call| call.change.sole_address())
        .collect();
    assert_eq!(written, [ip("203.0.113.9")]);
}

#[tokio::test(start_paused = true)]
async fn two_zones_sharing_a_backend_zone_keep_their_own_backends() {
    // `lab.dyn.example.com` is its own [[zone]] on `none`, in the same backend zone `example.com`
    // as `dyn.example.com` on `zonefile`: one batch per backend, never the first zone's for both.
    let bench = Bench::edited(3600, |text| {
        text.replace(
            "[[zone]]\nname = \"dyn.example.net\"",
            "[[zone]]\nname = \"lab.dyn.example.com\"\nbackend_zone = \"example.com\"\nbackend = \"none\"\n\n[[zone]]\nname = \"dyn.example.net\"",
        )
    });
    let lab = Arc::new(FakeBackend::default());
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 1));
    let report = bench
        .run_split(
            bench.backend.clone() as Arc<dyn Backend>,
            lab.clone() as Arc<dyn Backend>,
            Mode::RunOnce,
            std::future::pending(),
        )
        .await
        .expect("the worker runs");
    assert_eq!(report.applied, 2);
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(bench.backend.record(OTHER, Family::V4), None);
    assert_eq!(lab.record(OTHER, Family::V4), Some(ip("203.0.113.8")));
}

/// A third zone, `dyn.example.org`, on the `none` backend (with a host the router may update);
/// `example.com` and `example.net` stay on `zonefile`.
fn org_on_none(text: String) -> String {
    text.replace(
        "[[user]]",
        "[[zone]]\nname = \"dyn.example.org\"\nbackend = \"none\"\n\n[[user]]",
    )
    .replace(
        &format!("\"{ELSEWHERE}\"]"),
        &format!("\"{ELSEWHERE}\", \"{ORG}\"]"),
    )
}

const ORG: &str = "home.dyn.example.org";

#[tokio::test(start_paused = true)]
async fn a_sigterm_while_one_backend_works_and_another_waits_finishes_both_batches_in_flight() {
    let bench = Bench::edited(3600, org_on_none);
    let org = Arc::new(FakeBackend::default());
    // zonefile: example.com (in flight for 10 s), then example.net (waiting its turn).
    bench.backend.delay_writes(Duration::from_secs(10));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 3));
    let waiting = bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.8"), None, 2));
    bench.spool_job(&bench.job(ORG, Some("203.0.113.9"), None, 1));
    // SIGTERM arrives while `none` works on example.org and zonefile on example.com.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stop = Some(stop);
    org.on_call(move |_| {
        if let Some(stop) = stop.take() {
            let _ = stop.send(());
        }
    });
    let report = bench
        .run_split(
            bench.backend.clone() as Arc<dyn Backend>,
            org.clone() as Arc<dyn Backend>,
            Mode::Continuous,
            async {
                let _ = stopped.await;
            },
        )
        .await
        .expect("the worker runs");

    // Both batches in flight finished and were recorded; the waiting zone was not started.
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(org.record(ORG, Family::V4), Some(ip("203.0.113.9")));
    assert_eq!(bench.backend.record(ELSEWHERE, Family::V4), None);
    assert_eq!(bench.backend.batches().len(), 1);
    assert_eq!((report.applied, report.left_in_cur), (2, 1));
    assert_eq!(files_in(&bench.spool().cur()), [waiting]);
    assert!(bench.state().family(ORG, Family::V4).is_some());
}

#[tokio::test(start_paused = true)]
async fn two_zones_sharing_a_backend_zone_and_backend_keep_their_own_create_missing() {
    // `dyn.example.com` refuses new names, `lab.dyn.example.com` (same backend zone, same
    // backend) creates them: two batches, each under its own zone's rule.
    let bench = Bench::edited(3600, |text| {
        text.replace(
            "backend_zone = \"example.com\"\n",
            "backend_zone = \"example.com\"\ncreate_missing = false\n\n[[zone]]\nname = \"lab.dyn.example.com\"\nbackend_zone = \"example.com\"\n",
        )
    });
    let refused = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 2));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 1));
    let report = bench.run_once().await;
    assert_eq!((report.applied, report.dead_lettered), (1, 1), "{report:?}");
    assert_eq!(bench.backend.record(HOST, Family::V4), None);
    assert_eq!(
        bench.backend.record(OTHER, Family::V4),
        Some(ip("203.0.113.8"))
    );
    let batches = bench.backend.batches();
    assert_eq!(
        batches.len(),
        1,
        "only the creating zone wrote: {batches:?}"
    );
    let reason = std::fs::read_to_string(bench.spool().failed().join(format!("{refused}.reason")))
        .expect("reason");
    assert!(reason.contains("create_missing = false"), "{reason}");
}

/// A backend at work on a long batch holds back only its own zones: a change for a zone on
/// another backend, spooled meanwhile, is applied, recorded and leaves `cur/` at once, not when
/// the long batch ends (it once waited for it: one pass applied every backend and waited for all).
/// A retry that comes due while its backend is busy waits for it without the worker spinning.
#[test]
fn a_slow_backend_holds_back_only_its_own_zones() {
    let (done, outcome) = std::sync::mpsc::channel();
    // The worker under paused time in a thread of its own: if it spins or hangs, time stops
    // and this test fails at the watchdog instead of stalling.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime");
        runtime.block_on(slow_backend_scenario());
        let _ = done.send(());
    });
    outcome
        .recv_timeout(Duration::from_secs(60))
        .expect("the scenario finished (a hang or a spinning worker stops paused time)");
}

async fn slow_backend_scenario() {
    let bench = Bench::edited(1, net_on_none);
    let net = Arc::new(FakeBackend::default());
    // example.com's backend: OTHER is told to come back in 5 s.
    bench
        .backend
        .script(OTHER, Family::V4, [Step::TooManyRequests(5)]);
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 2));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 2));
    bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.9"), None, 2));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let worker = bench.run_split(
        bench.backend.clone() as Arc<dyn Backend>,
        net.clone() as Arc<dyn Backend>,
        Mode::Continuous,
        async {
            let _ = stopped.await;
        },
    );
    let driver = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(net.record(ELSEWHERE, Family::V4), Some(ip("203.0.113.9")));
        // From now on example.com's backend takes 100 s per batch; a new HOST change starts one.
        bench.backend.delay_writes(Duration::from_secs(100));
        bench.spool_job(&bench.job(HOST, Some("203.0.113.17"), None, 0));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let quick = bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.19"), None, 0));
        let spooled = Instant::now();
        for _ in 0..30 {
            if !files_in(&bench.spool().cur()).contains(&quick)
                && !files_in(&bench.spool().new()).contains(&quick)
            {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let took = spooled.elapsed();
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(net.record(ELSEWHERE, Family::V4), Some(ip("203.0.113.19")));
        assert_eq!(
            bench.state().family(ELSEWHERE, Family::V4).unwrap().address,
            Some(ip("203.0.113.19"))
        );
        // The long batch is still at work.
        assert_eq!(
            bench.backend.record(HOST, Family::V4),
            Some(ip("203.0.113.7"))
        );
        let _ = stop.send(());
    };
    let (report, ()) = tokio::join!(worker, driver);
    let report = report.expect("the worker runs");
    // At SIGTERM the long batch finished and was recorded; OTHER's retry was not started.
    assert!(started.elapsed() >= Duration::from_secs(100));
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.17"))
    );
    assert_eq!(bench.backend.record(OTHER, Family::V4), None);
    assert_eq!((report.applied, report.left_in_cur), (4, 1), "{report:?}");
}
