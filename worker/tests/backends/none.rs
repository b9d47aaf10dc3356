//! Why this exists: proves `backend = "none"` through the real worker: a change is recorded in
//! `applied.json` and reported applied, an identical second change is unchanged (the backend
//! remembers what it was told), and no `[backend.none]` table is needed.

use std::future::pending;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dyndns_config::Config;
use dyndns_queue::{AppliedState, Family, Job, SpoolDirs};
use dyndns_worker::backend::{from_config, Backends};
use dyndns_worker::{run, Mode};

const HOST: &str = "home.dyn.example.com";

/// A worker config in `dir` whose one zone (`dyn.example.com` in backend zone `example.com`) uses
/// `backend`, with `tables` appended; the spool and state folders are made.
pub fn config_with(dir: &Path, backend: &str, tables: &str) -> Config {
    let text = format!(
        r#"[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "{backend}"
state_dir = "state"

[[zone]]
name = "dyn.example.com"
backend_zone = "example.com"

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$pCo1hhnvnRFyDG0NwEtJag$c7C8W5Fix7yHkvomRxg75R8EQ1L9i2n5gx7SbwxKcAQ"
hosts = ["{HOST}"]

{tables}"#
    );
    let path = dir.join("dyndns.toml");
    std::fs::write(&path, text).expect("write config");
    let config = Config::load(&path).unwrap_or_else(|err| panic!("{err}"));
    SpoolDirs::at(&config.spool_dir)
        .create_all()
        .expect("create the spool");
    std::fs::create_dir_all(&config.worker.state_dir).expect("create the state folder");
    config
}

/// Drops a job for `HOST` with `address`, received `received_at`, into `new/`.
fn spool_job(config: &Config, address: Ipv4Addr, received_at: SystemTime) {
    let job = Job::new("router", HOST, Some(address), None, received_at, None);
    let nanos = received_at
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let name = format!("{nanos:020}.{}.json", job.id);
    let bytes = job.to_json().expect("the job serialises");
    std::fs::write(SpoolDirs::at(&config.spool_dir).new().join(name), bytes).expect("spool job");
}

fn pending_files(config: &Config) -> usize {
    let spool = SpoolDirs::at(&config.spool_dir);
    [spool.new(), spool.cur()]
        .iter()
        .map(|dir| std::fs::read_dir(dir).expect("list").count())
        .sum()
}

#[tokio::test]
async fn none_records_the_change_and_an_identical_one_is_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    // No [backend.none] table: it has no keys.
    let config = Arc::new(config_with(dir.path(), "none", ""));
    let backends: Backends = from_config(&config).expect("none needs no table");
    let backend = backends
        .for_zone(&config.zones[0])
        .expect("the zone's backend");
    assert_eq!(backend.name(), "none");
    let said = backend.check("example.com").await.expect("check");
    assert!(said.contains("publishes nothing"), "{said}");

    let address = Ipv4Addr::new(192, 0, 2, 44);
    let first = SystemTime::now() - Duration::from_secs(2);
    spool_job(&config, address, first);
    let report = run(config.clone(), backends.clone(), Mode::RunOnce, pending())
        .await
        .unwrap_or_else(|err| panic!("the worker failed: {err}"));
    assert_eq!((report.applied, report.unchanged), (1, 0), "{report:?}");
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let state = AppliedState::load(&AppliedState::path_in(&config.worker.state_dir))
        .expect("applied.json loads");
    assert_eq!(
        state.applied_address(HOST, Family::V4),
        Some(address.into())
    );
    assert_eq!(pending_files(&config), 0);

    let second = first + Duration::from_secs(1);
    spool_job(&config, address, second);
    let report = run(config.clone(), backends, Mode::RunOnce, pending())
        .await
        .unwrap_or_else(|err| panic!("the worker failed: {err}"));
    assert_eq!((report.applied, report.unchanged), (0, 1), "{report:?}");
    let state = AppliedState::load(&AppliedState::path_in(&config.worker.state_dir))
        .expect("applied.json loads");
    assert_eq!(
        state.handled_received_at(HOST, Family::V4),
        Some(second),
        "the second change is recorded as handled"
    );
    assert_eq!(pending_files(&config), 0);
}
