//! Each zone names its backend: zones on different backends are applied side by side, and a zone
//! with `create_missing = false` updates only names its backend already holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dyndns_config::BackendKind;
use dyndns_queue::Family;
use dyndns_worker::backend::{Backend, Backends};
use dyndns_worker::{run_with_clock, Mode};
use tokio::time::Instant;

use crate::fake::{FakeBackend, SoleAddress};
use crate::util::{files_in, ip, Bench, ELSEWHERE, HOST, OTHER};

/// The `example.net` zone on the `none` backend; `example.com` stays on `zonefile`.
fn net_on_none(text: String) -> String {
    text.replace(
        "backend_zone = \"example.net\"\n",
        "backend_zone = \"example.net\"\nbackend = \"none\"\n",
    )
}

#[tokio::test(start_paused = true)]
async fn zones_on_different_backends_are_applied_side_by_side() {
    let bench = Bench::edited(3600, net_on_none);
    let net = Arc::new(FakeBackend::default());
    bench.backend.delay_writes(Duration::from_secs(10));
    net.delay_writes(Duration::from_secs(10));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.8"), None, 1));

    let backends = Backends::new(BTreeMap::from([
        (
            BackendKind::ZoneFile,
            bench.backend.clone() as Arc<dyn Backend>,
        ),
        (BackendKind::None, net.clone() as Arc<dyn Backend>),
    ]));
    let started = Instant::now();
    let report = run_with_clock(
        bench.config.clone(),
        backends,
        Mode::RunOnce,
        std::future::pending(),
        bench.clock.clone(),
    )
    .await
    .expect("the worker runs");

    assert_eq!(report.applied, 2);
    // Each zone went to its own backend, and only there.
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(bench.backend.record(ELSEWHERE, Family::V4), None);
    assert_eq!(net.record(ELSEWHERE, Family::V4), Some(ip("203.0.113.8")));
    assert_eq!(net.record(HOST, Family::V4), None);
    // Two writes of 10 s each took 10 s, not 20: side by side.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(files_in(&bench.spool().cur()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn create_missing_false_dead_letters_a_new_name_and_updates_a_held_one() {
    let bench = Bench::edited(3600, |text| {
        text.replace(
            "backend_zone = \"example.com\"\n",
            "backend_zone = \"example.com\"\ncreate_missing = false\n",
        )
    });
    let name = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    let report = bench.run_once().await;
    assert_eq!(report.dead_lettered, 1);
    assert!(bench.backend.calls().is_empty(), "nothing was written");
    let failed = bench.spool().failed();
    let reason = std::fs::read_to_string(failed.join(format!("{name}.reason"))).expect("reason");
    assert!(reason.contains("create_missing = false"), "{reason}");

    // Once the name exists at the backend (with its IPv6 address, say), its IPv4 address is kept.
    bench.backend.hold(HOST, ip("2001:db8::1"));
    bench.spool_job(&bench.job(HOST, Some("203.0.113.9"), None, 0));
    let report = bench.run_once().await;
    assert_eq!(report.applied, 1, "{report:?}");
    let written: Vec<_> = bench
        .backend
        .calls()
        .iter()
        .map(|call| call.change.sole_address())
        .collect();
    assert_eq!(written, [ip("203.0.113.9")]);
}

#[tokio::test(start_paused = true)]
async fn two_zones_sharing_a_backend_zone_keep_their_own_backends() {
    // `lab.dyn.example.com` is its own [[zone]] on `none`, in the same backend zone `example.com`
    // as `dyn.example.com` on `zonefile`: one batch per backend, never the first zone's for both.
    let bench = Bench::edited(3600, |text| {
        text.replace(
            "[[zone]]\nname = \"dyn.example.net\"",
            "[[zone]]\nname = \"lab.dyn.example.com\"\nbackend_zone = \"example.com\"\nbackend = \"none\"\n\n[[zone]]\nname = \"dyn.example.net\"",
        )
    });
    let lab = Arc::new(FakeBackend::default());
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    bench.spool_job(&bench.job(OTHER, Some("203.0.113.8"), None, 1));
    let backends = Backends::new(BTreeMap::from([
        (
            BackendKind::ZoneFile,
            bench.backend.clone() as Arc<dyn Backend>,
        ),
        (BackendKind::None, lab.clone() as Arc<dyn Backend>),
    ]));
    let report = run_with_clock(
        bench.config.clone(),
        backends,
        Mode::RunOnce,
        std::future::pending(),
        bench.clock.clone(),
    )
    .await
    .expect("the worker runs");
    assert_eq!(report.applied, 2);
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(bench.backend.record(OTHER, Family::V4), None);
    assert_eq!(lab.record(OTHER, Family::V4), Some(ip("203.0.113.8")));
}
