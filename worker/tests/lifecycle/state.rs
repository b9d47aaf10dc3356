//! `applied.json` is never silently replaced, and a save that fails never stops the worker: the
//! settled jobs wait in `cur/` until the record is saved.

use std::time::Duration;

use dyndns_queue::{Family, STATE_FILE_NAME};
use dyndns_worker::{Mode, WorkerError};

use crate::util::{files_in, ip, Bench, HOST};

#[tokio::test(start_paused = true)]
async fn a_failing_state_save_keeps_the_worker_running_and_the_job_in_cur() {
    let bench = Bench::new();
    let state_dir = bench.state_dir();
    // While the backend works, the state folder is replaced by a plain file: saving fails with
    // ENOTDIR, for root too.
    {
        let state_dir = state_dir.clone();
        bench.backend.on_call(move |_| {
            if state_dir.is_dir() {
                std::fs::remove_dir_all(&state_dir).expect("remove the state folder");
                std::fs::write(&state_dir, b"").expect("a file in its place");
            }
        });
    }
    let name = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    let worker = tokio::spawn(bench.run(Mode::Timeout(Duration::from_secs(600))));

    tokio::time::sleep(Duration::from_secs(100)).await;
    assert!(!worker.is_finished(), "the worker keeps running");
    assert_eq!(
        bench.backend.record(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(
        files_in(&bench.spool().cur()),
        std::slice::from_ref(&name),
        "applied but not recorded: the job waits in cur/"
    );

    // The disk recovers; the next retry (backoff doubling from 1 s) saves the state.
    std::fs::remove_file(&state_dir).expect("remove the file");
    std::fs::create_dir(&state_dir).expect("the state folder again");
    let report = worker.await.expect("worker task").expect("worker run");

    assert!(!report.state_unsaved);
    assert_eq!((report.applied, report.left_in_cur), (1, 0));
    assert!(files_in(&bench.spool().cur()).is_empty());
    assert_eq!(
        bench.state().applied_address(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(bench.backend.calls().len(), 1, "applied once, not again");
}

#[tokio::test(start_paused = true)]
async fn run_once_with_an_unsavable_state_reports_it_and_keeps_the_job() {
    let bench = Bench::new();
    let state_dir = bench.state_dir();
    {
        let state_dir = state_dir.clone();
        bench.backend.on_call(move |_| {
            std::fs::remove_dir_all(&state_dir).expect("remove the state folder");
            std::fs::write(&state_dir, b"").expect("a file in its place");
        });
    }
    let name = bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));
    let report = bench.run_once().await;
    assert!(report.state_unsaved);
    assert_eq!(files_in(&bench.spool().cur()), [name]);
}

#[tokio::test(start_paused = true)]
async fn a_corrupt_applied_state_is_moved_aside_and_the_worker_starts_empty() {
    let bench = Bench::new();
    let path = bench.state_dir().join(STATE_FILE_NAME);
    std::fs::write(&path, b"{\"version\":1,\"hosts\":").expect("truncated state");
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let report = bench.run_once().await;

    assert_eq!(report.applied, 1);
    let names = files_in(&bench.state_dir());
    let aside: Vec<_> = names
        .iter()
        .filter(|name| name.starts_with("applied.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{names:?}");
    assert_eq!(
        std::fs::read(bench.state_dir().join(aside[0])).expect("kept"),
        b"{\"version\":1,\"hosts\":"
    );
    assert_eq!(
        bench.state().applied_address(HOST, Family::V4),
        Some(ip("203.0.113.7"))
    );
}

#[tokio::test(start_paused = true)]
async fn an_applied_state_from_a_newer_version_stops_the_start() {
    let bench = Bench::new();
    let path = bench.state_dir().join(STATE_FILE_NAME);
    std::fs::write(&path, br#"{"version":2,"hosts":{}}"#).expect("newer state");
    bench.spool_job(&bench.job(HOST, Some("203.0.113.7"), None, 1));

    let err = bench.run(Mode::RunOnce).await.expect_err("refused");

    assert!(matches!(err, WorkerError::StateVersion(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("version 2"), "{text}");
    assert!(bench.backend.calls().is_empty());
    assert_eq!(
        std::fs::read(&path).expect("untouched"),
        br#"{"version":2,"hosts":{}}"#
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_state_folder_names_the_key_and_the_fix() {
    let bench = Bench::new();
    std::fs::remove_dir(bench.state_dir()).expect("remove the state folder");
    let err = bench.run(Mode::RunOnce).await.expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("[worker] state_dir"), "{text}");
    assert!(text.contains("systemd-tmpfiles --create"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_missing_spool_folder_names_it_and_the_fix() {
    let bench = Bench::new();
    std::fs::remove_dir(bench.spool().cur()).expect("remove cur/");
    let err = bench.run(Mode::RunOnce).await.expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("cur"), "{text}");
    assert!(text.contains("systemd-tmpfiles --create"), "{text}");
    assert_eq!(text.matches("cur").count(), 1, "said once: {text}");
}
