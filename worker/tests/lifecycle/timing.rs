//! Transient failures are retried after 1 s, doubling, at most 5 minutes apart, measured on
//! tokio's paused clock so the test takes no real time; a server's `Retry-After` is never cut short,
//! up to an hour.

use std::time::Duration;

use dyndns_queue::Family;
use dyndns_worker::Mode;

use crate::fake::Step;
use crate::util::{files_in, ip, Bench, HOST};

#[tokio::test(start_paused = true)]
async fn transient_failures_back_off_from_one_second_to_five_minutes() {
    let bench = Bench::new();
    bench.backend.script(
        HOST,
        Family::V4,
        std::iter::repeat_n(Step::Transient("busy"), 12),
    );
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let report = bench
        .run(Mode::Timeout(Duration::from_secs(3600)))
        .await
        .expect("run");

    let calls = bench.backend.calls();
    let gaps: Vec<u64> = calls
        .windows(2)
        .map(|pair| (pair[1].at - pair[0].at).as_secs())
        .collect();
    assert_eq!(
        gaps,
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300],
        "then applied on the 13th call"
    );
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!((report.applied, report.left_in_cur), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_the_backoff_is_waited_out() {
    let bench = Bench::new();
    // 1 s would be the first backoff; the server asked for 30 s. Then 2 s (longer than 1 s asked).
    bench.backend.script(
        HOST,
        Family::V4,
        [Step::TooManyRequests(30), Step::TooManyRequests(1)],
    );
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let report = bench
        .run(Mode::Timeout(Duration::from_secs(3600)))
        .await
        .expect("run");

    let calls = bench.backend.calls();
    let gaps: Vec<u64> = calls
        .windows(2)
        .map(|pair| (pair[1].at - pair[0].at).as_secs())
        .collect();
    assert_eq!(gaps, [30, 2], "then applied on the third call");
    assert_eq!((report.applied, report.left_in_cur), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn run_once_tries_each_change_once_and_leaves_it_in_cur() {
    let bench = Bench::new();
    bench
        .backend
        .script(HOST, Family::V4, [Step::Transient("busy")]);
    let name = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let report = bench.run_once().await;

    assert_eq!(bench.backend.calls().len(), 1);
    assert_eq!((report.deferred, report.left_in_cur), (1, 1));
    assert_eq!(files_in(&bench.spool().cur()), [name]);
    let report = bench.run_once().await;
    assert_eq!((report.applied, report.left_in_cur), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn an_absurd_retry_after_is_waited_out_for_an_hour_at_most() {
    const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
    let bench = Bench::new();
    // The largest number a header can say (which overflowed the clock), ten years, then nothing
    // to wait for: the backoff (4 s for the third failure) is kept.
    bench.backend.script(
        HOST,
        Family::V4,
        [
            Step::TooManyRequests(u64::MAX),
            Step::TooManyRequests(TEN_YEARS),
            Step::TooManyRequests(0),
        ],
    );
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let report = bench
        .run(Mode::Timeout(Duration::from_secs(3 * 3600)))
        .await
        .expect("run");

    let calls = bench.backend.calls();
    let gaps: Vec<u64> = calls
        .windows(2)
        .map(|pair| (pair[1].at - pair[0].at).as_secs())
        .collect();
    assert_eq!(gaps, [3600, 3600, 4], "then applied on the fourth call");
    assert_eq!((report.applied, report.left_in_cur), (1, 0));
}
