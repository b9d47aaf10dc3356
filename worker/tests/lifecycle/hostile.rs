//! A compromised frontend planting files in `new/` cannot make the root worker delete, overwrite
//! or apply anything it should not.

use std::time::{Duration, UNIX_EPOCH};

use dyndns_queue::Family;

use crate::util::{files_in, ip, Bench, HOST};

/// Sets `path`'s modification time, as the frontend may on a file it owns (`rename` keeps it).
fn backdate(path: &std::path::Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(UNIX_EPOCH + Duration::from_secs(86_400))
        .expect("set mtime");
}

#[tokio::test(start_paused = true)]
async fn a_dead_letter_named_like_a_reason_cannot_make_retention_delete_outside_failed() {
    let bench = Bench::new();
    let spool = bench.spool();
    // Read as reason files, these would belong to the dead letters "", "." and "..": failed/
    // itself and the spool's top.
    for name in [".reason", "..reason", "...reason"] {
        let path = spool.new().join(name);
        std::fs::write(&path, b"not a job").expect("plant");
        backdate(&path);
    }
    let report = bench.run_once().await;
    assert_eq!(report.dead_lettered, 3);
    let letters = files_in(&spool.failed());

    // A frontend mid-write, and a real job waiting for the next run.
    std::fs::write(spool.tmp().join("writing.json"), b"{").expect("tmp file");
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    let report = bench.run_once().await;

    assert_eq!(report.applied, 1);
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(files_in(&spool.tmp()), ["writing.json"]);
    assert_eq!(
        files_in(&spool.failed()),
        letters,
        "nothing in failed/ expired"
    );
}

#[tokio::test(start_paused = true)]
async fn a_user_name_cannot_disguise_or_split_a_reason_file() {
    let bench = Bench::new();
    let mut job = bench.job(HOST, Some("203.0.113.7"), None, 1);
    // Not control characters, so a job may carry them; shown raw they reorder or break the line.
    job.user = "ghost\u{202e}gnp.exe\u{2028}2026-01-01T00:00:00Z: fine".into();
    let name = bench.spool_job(&job);

    let report = bench.run_once().await;

    assert_eq!(report.dead_lettered, 1);
    let reason = std::fs::read_to_string(bench.spool().failed().join(format!("{name}.reason")))
        .expect("reason");
    assert!(
        !reason.contains(['\u{202e}', '\u{2028}']),
        "shown raw: {reason:?}"
    );
    assert!(
        reason.contains(r"ghost\u{202e}gnp.exe\u{2028}2026"),
        "{reason}"
    );
}
