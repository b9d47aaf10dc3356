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

/// A delete and an update of one host dated the same instant (two frontends, a clock that stood
/// still): whichever the file names put last wins, in either order, with one write per family,
/// and `applied.json` says what DNS holds.
#[tokio::test(start_paused = true)]
async fn a_delete_and_an_update_dated_alike_leave_applied_json_as_dns_in_either_order() {
    for delete_last in [true, false] {
        let bench = Bench::new();
        bench.backend.hold(HOST, ip("203.0.113.1"));
        let update = bench.job(HOST, Some("203.0.113.7"), Some("2001:db8::7"), 1);
        let mut delete = bench.delete_job(HOST, &BOTH, 1);
        delete.received_at = update.received_at;
        let (first, second) = if delete_last {
            (&update, &delete)
        } else {
            (&delete, &update)
        };
        for (name, job) in [("a.json", first), ("b.json", second)] {
            let bytes = job.to_json().expect("writes");
            std::fs::write(bench.spool().new().join(name), bytes).expect("spool");
        }

        let report = bench.run_once().await;

        // The delete of an AAAA never held writes nothing; no family is written twice.
        let calls = bench.backend.calls();
        let written: Vec<_> = calls.iter().map(|call| call.change.record_type).collect();
        assert_eq!(
            written.len(),
            if delete_last { 1 } else { 2 },
            "{written:?}"
        );
        assert_eq!(report.superseded, 2);
        assert!(files_in(&bench.spool().cur()).is_empty());
        assert!(files_in(&bench.spool().failed()).is_empty());
        let state = bench.state();
        for family in BOTH {
            let dns = bench.backend.record(HOST, family);
            let entry = family_state(&state, family);
            assert_eq!(dns.is_none(), delete_last, "{family}: {dns:?}");
            assert_eq!(entry.is_deleted(), dns.is_none(), "{family}: {entry:?}");
            assert_eq!(entry.address, dns, "{family}");
            assert_eq!(entry.handled_received_at, update.received_at);
        }
    }
}

/// The dead letter of a refused delete, moved back into `new/` by hand once the backend takes it,
/// deletes what failed and only that.
#[tokio::test(start_paused = true)]
async fn a_dead_lettered_delete_moved_back_into_new_deletes_what_failed() {
    let bench = Bench::new();
    bench.backend.hold(HOST, ip("203.0.113.1"));
    bench.backend.hold(HOST, ip("2001:db8::1"));
    bench
        .backend
        .script(HOST, Family::V6, [Step::Permanent("AAAA is locked")]);
    let name = bench.spool_job(&bench.delete_job(HOST, &BOTH, 5));
    bench.run_once().await;
    assert_eq!(
        bench.backend.record(HOST, Family::V6),
        Some(ip("2001:db8::1"))
    );
    // Meanwhile the router came back with a new IPv4 address: the moved-back delete of IPv6 must
    // not take it away.
    bench.spool_job(&bench.job(HOST, Some("203.0.113.9"), None, 1));
    bench.run_once().await;

    let failed = bench.spool().failed();
    std::fs::rename(failed.join(&name), bench.spool().new().join(&name)).expect("move back");
    let report = bench.run_once().await;

    assert_eq!((report.applied, report.dead_lettered), (1, 0), "{report:?}");
    assert_eq!(bench.backend.record(HOST, Family::V6), None);
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.9"))
    );
    assert!(files_in(&bench.spool().cur()).is_empty());
    let state = bench.state();
    assert!(family_state(&state, Family::V6).is_deleted());
    assert_eq!(
        family_state(&state, Family::V4).address,
        Some(ip("203.0.113.9"))
    );
}

/// `create_missing = false` refuses to make names, not to remove records: a delete of a host the
/// backend never held is done (nothing is written) and recorded, never a dead letter.
#[tokio::test(start_paused = true)]
async fn a_delete_in_a_zone_that_creates_no_names_is_done_for_a_host_the_backend_lacks() {
    let bench = Bench::edited(3600, |text| {
        text.replace(
            "backend_zone = \"example.com\"\n",
            "backend_zone = \"example.com\"\ncreate_missing = false\n",
        )
    });
    bench.spool_job(&bench.delete_job(HOST, &BOTH, 1));

    let report = bench.run_once().await;

    assert!(bench.backend.calls().is_empty(), "nothing to write");
    assert_eq!(
        (report.dead_lettered, report.unchanged),
        (0, 2),
        "{report:?}"
    );
    assert!(files_in(&bench.spool().failed()).is_empty());
    let state = bench.state();
    assert!(BOTH
        .iter()
        .all(|family| family_state(&state, *family).is_deleted()));
}

/// A version-2 file may set one family and delete the other: each is applied on its own.
#[tokio::test(start_paused = true)]
async fn a_version_2_job_setting_one_family_and_deleting_the_other_applies_both() {
    let bench = Bench::new();
    bench.backend.hold(HOST, ip("203.0.113.1"));
    bench.backend.hold(HOST, ip("2001:db8::1"));
    spool_edited(&bench, "mixed.json", |value| {
        value["delete"] = serde_json::json!(["ipv4"]);
        value["ipv6"] = "2001:db8::9".into();
    });

    let report = bench.run_once().await;

    assert_eq!(report.applied, 2, "{report:?}");
    assert_eq!(bench.backend.record(HOST, Family::V4), None);
    assert_eq!(
        bench.backend.record(HOST, Family::V6),
        Some(ip("2001:db8::9"))
    );
}

/// Hostile version-2 files: a delete of a family that does not exist, a list of thousands, a
/// version 2 with only version-1 fields; each is a dead letter naming what is wrong, nothing
/// reaches DNS, nothing is recorded.
#[tokio::test(start_paused = true)]
async fn hostile_version_2_files_are_dead_letters_and_touch_nothing() {
    let bench = Bench::new();
    let huge: Vec<&str> = std::iter::repeat_n(["ipv4", "ipv6"], 4000)
        .flatten()
        .collect();
    let cases = [
        spool_edited(&bench, "ipv5.json", |value| {
            value["delete"] = serde_json::json!(["ipv5"])
        }),
        spool_edited(&bench, "huge.json", |value| {
            value["delete"] = serde_json::json!(huge)
        }),
        spool_edited(&bench, "v1only.json", |value| {
            value.as_object_mut().expect("object").remove("delete");
            value["ipv4"] = "203.0.113.7".into();
        }),
    ];

    let report = bench.run_once().await;

    assert!(bench.backend.calls().is_empty());
    assert_eq!(report.dead_lettered, 3);
    let failed = bench.spool().failed();
    let reason = |name: &str| {
        std::fs::read_to_string(failed.join(format!("{name}.reason"))).expect("reason")
    };
    assert!(reason(&cases[0]).contains("ipv5"), "{}", reason(&cases[0]));
    assert!(reason(&cases[1]).contains("twice"), "{}", reason(&cases[1]));
    assert!(
        reason(&cases[2]).contains("deletes nothing"),
        "{}",
        reason(&cases[2])
    );
    assert!(bench.state().host(HOST).is_none(), "not recorded");
}
