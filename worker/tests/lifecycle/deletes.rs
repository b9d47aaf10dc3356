//! A delete (`offline=yes`, `/nic/delete`) settles per family like an address: the newest job per
//! host and family wins whether it sets or deletes, DNS never rolls back, `applied.json` records
//! the delete, and a delete that failed is dead-lettered as a delete.

use dyndns_queue::{Family, Job};

use crate::fake::{SoleAddress, Step};
use crate::util::{family_state, files_in, ip, Bench, HOST};

const BOTH: [Family; 2] = [Family::V4, Family::V6];

/// What the worker asked the backend, in order: an address, or `None` for a delete.
fn asked(bench: &Bench) -> Vec<Option<std::net::IpAddr>> {
    bench
        .backend
        .calls()
        .iter()
        .map(|call| (!call.change.is_delete()).then(|| call.change.sole_address()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_delete_removes_both_families_and_is_recorded_without_an_address() {
    let bench = Bench::new();
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 10));
    bench.run_once().await;
    let delete = bench.delete_job(HOST, &BOTH, 1);
    bench.spool_job(&delete);

    let report = bench.run_once().await;

    assert_eq!(report.applied, 2);
    assert_eq!(asked(&bench)[2..], [None, None]);
    assert_eq!(bench.backend.record(HOST, Family::V4), None);
    assert_eq!(bench.backend.record(HOST, Family::V6), None);
    assert!(files_in(&bench.spool().cur()).is_empty());
    assert!(files_in(&bench.spool().failed()).is_empty());
    let state = bench.state();
    for family in BOTH {
        let entry = family_state(&state, family);
        assert!(entry.is_deleted(), "{family}: {entry:?}");
        assert_eq!(entry.handled_received_at, delete.received_at);
    }
}

#[tokio::test(start_paused = true)]
async fn a_newer_delete_supersedes_an_older_update_in_the_same_pass() {
    let bench = Bench::new();
    bench.backend.hold(HOST, ip("203.0.113.1"));
    bench.backend.hold(HOST, ip("2001:db8::1"));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 5));
    bench.spool_job(&bench.delete_job(HOST, &BOTH, 1));

    let report = bench.run_once().await;

    assert_eq!(asked(&bench), [None, None], "only the deletes reach DNS");
    assert_eq!(
        (report.applied, report.superseded, report.dead_lettered),
        (2, 2, 0)
    );
    assert_eq!(bench.backend.record(HOST, Family::V4), None);
    assert!(files_in(&bench.spool().cur()).is_empty());
    let state = bench.state();
    assert!(BOTH
        .iter()
        .all(|family| family_state(&state, *family).is_deleted()));
}

#[tokio::test(start_paused = true)]
async fn a_newer_update_supersedes_an_older_delete_in_the_same_pass() {
    let bench = Bench::new();
    bench.backend.hold(HOST, ip("203.0.113.1"));
    bench.backend.hold(HOST, ip("2001:db8::1"));
    bench.spool_job(&bench.delete_job(HOST, &BOTH, 5));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let report = bench.run_once().await;

    // IPv4: the newer update wins. IPv6: the update did not name it, so the delete stands.
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(bench.backend.record(HOST, Family::V6), None);
    assert_eq!(report.superseded, 1);
    let state = bench.state();
    assert_eq!(
        family_state(&state, Family::V4).address,
        Some(ip("203.0.113.7"))
    );
    assert!(family_state(&state, Family::V6).is_deleted());
}

#[tokio::test(start_paused = true)]
async fn an_update_older_than_an_applied_delete_never_rolls_dns_back() {
    let bench = Bench::new();
    let late = bench.job(HOST, Some("203.0.113.7"), None, 30);
    bench.spool_job(&bench.delete_job(HOST, &[Family::V4], 10));
    bench.run_once().await;
    let calls = bench.backend.calls().len();

    bench.spool_job(&late);
    let report = bench.run_once().await;

    assert_eq!(bench.backend.calls().len(), calls, "nothing reaches DNS");
    assert_eq!(report.superseded, 1);
    assert_eq!(bench.backend.record(HOST, Family::V4), None);
    assert!(family_state(&bench.state(), Family::V4).is_deleted());
}

#[tokio::test(start_paused = true)]
async fn an_update_after_a_delete_lands_again() {
    let bench = Bench::new();
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 20));
    bench.spool_job(&bench.delete_job(HOST, &BOTH, 10));
    bench.run_once().await;
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let report = bench.run_once().await;

    assert_eq!(report.applied, 1);
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    let v4 = family_state(&bench.state(), Family::V4);
    assert!(!v4.is_deleted());
    assert_eq!(v4.address, Some(ip("203.0.113.7")));
}

#[tokio::test(start_paused = true)]
async fn a_failed_delete_is_dead_lettered_as_a_delete_of_that_family_only() {
    let bench = Bench::new();
    bench.backend.hold(HOST, ip("203.0.113.1"));
    bench.backend.hold(HOST, ip("2001:db8::1"));
    bench
        .backend
        .script(HOST, Family::V6, [Step::Permanent("AAAA is locked")]);
    let job = bench.delete_job(HOST, &BOTH, 1);
    let name = bench.spool_job(&job);

    let report = bench.run_once().await;

    assert_eq!((report.applied, report.dead_lettered), (1, 1));
    assert_eq!(bench.backend.record(HOST, Family::V4), None);
    assert_eq!(
        bench.backend.record(HOST, Family::V6),
        Some(ip("2001:db8::1"))
    );
    let failed = bench.spool().failed();
    let letter = Job::parse(&std::fs::read(failed.join(&name)).expect("read")).expect("a job");
    assert_eq!(letter.delete, [Family::V6]);
    assert_eq!((letter.ipv4, letter.ipv6), (None, None));
    let reason = std::fs::read_to_string(failed.join(format!("{name}.reason"))).expect("reason");
    assert!(
        reason.contains("refused to delete the AAAA records of home.dyn.example.com"),
        "{reason}"
    );
    assert!(reason.contains("AAAA is locked"), "{reason}");
    let state = bench.state();
    assert!(family_state(&state, Family::V4).is_deleted());
    let v6 = family_state(&state, Family::V6);
    assert!(!v6.is_deleted(), "the AAAA record is still there");
    assert_eq!(v6.handled_received_at, job.received_at);
}

/// Drops a delete of both families into `new/` as `name`, its JSON changed by `edit` first.
fn spool_edited(bench: &Bench, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let job = bench.delete_job(HOST, &BOTH, 1);
    let mut value: serde_json::Value =
        serde_json::from_slice(&job.to_json().expect("writes")).expect("JSON");
    edit(&mut value);
    std::fs::write(
        bench.spool().new().join(name),
        serde_json::to_vec(&value).expect("JSON"),
    )
    .expect("spool");
    name.to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_version_2_job_that_sets_and_deletes_one_family_is_a_dead_letter() {
    let bench = Bench::new();
    let name = spool_edited(&bench, "forged.json", |value| {
        value["ipv4"] = "203.0.113.7".into()
    });

    let report = bench.run_once().await;

    assert!(bench.backend.calls().is_empty());
    assert_eq!(report.dead_lettered, 1);
    let reason = std::fs::read_to_string(bench.spool().failed().join(format!("{name}.reason")))
        .expect("reason");
    assert!(reason.contains("both sets and deletes ipv4"), "{reason}");
    assert!(bench.state().host(HOST).is_none(), "not recorded");
}

#[tokio::test(start_paused = true)]
async fn a_job_of_an_unknown_version_stays_a_dead_letter() {
    let bench = Bench::new();
    let name = spool_edited(&bench, "future.json", |value| value["version"] = 3.into());

    let report = bench.run_once().await;

    assert!(bench.backend.calls().is_empty());
    assert_eq!(report.dead_lettered, 1);
    let reason = std::fs::read_to_string(bench.spool().failed().join(format!("{name}.reason")))
        .expect("reason");
    assert!(reason.contains("version 3"), "{reason}");
}
