//! A backend's chain of batches runs while the worker goes on: what arrives meanwhile for a host in
//! flight, a chain's end while the worker sleeps, `--timeout` and SIGTERM with chains at work, and
//! a state save that fails meanwhile, each keep the life-cycle promises (newest wins, DNS never
//! rolls back, a job leaves `cur/` only once recorded, the run ends on time).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dyndns_queue::Family;
use dyndns_worker::Mode;
use tokio::time::Instant;

use crate::fake::SoleAddress;
use crate::util::{files_in, ip, Bench, ELSEWHERE, HOST};

/// Runs `scenario` under paused time in a thread of its own: a worker that spins or hangs stops
/// paused time, and the test fails at this watchdog instead of stalling.
fn within_a_minute<F: Future<Output = ()> + 'static>(
    scenario: impl FnOnce() -> F + Send + 'static,
) {
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime");
        runtime.block_on(scenario());
        let _ = done.send(());
    });
    outcome
        .recv_timeout(Duration::from_secs(60))
        .expect("the scenario finished (a hang or a spinning worker stops paused time)");
}

/// Waits (in paused time, one second at a time, at most `limit`) until `done` holds.
async fn until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    done()
}

/// `--timeout` ends a run the way SIGTERM does: the batch in flight finishes and is recorded, and
/// the rest of its backend's chain waits in `cur/` for the next run. It once ran the whole chain
/// past the deadline (here a second 100 s batch), so an hourly cron run could still hold the lock
/// when the next one started.
#[tokio::test(start_paused = true)]
async fn a_timeout_stops_a_chain_between_batches_like_sigterm() {
    let bench = Bench::new();
    // One backend for both zones: example.com's batch, then example.net's, 100 s each.
    bench.backend.delay_writes(Duration::from_secs(100));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 2));
    let waiting = bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.8"), None, 1));

    let started = Instant::now();
    let report = bench
        .run(Mode::Timeout(Duration::from_secs(10)))
        .await
        .expect("run");

    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(150),
        "ran {took:?} for a 10 s timeout"
    );
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(bench.backend.record(ELSEWHERE, Family::V4), None);
    assert_eq!(
        (report.applied, report.deferred, report.left_in_cur),
        (1, 1, 1)
    );
    assert_eq!(files_in(&bench.spool().cur()), [waiting]);
    assert!(bench.state().family(HOST, Family::V4).is_some());
}

/// A job for a host whose change is at the backend waits for it, then wins: DNS and
/// `applied.json` end at the newer address, never overwritten by the older result.
#[test]
fn a_newer_job_for_a_host_in_flight_is_applied_after_it_and_wins() {
    within_a_minute(|| async {
        let bench = Bench::with_rescan(3600);
        bench.backend.delay_writes(Duration::from_secs(100));
        bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = bench.run_until(Mode::Continuous, async {
            let _ = stopped.await;
        });
        let newer = bench.job(HOST, Some("203.0.113.17"), None, -10);
        let driver = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            bench.spool_job(&newer);
            let landed = until(Duration::from_secs(400), || {
                bench.backend.record(HOST, Family::V4) == Some(ip("203.0.113.17"))
                    && files_in(&bench.spool().cur()).is_empty()
                    && files_in(&bench.spool().new()).is_empty()
            })
            .await;
            let _ = stop.send(());
            assert!(landed, "the newer job was applied and left cur/");
        };
        let (report, ()) = tokio::join!(worker, driver);
        let report = report.expect("the worker runs");
        let written: Vec<_> = bench
            .backend
            .calls()
            .iter()
            .map(|call| call.change.sole_address())
            .collect();
        assert_eq!(written, [ip("203.0.113.7"), ip("203.0.113.17")]);
        let state = bench.state();
        let recorded = state.family(HOST, Family::V4).expect("recorded");
        assert_eq!(recorded.address, Some(ip("203.0.113.17")));
        assert_eq!(recorded.handled_received_at, newer.received_at);
        assert_eq!((report.applied, report.left_in_cur), (2, 0));
    });
}

/// An older job arriving while the host's newer change is at the backend (a dead letter moved
/// back by hand) is superseded by it once it lands: never written, never recorded.
#[test]
fn an_older_job_arriving_while_its_host_is_in_flight_never_rolls_dns_back() {
    within_a_minute(|| async {
        let bench = Bench::with_rescan(3600);
        bench.backend.delay_writes(Duration::from_secs(100));
        let current = bench.job(HOST, Some("203.0.113.7"), None, 5);
        bench.spool_job(&current);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = bench.run_until(Mode::Continuous, async {
            let _ = stopped.await;
        });
        let older = bench.job(HOST, Some("203.0.113.3"), None, 60);
        let driver = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            bench.spool_job(&older);
            let settled = until(Duration::from_secs(400), || {
                bench.backend.record(HOST, Family::V4).is_some()
                    && files_in(&bench.spool().cur()).is_empty()
                    && files_in(&bench.spool().new()).is_empty()
            })
            .await;
            let _ = stop.send(());
            assert!(settled, "both jobs left cur/");
        };
        let (report, ()) = tokio::join!(worker, driver);
        let report = report.expect("the worker runs");
        assert_eq!(
            bench.backend.calls().len(),
            1,
            "the older one is never written"
        );
        assert_eq!(
            bench.backend.record(HOST, Family::V4),
            Some(ip("203.0.113.7"))
        );
        let state = bench.state();
        let recorded = state.family(HOST, Family::V4).expect("recorded");
        assert_eq!(recorded.address, Some(ip("203.0.113.7")));
        assert_eq!(recorded.handled_received_at, current.received_at);
        assert_eq!((report.applied, report.superseded), (1, 1), "{report:?}");
    });
}

/// A job with the other family of a host in flight waits for its backend, and both families end
/// applied and recorded.
#[test]
fn the_other_family_of_a_host_in_flight_is_applied_after_it() {
    within_a_minute(|| async {
        let bench = Bench::with_rescan(3600);
        bench.backend.delay_writes(Duration::from_secs(100));
        bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = bench.run_until(Mode::Continuous, async {
            let _ = stopped.await;
        });
        let driver = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), -10));
            let landed = until(Duration::from_secs(400), || {
                bench.backend.record(HOST, Family::V6).is_some()
                    && files_in(&bench.spool().cur()).is_empty()
                    && files_in(&bench.spool().new()).is_empty()
            })
            .await;
            let _ = stop.send(());
            assert!(landed, "the IPv6 change was applied and the job left cur/");
        };
        let (report, ()) = tokio::join!(worker, driver);
        let report = report.expect("the worker runs");
        let state = bench.state();
        assert_eq!(
            state.applied_address(HOST, Family::V6),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            state.applied_address(HOST, Family::V4),
            Some(ip("203.0.113.7"))
        );
        // The second job's IPv4 address was already published: read, found, not written again.
        assert_eq!((report.applied, report.unchanged), (2, 1), "{report:?}");
    });
}

/// A chain that ends while the worker sleeps wakes it at once: a change that waited for its busy
/// backend goes out when the chain ends, not at the next rescan an hour later.
#[test]
fn a_chain_ending_while_the_worker_sleeps_starts_the_waiting_zone_at_once() {
    within_a_minute(|| async {
        let bench = Bench::with_rescan(3600);
        bench.backend.delay_writes(Duration::from_secs(100));
        bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let started = Instant::now();
        let worker = bench.run_until(Mode::Continuous, async {
            let _ = stopped.await;
        });
        let driver = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.8"), None, -10));
            let landed = until(Duration::from_secs(1000), || {
                bench.backend.record(ELSEWHERE, Family::V4).is_some()
            })
            .await;
            let _ = stop.send(());
            assert!(landed, "the waiting zone was applied");
        };
        let (report, ()) = tokio::join!(worker, driver);
        report.expect("the worker runs");
        let calls = bench.backend.calls();
        let elsewhere = calls
            .iter()
            .find(|call| call.change.host == ELSEWHERE)
            .expect("written");
        // Started when the first chain ended (at 100 s), written 100 s later.
        let at = elsewhere.at - started;
        assert!(at <= Duration::from_secs(201), "written at {at:?}");
    });
}

/// A SIGTERM while the applied state cannot be saved and waits for its next retry still tries to
/// save once before exiting: the disk may be back, and the batches just finished (and the jobs
/// waiting for the record) would otherwise be applied again by the next start.
#[test]
fn a_sigterm_while_a_state_save_waits_for_its_retry_saves_before_exit() {
    within_a_minute(|| async {
        let bench = Arc::new(Bench::with_rescan(1));
        let state_dir = bench.state_dir();
        // The first write breaks the state folder (saving fails with ENOTDIR, for root too).
        {
            let state_dir = state_dir.clone();
            bench.backend.on_call(move |_| {
                if state_dir.is_dir() {
                    std::fs::remove_dir_all(&state_dir).expect("remove the state folder");
                    std::fs::write(&state_dir, b"").expect("a file in its place");
                }
            });
        }
        let first = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = bench.run_until(Mode::Continuous, async {
            let _ = stopped.await;
        });
        let driver = {
            let bench = Arc::clone(&bench);
            async move {
                // Saves fail at 1, 3, 7, 15, 31 and 63 s; the next try is at 127 s.
                tokio::time::sleep(Duration::from_secs(100)).await;
                assert_eq!(files_in(&bench.spool().cur()), [first]);
                std::fs::remove_file(&state_dir).expect("remove the file");
                std::fs::create_dir(&state_dir).expect("the state folder again");
                // SIGTERM arrives while a second change is at the backend.
                bench.backend.delay_writes(Duration::from_secs(10));
                let mut stop = Some(stop);
                bench.backend.on_call(move |_| {
                    if let Some(stop) = stop.take() {
                        let _ = stop.send(());
                    }
                });
                bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.8"), None, -100));
            }
        };
        let (report, ()) = tokio::join!(worker, driver);
        let report = report.expect("the worker runs");
        assert_eq!(
            bench.backend.record(ELSEWHERE, Family::V4),
            Some(ip("203.0.113.8"))
        );
        assert!(!report.state_unsaved, "{report:?}");
        assert_eq!((report.applied, report.left_in_cur), (2, 0), "{report:?}");
        assert!(files_in(&bench.spool().cur()).is_empty());
        let state = bench.state();
        assert_eq!(
            state.applied_address(HOST, Family::V4),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            state.applied_address(ELSEWHERE, Family::V4),
            Some(ip("203.0.113.8"))
        );
    });
}
