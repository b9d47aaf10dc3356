//! The disk under the worker's `state_dir` fills up (applied.json, history.jsonl and the heartbeat
//! live there): updates still reach DNS, `/health` turns 503 once the heartbeat cannot be written,
//! the changes wait unrecorded (in `cur/` and in memory, never dropped), and once there is room they
//! are recorded, told by the history and shown by `dyndns-worker status` — also when the worker was
//! killed in the meantime and starts again.

use std::time::Duration;

use crate::day::{
    history, log, start_both, start_worker, update_good, wait_for_home, zone_file_site, PATIENCE,
};
use crate::util::small_disk::SmallDisk;
use crate::util::{eventually, HOST};

fn status_ipv4(site: &crate::util::Site) -> serde_json::Value {
    let output = site
        .worker_command()
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    status["hosts"]
        .as_array()
        .and_then(|hosts| hosts.iter().find(|host| host["host"] == HOST))
        .map(|host| host["ipv4"]["address"].clone())
        .unwrap_or_default()
}

#[test]
fn a_full_state_disk_still_updates_dns_and_records_everything_once_there_is_room() {
    let site = zone_file_site("heartbeat_max_age_secs = 3");
    let Some(state) = SmallDisk::over(site.path().join("state")) else {
        return;
    };
    let (worker, frontend) = start_both(&site);
    let update = |address: &str| update_good(&frontend, HOST, address);
    update("203.0.113.1");
    wait_for_home(&site, "203.0.113.1");
    assert!(eventually(PATIENCE, || frontend
        .get("/health", None)
        .status
        == 200));

    state.fill();
    update("203.0.113.2");
    wait_for_home(&site, "203.0.113.2");
    let unhealthy = eventually(PATIENCE, || frontend.get("/health", None).status == 503);
    assert!(unhealthy, "a worker that cannot beat is reported");
    // Not recorded yet, so not lost either: the job waits in cur/ for its record.
    assert_eq!(status_ipv4(&site), "203.0.113.1");
    assert_eq!(
        site.files_in("cur").len(),
        1,
        "{}",
        log(&site, "worker.log")
    );
    update("203.0.113.3");
    wait_for_home(&site, "203.0.113.3");
    // Killed while its record waits: a restart takes the jobs in cur/ up again.
    worker.kill();
    state.empty();
    let _worker = start_worker(&site, None);

    let recorded = eventually(PATIENCE, || status_ipv4(&site) == "203.0.113.3");
    assert!(recorded, "{}", log(&site, "worker.log"));
    assert!(eventually(Duration::from_secs(10), || site
        .files_in("cur")
        .is_empty()));
    assert!(eventually(PATIENCE, || frontend
        .get("/health", None)
        .status
        == 200));
    // Each change once, as the notifier reads them: a change applied again after the kill (its job
    // was still in cur/) writes its event again, and readers know it by its job.
    let mut told: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for event in history(&site) {
        if seen.insert(event.dedupe_key()) {
            told.push(format!("{:?} {}", event.event, event.new.unwrap()));
        }
    }
    assert_eq!(
        told,
        [
            "Applied 203.0.113.1",
            "Applied 203.0.113.2",
            "Applied 203.0.113.3"
        ]
    );
    assert_eq!(site.files_in("failed"), Vec::<String>::new());
}
