//! What gets in: a job's time is trusted only within bounds, a read that may pass is retried
//! rather than dead-lettered, and a job dropped into `new/` wakes the worker through the watch.

use std::time::Duration;

use dyndns_queue::{Family, SpoolError};
use dyndns_worker::Mode;

use crate::util::{files_in, ip, Bench, HOST};

#[tokio::test(start_paused = true)]
async fn a_job_dated_far_ahead_is_dead_lettered_and_not_recorded() {
    let bench = Bench::new();
    // Dated in 9999: applied, it would make every real update after it stale for ever.
    let mut forged = bench.job(HOST, Some("203.0.113.66"), None, 0);
    forged.received_at = dyndns_queue::rfc3339::parse("9999-01-01T00:00:00Z").expect("time");
    let forged_name = bench.spool_job(&forged);
    let a_day_and_a_minute_ahead =
        bench.spool_job(&bench.job(HOST, None, Some("2001:db8::66"), -86_460));

    let report = bench.run_once().await;

    assert!(bench.backend.calls().is_empty());
    assert_eq!(report.dead_lettered, 2);
    let failed = bench.spool().failed();
    for name in [&forged_name, &a_day_and_a_minute_ahead] {
        let reason =
            std::fs::read_to_string(failed.join(format!("{name}.reason"))).expect("reason");
        assert!(
            reason.contains("more than a day ahead of this machine's clock"),
            "{reason}"
        );
    }
    assert!(
        bench.state().host(HOST).is_none(),
        "not recorded as handled"
    );

    // A real update now still lands, and one ahead (a clock stepped and corrected) is fine too.
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 0));
    bench.spool_job(&bench.job(HOST, None, Some("2001:db8::7"), -240));
    let report = bench.run_once().await;
    assert_eq!(report.applied, 2);
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(
        bench.backend.record(HOST, Family::V6),
        Some(ip("2001:db8::7"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_outside_the_config_is_dead_lettered_with_the_rule_it_broke() {
    let bench = Bench::new();
    let mut job = bench.job(HOST, Some("203.0.113.7"), None, 1);
    job.user = "ghost".into();
    let name = bench.spool_job(&job);
    let report = bench.run_once().await;
    assert_eq!(report.dead_lettered, 1);
    let reason = std::fs::read_to_string(bench.spool().failed().join(format!("{name}.reason")))
        .expect("reason");
    assert!(
        reason.contains("user `ghost` is not configured"),
        "{reason}"
    );
}

/// A write lease held on a claimed job (a compromised frontend can take one on its own file)
/// makes the worker's non-blocking open fail with EWOULDBLOCK until the lease is gone.
#[tokio::test(start_paused = true)]
async fn a_job_under_a_lease_waits_in_cur_and_is_applied_once_readable() {
    let bench = Bench::new();
    let name = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    let spool = bench.spool();
    std::fs::rename(spool.new().join(&name), spool.cur().join(&name)).expect("claim by hand");
    let mut holder = hold_lease(&spool.cur().join(&name));

    let report = bench.run_once().await;
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!((report.dead_lettered, report.left_in_cur), (0, 1));
    assert_eq!(files_in(&spool.cur()), [name]);
    assert!(files_in(&spool.failed()).is_empty());

    let report = bench.run_once().await;
    assert_eq!((report.applied, report.left_in_cur), (1, 0));
}

/// perl (Debian's perl-base is essential) takes a write lease on `path`, ignores the break
/// signal, and says when it holds the lease.
fn hold_lease(path: &std::path::Path) -> std::process::Child {
    let script = r#"use Fcntl qw(F_SETLEASE F_WRLCK); $SIG{IO} = "IGNORE";
        open(my $f, "<", $ARGV[0]) or die "open: $!";
        fcntl($f, F_SETLEASE, F_WRLCK) or die "lease: $!";
        print "leased\n"; STDOUT->flush(); sleep 60;"#;
    let mut holder = std::process::Command::new("perl")
        .args(["-e", script])
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start perl");
    let mut ready = String::new();
    let stdout = holder.stdout.take().expect("piped stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut ready)
        .expect("read from perl");
    assert_eq!(ready, "leased\n", "perl took the lease");
    holder
}

/// Real time: the rescan is an hour away, so only the watch on `new/` can make the worker see
/// the second job within seconds.
#[tokio::test]
async fn the_watch_wakes_the_worker_without_waiting_for_the_rescan() {
    let bench = Bench::with_rescan(3600);
    bench.spool_job(&bench.job(HOST, Some("203.0.113.1"), None, 2));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(bench.run_until(Mode::Continuous, async {
        let _ = stopped.await;
    }));
    // The first job is applied in the first pass; after it the worker waits for a wake-up.
    assert!(
        poll(|| bench.backend.calls().len() == 1).await,
        "first job applied"
    );
    bench.spool_job(&bench.job(HOST, Some("203.0.113.2"), None, 1));
    let woken = poll(|| bench.backend.record(HOST, Family::V4) == Some(ip("203.0.113.2"))).await;
    let _ = stop.send(());
    let report = worker.await.expect("worker task").expect("worker run");
    assert!(woken, "the second job waited for the hourly rescan");
    assert_eq!(report.applied, 2);
    // The lock is released once the worker stopped.
    assert!(!matches!(
        bench.spool().lock(),
        Err(SpoolError::Locked { .. })
    ));
}

/// Polls `condition` every 20 ms for at most 5 seconds of real time.
async fn poll(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..250 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

/// The frontend never dates a job before its last one (nor, at start, before the newest handled
/// or pending one), so after the clock steps back its jobs are ahead of the clock by the step.
#[tokio::test(start_paused = true)]
async fn a_clock_stepped_back_during_a_run_does_not_dead_letter_the_next_jobs() {
    let bench = Bench::new();
    let first = bench.job(HOST, Some("203.0.113.1"), None, 0);
    bench.spool_job(&first);
    {
        let (bench_clock, spool) = (bench.clock.clone(), bench.spool());
        let mut next = first.clone();
        next.id = uuid::Uuid::now_v7();
        next.ipv4 = Some("203.0.113.2".parse().expect("IPv4"));
        next.received_at += Duration::from_millis(1);
        let mut stepped = false;
        bench.backend.on_call(move |_| {
            if !std::mem::replace(&mut stepped, true) {
                bench_clock.step_back(Duration::from_secs(3600));
                std::fs::write(
                    spool.new().join("next.json"),
                    next.to_json().expect("a job dated now is writable"),
                )
                .expect("spool");
            }
        });
    }

    let report = bench
        .run(Mode::Timeout(Duration::from_secs(10)))
        .await
        .expect("run");

    assert_eq!((report.applied, report.dead_lettered), (2, 0));
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.2"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_clock_stepped_back_across_a_restart_does_not_dead_letter_the_next_jobs() {
    let bench = Bench::new();
    let first = bench.job(HOST, Some("203.0.113.1"), None, 0);
    bench.spool_job(&first);
    bench.run_once().await;
    bench.clock.step_back(Duration::from_secs(3600));
    let mut next = bench.job(HOST, Some("203.0.113.2"), None, 0);
    next.received_at = first.received_at + Duration::from_nanos(1);
    bench.spool_job(&next);

    let report = bench.run_once().await;

    assert_eq!((report.applied, report.dead_lettered), (1, 0));
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.2"))
    );
}

/// The clock ran an hour ahead for a while (a time zone set wrong, then fixed) and the frontend
/// dated a job in that hour; a worker that did not run then (hourly from cron, or stopped) meets it
/// after the correction, 55 minutes "in the future". Dead-lettered, it was lost unrecorded, the
/// frontend went on answering `nochg` for its address, and every job the frontend dated after it
/// in that hour (it never dates backwards) was lost too.
#[tokio::test(start_paused = true)]
async fn jobs_dated_while_the_clock_ran_an_hour_ahead_are_applied_after_the_correction() {
    let bench = Bench::new();
    let ahead = bench.job(HOST, Some("203.0.113.1"), None, -3300);
    bench.spool_job(&ahead);
    let mut next = bench.job(HOST, Some("203.0.113.2"), Some("2001:db8::2"), 0);
    next.received_at = ahead.received_at + Duration::from_nanos(1);
    bench.spool_job(&next);

    let report = bench.run_once().await;

    assert_eq!(
        (report.applied, report.superseded, report.dead_lettered),
        (2, 1, 0)
    );
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.2"))
    );
    assert!(files_in(&bench.spool().failed()).is_empty());
}
