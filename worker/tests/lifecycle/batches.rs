//! All due changes of one backend zone reach the backend as one batch, and each change's own result
//! settles only its host and family: one failing change neither fails nor retries the others.

use dyndns_queue::Family;
use dyndns_worker::Mode;

use crate::fake::SoleAddress;
use crate::fake::Step;
use crate::util::{family_state, files_in, ip, Bench, ELSEWHERE, HOST, OTHER};

#[tokio::test(start_paused = true)]
async fn the_due_changes_of_a_zone_go_to_the_backend_in_one_batch() {
    let bench = Bench::new();
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 2));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 1));

    let report = bench.run_once().await;

    let batches = bench.backend.batches();
    assert_eq!(batches.len(), 1, "{batches:?}");
    let (zone, changes) = &batches[0];
    assert_eq!(zone, "example.com");
    let mut hosts: Vec<(&str, _)> = changes
        .iter()
        .map(|c| (c.host.as_str(), c.sole_address()))
        .collect();
    hosts.sort();
    assert_eq!(
        hosts,
        [
            (HOST, ip("203.0.113.7")),
            (HOST, ip("2001:db8::7")),
            (OTHER, ip("203.0.113.8")),
        ]
    );
    assert_eq!((report.applied, report.left_in_cur), (3, 0));
    assert_eq!(
        report.round_trips, 1,
        "the report counts the backend's round trips"
    );
}

#[tokio::test(start_paused = true)]
async fn one_bad_change_in_a_batch_fails_alone() {
    let bench = Bench::new();
    bench
        .backend
        .script(HOST, Family::V4, [Step::Permanent("A value refused")]);
    let name = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 2));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 1));

    let report = bench.run_once().await;

    assert_eq!(bench.backend.batches().len(), 1, "one batch for the zone");
    assert_eq!(bench.backend.record(HOST, Family::V4), None);
    assert_eq!(
        bench.backend.record(HOST, Family::V6),
        Some(ip("2001:db8::7"))
    );
    assert_eq!(
        bench.backend.record(OTHER, Family::V4),
        Some(ip("203.0.113.8"))
    );
    assert_eq!((report.applied, report.dead_lettered), (2, 1));
    assert!(files_in(&bench.spool().cur()).is_empty(), "all settled");
    let failed = bench.spool().failed();
    assert_eq!(files_in(&failed), [name.clone(), format!("{name}.reason")]);
    let reason = std::fs::read_to_string(failed.join(format!("{name}.reason"))).expect("reason");
    assert!(reason.contains("ipv4: backend fake refused"), "{reason}");
    assert!(!reason.contains("ipv6"), "{reason}");
    assert_eq!(
        family_state(&bench.state(), Family::V6).address,
        Some(ip("2001:db8::7"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_retries_only_its_change() {
    let bench = Bench::new();
    bench
        .backend
        .script(OTHER, Family::V4, [Step::Transient("busy")]);
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 2));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 1));

    let report = bench
        .run(Mode::Timeout(std::time::Duration::from_secs(60)))
        .await
        .expect("run");

    let batches = bench.backend.batches();
    assert_eq!(batches.len(), 2, "the batch, then the retry: {batches:?}");
    let retried: Vec<_> = batches[1]
        .1
        .iter()
        .map(|c| (c.host.as_str(), c.sole_address()))
        .collect();
    assert_eq!(
        retried,
        [(OTHER, ip("203.0.113.8"))],
        "only the failed change"
    );
    // The retry waited its own backoff (1 s after the first failure), not the others'.
    let calls = bench.backend.calls();
    let other: Vec<_> = calls.iter().filter(|c| c.change.host == OTHER).collect();
    assert_eq!((other[1].at - other[0].at).as_secs(), 1);
    assert_eq!(
        bench.backend.record(OTHER, Family::V4),
        Some(ip("203.0.113.8"))
    );
    assert_eq!((report.applied, report.left_in_cur), (3, 0));
}

#[tokio::test(start_paused = true)]
async fn a_sigterm_during_a_batch_finishes_it_and_leaves_the_next_zone_in_cur() {
    let bench = Bench::new();
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 3));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 2));
    let later = bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.9"), None, 1));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stop = Some(stop);
    // SIGTERM arrives while the backend works on the first change of example.com's batch.
    bench.backend.on_call(move |_| {
        if let Some(stop) = stop.take() {
            let _ = stop.send(());
        }
    });

    let report = bench
        .run_until(Mode::Continuous, async {
            let _ = stopped.await;
        })
        .await
        .expect("run");

    let batches = bench.backend.batches();
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].0, "example.com");
    assert_eq!(batches[0].1.len(), 2, "the batch in flight finished");
    assert_eq!(
        bench.backend.record(OTHER, Family::V4),
        Some(ip("203.0.113.8"))
    );
    assert_eq!(bench.backend.record(ELSEWHERE, Family::V4), None);
    assert_eq!((report.applied, report.left_in_cur), (2, 1));
    assert_eq!(files_in(&bench.spool().cur()), [later]);
}
