//! The spool folder goes missing (moved away, a mount not there) or read-only (remounted by an
//! administrator or by the kernel after a disk error, or modes the frontend's user may not write):
//! every update is `911`, `/health` is 503 saying why, the worker waits without losing a job, and
//! once the spool is back the client's retry is `good` and lands.

use std::time::Duration;

use crate::day::{
    log, start_both, start_worker, update_good, wait_for_home, zone_file_site, Running,
};
use crate::util::small_disk::SmallDisk;
use crate::util::{eventually, Frontend, Site, HOST};

/// An update is `911` and `/health` 503 with the spool's state in its JSON, and nothing is spooled.
fn refused_while_the_spool_is_unusable(site: &Site, frontend: &Frontend) {
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.8"));
    assert_eq!(reply.body, "911\n", "{}", site.frontend_log());
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 503, "{}", health.body);
    assert!(
        health.body.contains(r#""spool_writable":false"#),
        "{}",
        health.body
    );
}

/// Healthy again, the retry `good` (never remembered while refused) and applied by the worker that
/// waited through it all.
fn the_retry_lands_once_the_spool_is_back(site: &Site, frontend: &Frontend, worker: &mut Running) {
    assert!(
        eventually(Duration::from_secs(10), || frontend
            .get("/health", None)
            .status
            == 200),
        "{}",
        frontend.get("/health", None).body
    );
    update_good(frontend, HOST, "203.0.113.8");
    wait_for_home(site, "203.0.113.8");
    assert!(
        worker.is_running(),
        "the worker rode it out: {}",
        log(site, "worker.log")
    );
}

fn started_and_applied(site: &Site) -> (Running, Frontend) {
    let (worker, frontend) = start_both(site);
    update_good(&frontend, HOST, "203.0.113.7");
    wait_for_home(site, "203.0.113.7");
    (worker, frontend)
}

#[test]
fn a_missing_spool_is_911_and_health_503_and_the_worker_waits_until_it_is_back() {
    let site = zone_file_site("");
    let (mut worker, frontend) = started_and_applied(&site);
    let away = site.path().join("spool-moved-away");
    std::fs::rename(site.spool(""), &away).unwrap();
    refused_while_the_spool_is_unusable(&site, &frontend);
    // Long enough for the worker's rescans (every second) to meet the missing folder.
    std::thread::sleep(Duration::from_secs(2));
    assert!(worker.is_running(), "{}", log(&site, "worker.log"));
    std::fs::rename(&away, site.spool("")).unwrap();
    the_retry_lands_once_the_spool_is_back(&site, &frontend, &mut worker);
    let worker_log = log(&site, "worker.log");
    assert_eq!(
        worker_log.matches("cannot list new/").count(),
        1,
        "said once, not at every rescan: {worker_log}"
    );
    assert!(
        worker_log.contains("new/ can be listed again"),
        "{worker_log}"
    );
}

#[test]
fn a_spool_remounted_read_only_is_911_and_health_503_until_it_is_writable_again() {
    let site = zone_file_site("");
    let Some(spool) = SmallDisk::over_spool(site.spool("")) else {
        return;
    };
    let (mut worker, frontend) = started_and_applied(&site);
    spool.set_writable(false);
    refused_while_the_spool_is_unusable(&site, &frontend);
    spool.set_writable(true);
    the_retry_lands_once_the_spool_is_back(&site, &frontend, &mut worker);
}

#[test]
fn a_spool_the_frontends_user_may_not_write_is_911_and_health_503_until_its_modes_are_fixed() {
    let site = zone_file_site("");
    if !crate::util::running_as_root("running the frontend as nobody") {
        return;
    }
    site.apply_packaged_modes();
    let mut worker = start_worker(&site, None);
    let frontend = site.start_frontend_as_nobody();
    update_good(&frontend, HOST, "203.0.113.7");
    wait_for_home(&site, "203.0.113.7");
    let mode = |mode| {
        std::fs::set_permissions(
            site.spool("new"),
            std::os::unix::fs::PermissionsExt::from_mode(mode),
        )
        .unwrap()
    };
    mode(0o750);
    refused_while_the_spool_is_unusable(&site, &frontend);
    mode(0o770);
    the_retry_lands_once_the_spool_is_back(&site, &frontend, &mut worker);
}
