//! Why this exists: the worker line's verdict on a heartbeat, which decides what an operator
//! believes about a worker whose lock cannot be probed.

use std::time::{Duration, SystemTime};

use dyndns_queue::{Heartbeat, RunMode, HEARTBEAT_VERSION};

use super::{worker_line, WorkerStatus};

fn status_with_beat_at(beat_at: SystemTime, now: SystemTime) -> WorkerStatus {
    let heartbeat = Heartbeat {
        v: HEARTBEAT_VERSION,
        pid: 4242,
        started_at: beat_at,
        beat_at,
        interval_secs: 10,
        mode: RunMode::Continuous,
        version: "test".to_owned(),
        stopped_at: None,
        counts: Default::default(),
        failed: None,
    };
    WorkerStatus {
        lock: "unknown",
        heartbeat_age_secs: Some(heartbeat.age(now).as_secs()),
        heartbeat: Some(heartbeat),
        heartbeat_unreadable: false,
    }
}

/// A garbled `heartbeat.json` (a broken disk) was reported as "none has run here yet", which
/// sends the operator looking for a worker never installed instead of at the disk.
#[test]
fn an_unreadable_heartbeat_is_not_called_a_worker_that_never_ran() {
    let now = SystemTime::now();
    for lock in ["free", "unknown"] {
        let line = worker_line(
            &WorkerStatus {
                lock,
                heartbeat: None,
                heartbeat_age_secs: None,
                heartbeat_unreadable: true,
            },
            now,
        );
        assert!(line.contains("heartbeat is unreadable"), "{line}");
        assert!(!line.contains("none has run"), "{line}");
    }
}

#[test]
fn status_treated_a_heartbeat_from_the_future_as_fresh() {
    let now = SystemTime::now();
    let an_hour = Duration::from_secs(3600);
    let line = worker_line(&status_with_beat_at(now + an_hour, now), now);
    assert!(line.contains("not beating"), "{line}");

    let line = worker_line(&status_with_beat_at(now - Duration::from_secs(3), now), now);
    assert!(line.contains("running by its heartbeat"), "{line}");
    let line = worker_line(&status_with_beat_at(now + Duration::from_secs(3), now), now);
    assert!(
        line.contains("running by its heartbeat"),
        "a clock a little behind: {line}"
    );
    let line = worker_line(&status_with_beat_at(now - an_hour, now), now);
    assert!(line.contains("not beating"), "{line}");
}
