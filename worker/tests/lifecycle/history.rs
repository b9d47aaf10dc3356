//! What the worker writes to `history.jsonl`: an event per applied change (deletes included), per
//! dead letter, and per failing change only when it first fails or its error changes, with the
//! recovery on the applied event; one append and one sync per pass; and the heartbeat it beats.

use std::time::Duration;

use dyndns_queue::{read_history, EventKind, Family, Heartbeat, HistoryEvent, RunMode};
use dyndns_worker::Mode;

use crate::fake::Step;
use crate::util::{ip, Bench, ELSEWHERE, HOST, OTHER};

fn history(bench: &Bench) -> Vec<HistoryEvent> {
    let read = read_history(&bench.state_dir()).expect("the history reads");
    assert_eq!(read.unreadable, 0);
    read.events
}

fn kinds(events: &[HistoryEvent]) -> Vec<(EventKind, &str, Family, u32)> {
    events
        .iter()
        .map(|event| {
            (
                event.event,
                event.host.as_str(),
                event.family,
                event.failures,
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn applied_changes_and_deletes_are_events_with_user_backend_zone_and_job() {
    let bench = Bench::new();
    let set = bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 2);
    bench.spool_job(&set);
    bench.run_once().await;
    let delete = bench.delete_job(HOST, &[Family::V4], 1);
    bench.spool_job(&delete);
    let report = bench.run_once().await;
    assert_eq!(report.history_syncs, 1);

    let events = history(&bench);
    assert_eq!(
        kinds(&events),
        [
            (EventKind::Applied, HOST, Family::V4, 0),
            (EventKind::Applied, HOST, Family::V6, 0),
            (EventKind::Applied, HOST, Family::V4, 0),
        ]
    );
    let first = &events[0];
    assert_eq!(
        (first.old.as_slice(), first.new),
        (&[][..], Some(ip("203.0.113.7")))
    );
    assert_eq!(first.user, "router");
    assert_eq!(first.backend.as_deref(), Some("fake"));
    assert_eq!(first.zone.as_deref(), Some("example.com"));
    assert_eq!((first.job, first.received_at), (set.id, set.received_at));
    assert!(first.changed && first.error.is_none() && first.ms.is_some());
    // The delete: from the address applied before to nothing.
    let deleted = &events[2];
    assert_eq!(deleted.job, delete.id);
    assert_eq!(
        (deleted.old.as_slice(), deleted.new),
        (&[ip("203.0.113.7")][..], None)
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_is_a_dead_letter_event_with_the_backends_message() {
    let bench = Bench::new();
    bench.backend.script(
        HOST,
        Family::V4,
        [Step::Permanent("A value does not parse")],
    );
    let job = bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 1);
    bench.spool_job(&job);
    bench.run_once().await;

    let events = history(&bench);
    assert_eq!(
        kinds(&events),
        [
            (EventKind::DeadLetter, HOST, Family::V4, 0),
            (EventKind::Applied, HOST, Family::V6, 0),
        ]
    );
    let error = events[0].error.as_deref().expect("the message");
    assert!(error.contains("A value does not parse"), "{error}");
    assert_eq!(events[0].new, Some(ip("203.0.113.7")));
}

#[tokio::test(start_paused = true)]
async fn a_job_refused_at_admission_is_a_dead_letter_event() {
    let bench = Bench::new();
    let job = bench.job("nope.dyn.example.com", Some("203.0.113.7"), None, 1);
    bench.spool_job(&job);
    bench.run_once().await;

    let events = history(&bench);
    assert_eq!(
        kinds(&events),
        [(EventKind::DeadLetter, "nope.dyn.example.com", Family::V4, 0)]
    );
    assert_eq!((events[0].backend.as_deref(), events[0].ms), (None, None));
    assert!(events[0].error.is_some());
}

/// A backend down for ten minutes with retries every few seconds to five minutes: one line when the
/// change first fails, one when the error text changes, and the recovery, not a line per retry.
#[tokio::test(start_paused = true)]
async fn an_outage_writes_a_failure_when_it_starts_or_changes_and_one_recovery() {
    let bench = Bench::new();
    let steps = std::iter::repeat_n(Step::Transient("connection refused"), 6)
        .chain(std::iter::repeat_n(Step::Transient("timed out"), 3));
    bench.backend.script(HOST, Family::V4, steps);
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let report = bench
        .run(Mode::Timeout(Duration::from_secs(3600)))
        .await
        .expect("run");
    assert_eq!(bench.backend.calls().len(), 10);

    let events = history(&bench);
    assert_eq!(
        kinds(&events),
        [
            (EventKind::BackendFailure, HOST, Family::V4, 1),
            (EventKind::BackendFailure, HOST, Family::V4, 7),
            (EventKind::Applied, HOST, Family::V4, 9),
        ]
    );
    assert!(events[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("connection refused")));
    assert!(events[1]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("timed out")));
    assert!(events[2].error.is_none());
    // Three passes had events to write, each one sync.
    assert_eq!(report.history_syncs, 3);
}

#[tokio::test(start_paused = true)]
async fn a_pass_of_many_events_is_one_sync() {
    let bench = Bench::new();
    for host in [HOST, OTHER, ELSEWHERE] {
        bench.spool_job(&bench.job(host, Some("203.0.113.7"), Some("2001:db8::7"), 1));
    }
    bench.spool_job(&bench.job("nope.dyn.example.com", Some("203.0.113.7"), None, 1));
    let report = bench.run_once().await;
    assert_eq!(history(&bench).len(), 7);
    assert_eq!(
        report.history_syncs, 1,
        "one append and one sync for the pass"
    );
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_beats_while_the_worker_runs_and_says_when_it_stopped() {
    let bench = Bench::edited(3600, |text| {
        text.replace(
            "rescan_secs = 3600",
            "rescan_secs = 3600\nheartbeat_secs = 2",
        )
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(bench.run_until(Mode::Continuous, async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first = Heartbeat::read(&bench.state_dir())
        .expect("reads")
        .expect("written at start");
    assert!(first.is_running());
    assert_eq!((first.mode, first.interval_secs), (RunMode::Continuous, 2));
    assert_eq!(first.pid, std::process::id());

    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = Heartbeat::read(&bench.state_dir())
        .expect("reads")
        .expect("there");
    assert_eq!(later.started_at, first.started_at);
    assert!(
        later.beat_at >= first.beat_at + Duration::from_secs(4),
        "{later:?} after {first:?}"
    );

    stop.send(()).expect("worker waits");
    worker.await.expect("joins").expect("runs");
    let last = Heartbeat::read(&bench.state_dir())
        .expect("reads")
        .expect("there");
    assert!(!last.is_running(), "a clean exit is marked: {last:?}");
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_carries_what_the_worker_did_per_backend_and_the_dead_letters() {
    let bench = Bench::new();
    bench
        .backend
        .script(OTHER, Family::V4, [Step::Permanent("refused")]);
    bench.spool_job(&bench.job(HOST, Some("203.0.113.6"), None, 3));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 2));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 1));
    bench.spool_job(&bench.job("nope.dyn.example.com", Some("203.0.113.9"), None, 1));
    bench.run_once().await;
    let beat = || {
        Heartbeat::read(&bench.state_dir())
            .expect("reads")
            .expect("written")
    };
    // applied, unchanged, superseded, dead-lettered
    let outcomes = |beat: &Heartbeat| {
        let fake = &beat.counts.backends["fake"];
        (
            fake.applied,
            fake.unchanged,
            fake.superseded,
            fake.dead_lettered,
        )
    };
    let first = beat();
    assert_eq!(outcomes(&first), (1, 0, 1, 1), "{first:?}");
    assert_eq!(
        first.counts.backends["fake"].batches.count, 1,
        "one zone, one batch"
    );
    assert_eq!(
        first.counts.backends[""].dead_lettered, 1,
        "refused at admission, before any backend"
    );
    assert_eq!(first.failed, Some(2), "two dead letters wait in failed/");

    // The same address again: found in place. A new worker counts from zero.
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 0));
    bench.run_once().await;
    let second = beat();
    assert_eq!(outcomes(&second), (0, 1, 0, 0), "{second:?}");
    assert_eq!(second.failed, Some(2));
}

#[tokio::test(start_paused = true)]
async fn a_change_written_by_a_run_killed_before_its_history_line_is_told_as_a_change() {
    let bench = Bench::new();
    bench.spool_job(&bench.job(HOST, Some("203.0.113.1"), None, 3));
    bench.run_once().await;
    // The killed run wrote 203.0.113.2 to DNS; its job is still in the spool, unrecorded.
    bench.backend.hold(HOST, ip("203.0.113.2"));
    let job = bench.job(HOST, Some("203.0.113.2"), None, 2);
    bench.spool_job(&job);
    bench.run_once().await;

    let events = history(&bench);
    let told = &events[1];
    assert_eq!(told.job, job.id);
    assert!(told.changed, "DNS moved since the last event: {told:?}");
    assert_eq!(
        (told.old.as_slice(), told.new),
        (&[ip("203.0.113.1")][..], Some(ip("203.0.113.2"))),
        "from the recorded address"
    );
    // Applied once more (a run repeating itself), it is unchanged.
    bench.spool_job(&bench.job(HOST, Some("203.0.113.2"), None, 1));
    bench.run_once().await;
    assert!(!history(&bench)[2].changed);
}
