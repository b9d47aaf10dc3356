//! Why this exists: small helpers shared by the backend tests (building changes, spooling a job,
//! watching processes).

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use dyndns_queue::{Job, SpoolDirs};
use dyndns_worker::backend::{Change, RecordType, Value};

/// A change in `zone` for `label` (empty for the apex).
pub fn change(zone: &str, label: &str, address: &str) -> Change {
    Change::address(&host(zone, label), zone, label, ip(address), 60)
}

/// The TXT RRset of `label` in `zone` (empty for the apex) holds exactly `texts`, at TTL 60.
pub fn txt_change(zone: &str, label: &str, texts: &[&str]) -> Change {
    let texts = texts.iter().map(|t| Value::Txt((*t).to_owned())).collect();
    Change::replace(&host(zone, label), zone, label, RecordType::Txt, texts, 60)
}

/// No RRset of `record_type` at `label` in `zone`.
pub fn delete_change(zone: &str, label: &str, record_type: RecordType) -> Change {
    Change::delete(&host(zone, label), zone, label, record_type)
}

fn host(zone: &str, label: &str) -> String {
    if label.is_empty() {
        zone.to_owned()
    } else {
        format!("{label}.{zone}")
    }
}

/// Writes a job of user `router` setting `host`'s IPv4 address into `spool`'s `new/`, as the
/// frontend would.
pub fn spool_job(spool: &SpoolDirs, host: &str, address: std::net::Ipv4Addr) {
    let job = Job::new(
        "router",
        host,
        Some(address),
        None,
        std::time::SystemTime::now(),
        None,
    );
    let nanos = job
        .received_at
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    std::fs::write(
        spool.new().join(format!("{nanos:020}.{}.json", job.id)),
        job.to_json().expect("job writes"),
    )
    .expect("spool the job");
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address literal is valid")
}

/// Waits up to `within` for a pid file to appear and returns the pid in it.
pub async fn read_pid_file(path: &Path, within: Duration) -> i32 {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never held a pid",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// True once `pid` has exited: gone from /proc, or a zombie waiting for a reaper we do not control.
pub async fn process_gone(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            // The state is the field after the parenthesised command name.
            Ok(stat)
                if stat
                    .rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')) =>
            {
                return true
            }
            Ok(_) => {}
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
