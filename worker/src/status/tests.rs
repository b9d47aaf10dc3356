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
