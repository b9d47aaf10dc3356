//! A broken backend harms only its own zone: one that panics in `read` or `write` leaves its changes
//! waiting in `cur/` (retried) while the zones on other backends are applied and settled, and the
//! worker keeps running.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dyndns_queue::Family;
use dyndns_worker::backend::{Backend, BackendError, Change, ReadResults, WriteResults};
use dyndns_worker::Mode;

use crate::fake::FakeBackend;
use crate::util::{files_in, ip, Bench, ELSEWHERE, HOST};

/// Where the broken backend panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Panics {
    InRead,
    InWrite,
}

/// A backend with a bug: it panics on every read or every write.
struct Panicking {
    at: Panics,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl Backend for Panicking {
    fn name(&self) -> &'static str {
        "panicking"
    }

    async fn read(&self, _zone: &str, changes: &[Change]) -> ReadResults {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert!(self.at != Panics::InRead, "a bug in read");
        changes.iter().map(|_| Ok(Default::default())).collect()
    }

    async fn write(&self, _zone: &str, _changes: &[Change]) -> WriteResults {
        self.calls.fetch_add(1, Ordering::SeqCst);
        panic!("a bug in write");
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        Ok(zone.to_owned())
    }
}

/// `example.com` on a panicking backend, `example.net` on a working one.
async fn a_backend_that_panics_fails_only_its_own_zone(at: Panics) {
    // example.net on `none`, so the two zones have backends of their own.
    let bench = Bench::edited(3600, |text| {
        text.replace(
            "backend_zone = \"example.net\"\n",
            "backend_zone = \"example.net\"\nbackend = \"none\"\n",
        )
    });
    let broken = Arc::new(Panicking {
        at,
        calls: AtomicUsize::new(0),
    });
    let working = Arc::new(FakeBackend::default());
    let stuck = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    bench.spool_job(&bench.job(ELSEWHERE, Some("203.0.113.8"), None, 1));

    let report = bench
        .run_split(
            broken.clone() as Arc<dyn Backend>,
            working.clone() as Arc<dyn Backend>,
            Mode::RunOnce,
            std::future::pending(),
        )
        .await
        .expect("the worker survives a backend's panic");

    assert!(broken.calls.load(Ordering::SeqCst) > 0, "{at:?}");
    assert_eq!(
        working.record(ELSEWHERE, Family::V4),
        Some(ip("203.0.113.8"))
    );
    // The other zone is applied and recorded; the broken zone's change waits, retried, not lost
    // and not dead-lettered.
    assert_eq!(
        (report.applied, report.dead_lettered, report.deferred),
        (1, 0, 1),
        "{at:?}: {report:?}"
    );
    assert_eq!(files_in(&bench.spool().cur()), [stuck], "{at:?}");
    assert!(bench.state().family(ELSEWHERE, Family::V4).is_some());
    assert!(bench.state().family(HOST, Family::V4).is_none());
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_panics_in_read_fails_only_its_own_zone() {
    a_backend_that_panics_fails_only_its_own_zone(Panics::InRead).await;
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_panics_in_write_fails_only_its_own_zone() {
    a_backend_that_panics_fails_only_its_own_zone(Panics::InWrite).await;
}
