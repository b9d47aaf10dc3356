//! The privilege split as installed: `dyndns serve` refuses root, runs as an unprivileged user with
//! the packaged owners and modes, and refuses to start (or reports unhealthy) when that user cannot
//! spool. Everything else starts the frontend as root with `--allow-root`; these tests do not.

mod util;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use util::{eventually, frontend_binary, Site, HOST};

/// These tests chown and switch users, which takes root. CI runs as root; elsewhere they are skipped
/// loudly, and with `CI=true` a missing root is a failure.
fn running_as_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the privilege tests need root (CI=true)"
    );
    eprintln!("WARNING: not root, privilege test SKIPPED");
    false
}

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn serve_as_root_without_allow_root_exits_1_saying_why_and_how() {
    if !running_as_root() {
        return;
    }
    let site = Site::new();
    let output = Command::new(frontend_binary())
        .args(["serve", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refuses to run as root"), "{stderr}");
    for fix in ["User=dyndns", "setpriv --reuid=dyndns", "--allow-root"] {
        assert!(stderr.contains(fix), "{fix}: {stderr}");
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", site.port)).is_err(),
        "it must refuse before listening"
    );
}

#[test]
fn serve_runs_as_nobody_with_the_packaged_owners_and_modes() {
    if !running_as_root() {
        return;
    }
    let site = Site::new();
    site.apply_packaged_modes();
    let frontend = site.start_frontend_as_nobody();
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7"));
    assert_eq!(reply.body, "good 203.0.113.7\n", "{}", site.frontend_log());
    let jobs = site.files_in("new");
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let owner = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(site.spool("new").join(&jobs[0])).unwrap(),
    );
    assert_eq!(owner, 65534, "the job was written by nobody");
    assert_eq!(frontend.get("/health", None).status, 200);
    assert!(site.files_in("tmp").is_empty(), "the start probe is gone");
}

#[test]
fn health_is_503_while_the_spool_is_not_writable_by_the_frontend_user() {
    if !running_as_root() {
        return;
    }
    let site = Site::new();
    site.apply_packaged_modes();
    let frontend = site.start_frontend_as_nobody();
    assert_eq!(frontend.get("/health", None).status, 200);
    // As root the check would pass whatever the mode: it has to run as the frontend's user.
    chmod(&site.spool("new"), 0o750);
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 503, "{}", health.body);
    assert!(
        health.body.contains("spool not writable"),
        "{}",
        health.body
    );
    chmod(&site.spool("new"), 0o770);
    assert!(eventually(Duration::from_secs(5), || frontend
        .get("/health", None)
        .status
        == 200));
}

#[test]
fn serve_exits_1_naming_the_spool_folder_and_the_fix_when_tmp_is_not_writable() {
    if !running_as_root() {
        return;
    }
    let site = Site::new();
    site.apply_packaged_modes();
    chmod(&site.spool("tmp"), 0o750);
    let output = util::as_nobody()
        .arg(frontend_binary())
        .args(["serve", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tmp = site.spool("tmp");
    let tmp = tmp.to_str().unwrap();
    assert!(stderr.contains(tmp), "{stderr}");
    assert_eq!(stderr.matches("Permission denied").count(), 1, "{stderr}");
    assert!(
        stderr.contains("systemd-tmpfiles --create dyndns.conf"),
        "{stderr}"
    );
}
