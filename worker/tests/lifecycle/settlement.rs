//! Each address family of a job settles on its own; a file leaves `cur/` only when all of its
//! families have, and what failed is dead-lettered without what succeeded.

use dyndns_queue::{Family, Job};
use dyndns_worker::Mode;

use crate::fake::SoleAddress;
use crate::fake::Step;
use crate::util::{family_state, files_in, ip, Bench, HOST};

#[tokio::test(start_paused = true)]
async fn permanent_v4_failure_still_applies_v6() {
    let bench = Bench::new();
    bench.backend.script(
        HOST,
        Family::V4,
        [Step::Permanent("A value does not parse")],
    );
    let job = bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 1);
    let name = bench.spool_job(&job);

    let report = bench.run_once().await;

    assert_eq!(
        bench.backend.record(HOST, Family::V6),
        Some(ip("2001:db8::7"))
    );
    assert_eq!(bench.backend.record(HOST, Family::V4), None);
    assert_eq!((report.applied, report.dead_lettered), (1, 1));
    assert!(
        files_in(&bench.spool().cur()).is_empty(),
        "every family settled"
    );
    // The dead letter holds only the family that failed, beside the backend's message.
    let failed = bench.spool().failed();
    assert_eq!(files_in(&failed), [name.clone(), format!("{name}.reason")]);
    let letter = Job::parse(&std::fs::read(failed.join(&name)).expect("read")).expect("a job");
    assert_eq!((letter.ipv4, letter.ipv6), (job.ipv4, None));
    assert_eq!(letter.received_at, job.received_at);
    let reason = std::fs::read_to_string(failed.join(format!("{name}.reason"))).expect("reason");
    assert!(reason.contains("ipv4: backend fake refused"), "{reason}");
    assert!(reason.contains("A value does not parse"), "{reason}");
    assert!(!reason.contains("ipv6"), "{reason}");
    // Both families are recorded as handled, so the frontend learns the v4 address did not land
    // (its next update of it is `good` again), and v6 is recorded as applied.
    let state = bench.state();
    let v4 = family_state(&state, Family::V4);
    assert_eq!(
        (v4.address, v4.handled_received_at),
        (None, job.received_at)
    );
    let v6 = family_state(&state, Family::V6);
    assert_eq!(v6.address, Some(ip("2001:db8::7")));
}

#[tokio::test(start_paused = true)]
async fn a_dead_letter_moved_back_into_new_retries_exactly_what_failed() {
    let bench = Bench::new();
    bench
        .backend
        .script(HOST, Family::V4, [Step::Permanent("refused")]);
    let job = bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 1);
    let name = bench.spool_job(&job);
    bench.run_once().await;
    let calls = bench.backend.calls().len();

    let spool = bench.spool();
    std::fs::rename(spool.failed().join(&name), spool.new().join(&name)).expect("move back");
    let report = bench.run_once().await;

    let retried: Vec<_> = bench.backend.calls()[calls..]
        .iter()
        .map(|call| call.change.sole_address())
        .collect();
    assert_eq!(retried, [ip("203.0.113.7")], "only the failed family");
    assert_eq!(report.applied, 1);
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_file_stays_in_cur_until_its_last_family_settles() {
    let bench = Bench::new();
    bench
        .backend
        .script(HOST, Family::V4, [Step::Permanent("refused")]);
    bench.backend.script(
        HOST,
        Family::V6,
        [Step::Transient("busy"), Step::Transient("busy")],
    );
    let name = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 1));
    let spool = bench.spool();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let (seen, spool) = (seen.clone(), spool.clone());
        bench.backend.on_call(move |change| {
            seen.lock().expect("seen").push((
                change.sole_address(),
                files_in(&spool.cur()),
                files_in(&spool.failed()),
            ));
        });
    }

    let report = bench
        .run(Mode::Timeout(std::time::Duration::from_secs(60)))
        .await
        .expect("run");

    let seen = seen.lock().expect("seen").clone();
    // v4 fails for good first, then v6 fails twice for now: meanwhile the file waits in cur/
    // and nothing is in failed/.
    let v6_calls: Vec<_> = seen
        .iter()
        .filter(|(address, ..)| address.is_ipv6())
        .collect();
    assert_eq!(v6_calls.len(), 3);
    for (_, cur, failed) in &v6_calls {
        assert_eq!(cur, std::slice::from_ref(&name));
        assert!(failed.is_empty(), "{failed:?}");
    }
    assert!(files_in(&spool.cur()).is_empty());
    assert_eq!(files_in(&spool.failed()).len(), 2);
    assert_eq!(
        (report.applied, report.dead_lettered, report.left_in_cur),
        (1, 1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn older_jobs_are_superseded_per_family_by_the_newest() {
    let bench = Bench::new();
    bench.spool_job(&bench.job(HOST, Some("203.0.113.1"), Some("2001:db8::1"), 30));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.2"), None, 20));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.3"), None, 10));

    let report = bench.run_once().await;

    let mut applied: Vec<_> = bench
        .backend
        .calls()
        .iter()
        .map(|call| call.change.sole_address())
        .collect();
    applied.sort();
    assert_eq!(
        applied,
        [ip("203.0.113.3"), ip("2001:db8::1")],
        "one call per distinct change"
    );
    assert_eq!(report.superseded, 2);
    assert!(files_in(&bench.spool().cur()).is_empty());
    assert!(files_in(&bench.spool().failed()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_stale_job_never_rolls_dns_back() {
    let bench = Bench::new();
    bench.spool_job(&bench.job(HOST, Some("203.0.113.9"), None, 10));
    bench.run_once().await;
    // A job from before that change shows up late (a dead letter moved back, say).
    bench.spool_job(&bench.job(HOST, Some("203.0.113.1"), None, 60));

    let report = bench.run_once().await;

    assert_eq!(
        bench.backend.calls().len(),
        1,
        "no backend call for the stale job"
    );
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.9"))
    );
    assert_eq!(report.superseded, 1);
    assert!(files_in(&bench.spool().cur()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn dead_letters_past_failed_keep_days_are_removed_at_start() {
    use dyndns_worker::Clock;
    let bench = Bench::new();
    let failed = bench.spool().failed();
    let day = std::time::Duration::from_secs(86_400);
    let now = bench.clock.now();
    for (name, age) in [("old.json", 31 * day), ("young.json", 29 * day)] {
        std::fs::write(failed.join(name), b"{}").expect("dead letter");
        let reason = failed.join(format!("{name}.reason"));
        std::fs::write(&reason, b"why\n").expect("reason");
        std::fs::File::options()
            .write(true)
            .open(&reason)
            .expect("open")
            .set_modified(now - age)
            .expect("age the reason");
    }

    bench.run_once().await;

    assert_eq!(files_in(&failed), ["young.json", "young.json.reason"]);
}

/// After `dead_letter_part` wrote `failed/` but before the job left `cur/` (a kill): the next run
/// settles the job again. Nothing is lost; at worst the failed family has two dead letters.
#[tokio::test(start_paused = true)]
async fn a_kill_between_the_partial_dead_letter_and_leaving_cur_loses_nothing() {
    let bench = Bench::new();
    bench.backend.script(
        HOST,
        Family::V4,
        [Step::Permanent("refused"), Step::Permanent("refused")],
    );
    let job = bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 1);
    let name = bench.spool_job(&job);
    bench.run_once().await;
    let spool = bench.spool();
    // The state the kill leaves: applied.json saved, the partial dead letter written, the job
    // still in cur/.
    std::fs::write(
        spool.cur().join(&name),
        job.to_json().expect("a job dated now is writable"),
    )
    .expect("back into cur/");

    let report = bench.run_once().await;

    assert!(files_in(&spool.cur()).is_empty());
    assert_eq!((report.dead_lettered, report.left_in_cur), (1, 0));
    let failed = files_in(&spool.failed());
    assert_eq!(failed.len(), 4, "{failed:?}");
    for letter in failed.iter().filter(|name| !name.ends_with(".reason")) {
        let letter =
            Job::parse(&std::fs::read(spool.failed().join(letter)).expect("read")).expect("a job");
        assert_eq!((letter.ipv4, letter.ipv6), (job.ipv4, None));
    }
    assert_eq!(
        bench.backend.record(HOST, Family::V6),
        Some(ip("2001:db8::7"))
    );
    assert_eq!(
        family_state(&bench.state(), Family::V6).address,
        Some(ip("2001:db8::7"))
    );
}
