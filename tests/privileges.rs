//! The privilege split as installed: `dyndns serve` refuses root, runs as an unprivileged user with
//! the packaged owners and modes, and refuses to start (or reports unhealthy) when that user cannot
//! spool. Everything else starts the frontend as root with `--allow-root`; these tests do not.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use util::small_disk::SmallDisk;
use util::{eventually, frontend_binary, Site, HOST};

fn running_as_root() -> bool {
    util::running_as_root("the privilege test")
}

/// A site with the packaged owners and modes, or `None` when not root (see [`running_as_root`]).
fn packaged_site() -> Option<Site> {
    if !running_as_root() {
        return None;
    }
    let site = Site::new();
    site.apply_packaged_modes();
    Some(site)
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
    let Some(site) = packaged_site() else {
        return;
    };
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
    let Some(site) = packaged_site() else {
        return;
    };
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
    let Some(site) = packaged_site() else {
        return;
    };
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

#[test]
fn a_full_spool_is_unhealthy_and_refuses_the_start_saying_to_free_space() {
    if !running_as_root() {
        return;
    }
    let site = Site::new();
    let Some(spool) = SmallDisk::over_spool(site.spool("")) else {
        return;
    };
    let frontend = site.start_frontend();
    assert_eq!(frontend.get("/health", None).status, 200);
    spool.fill();
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 503, "{}", health.body);
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7"));
    assert_eq!(reply.body, "911\n");
    drop(frontend);

    let output = Command::new(frontend_binary())
        .args(["serve", "--allow-root", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains("file system is full: free space"),
        "{stderr}"
    );
    assert!(!stderr.contains("systemd-tmpfiles"), "{stderr}");
    let (code, out) = check_config_for_nobody(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("its file system is full (no space left), so `dyndns serve` cannot spool"),
        "{out}"
    );

    spool.empty();
    let frontend = site.start_frontend();
    assert_eq!(frontend.get("/health", None).status, 200);
}

/// `dyndns check-config --user nobody ARGS...` on the site: exit code and stdout + stderr.
fn check_config_for_nobody(site: &Site, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(frontend_binary())
        .args(["check-config", "--user", "nobody", "--config"])
        .arg(site.config_path())
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

fn chown(path: &std::path::Path, user: u32, group: u32) {
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(user)),
        Some(nix::unistd::Gid::from_raw(group)),
    )
    .unwrap();
}

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

#[test]
fn check_config_passes_the_packaged_owners_and_modes_even_with_strict() {
    let Some(site) = packaged_site() else {
        return;
    };
    let (code, out) = check_config_for_nobody(&site, &["--strict"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("config OK\n"), "{out}");
}

#[test]
fn check_config_fails_when_the_frontend_user_cannot_spool() {
    for (folder, mode) in [("tmp", 0o750), ("new", 0o750), ("", 0o700)] {
        let Some(site) = packaged_site() else {
            return;
        };
        chmod(&site.spool(folder), mode);
        let (code, out) = check_config_for_nobody(&site, &[]);
        assert_eq!(code, Some(1), "{folder}: {out}");
        let path = site.spool(folder);
        let path = path.to_str().unwrap().trim_end_matches('/');
        assert!(
            out.contains(&format!("error: {path}: user nobody cannot")),
            "{folder}: {out}"
        );
        assert!(out.contains("packaged 07"), "{folder}: {out}");
    }
}

#[test]
fn check_config_fails_when_the_frontend_user_could_change_what_the_worker_trusts() {
    /// What is wrong, where (from the site), and the consequence the error must name.
    type Case = (&'static str, fn(&Site) -> std::path::PathBuf, &'static str);
    let cases: [Case; 6] = [
        (
            "spool root group-writable",
            |site| site.spool(""),
            "rename cur/ or failed/ away",
        ),
        (
            "cur/ group-writable",
            |site| site.spool("cur"),
            "rewrite or remove jobs",
        ),
        (
            "failed/ owned by nobody",
            |site| site.spool("failed"),
            "dead letters",
        ),
        (
            "state owned by nobody",
            |site| site.path().join("state"),
            "forge applied.json",
        ),
        (
            "config owned by nobody",
            |site| site.config_path(),
            "add users and hosts",
        ),
        (
            "config folder group-writable",
            |site| site.path().to_path_buf(),
            "replace the config",
        ),
    ];
    for (case, path_of, consequence) in cases {
        let Some(site) = packaged_site() else {
            return;
        };
        let path = path_of(&site);
        if case.contains("group-writable") {
            chmod(&path, 0o770);
        } else {
            chown(&path, NOBODY, NOGROUP);
        }
        let (code, out) = check_config_for_nobody(&site, &[]);
        assert_eq!(code, Some(1), "{case}: {out}");
        let path = path.to_str().unwrap().trim_end_matches('/').to_owned();
        assert!(
            out.contains(&format!("error: {path}: user nobody can change it")),
            "{case}: {out}"
        );
        assert!(out.contains(consequence), "{case}: {out}");
    }
}

#[test]
fn check_config_fails_when_the_frontend_user_could_take_the_worker_lock() {
    let Some(site) = packaged_site() else {
        return;
    };
    let lock = site.spool("worker.lock");
    std::fs::write(&lock, "").unwrap();
    chmod(&lock, 0o644);
    let (code, out) = check_config_for_nobody(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: user nobody can open it",
            lock.display()
        )),
        "{out}"
    );
    chmod(&lock, 0o600);
    let (code, out) = check_config_for_nobody(&site, &[]);
    assert_eq!(code, Some(0), "the worker's own 0600 lock is fine: {out}");
}

#[test]
fn check_config_warns_when_the_state_folder_is_not_set_group_id_or_unreadable() {
    let Some(site) = packaged_site() else {
        return;
    };
    let state = site.path().join("state");
    chmod(&state, 0o750);
    let (code, out) = check_config_for_nobody(&site, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("not set-group-ID (0750 root:nogroup)"),
        "{out}"
    );
    let (code, _) = check_config_for_nobody(&site, &["--strict"]);
    assert_eq!(code, Some(1));
    chmod(&state, 0o2700);
    let (_, out) = check_config_for_nobody(&site, &[]);
    assert!(out.contains("user nobody cannot read it"), "{out}");
}

#[test]
fn check_config_fails_when_the_frontend_user_cannot_read_the_config() {
    let Some(site) = packaged_site() else {
        return;
    };
    chmod(&site.config_path(), 0o600);
    let (code, out) = check_config_for_nobody(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: user nobody cannot read it (0600 root:nogroup), so `dyndns serve` cannot start",
            site.config_path().display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_refuses_root_as_the_frontend_user() {
    let site = Site::new();
    let output = Command::new(frontend_binary())
        .args(["check-config", "--user", "root", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("error: --user root: the frontend must not run as root"),
        "{out}"
    );
}

#[test]
fn check_config_finds_folders_above_the_config_spool_and_state_that_others_could_change() {
    // Not the frontend's user: anyone but root who can replace what the root worker trusts, through
    // a folder above it, symbolic links followed.
    let daemon = nix::unistd::User::from_name("daemon")
        .unwrap()
        .expect("user daemon exists")
        .uid
        .as_raw();
    let users = nix::unistd::Group::from_name("users")
        .unwrap()
        .expect("group users exists")
        .gid
        .as_raw();

    let Some(site) = packaged_site() else {
        return;
    };
    chown(site.path(), 0, users);
    chmod(site.path(), 0o770);
    let (code, out) = check_config_for_nobody(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: group users can change it (0770 root:users), so group users could \
             replace the config below it",
            site.path().display()
        )),
        "{out}"
    );

    // The state folder is fine itself, but reached through a link into a folder daemon owns.
    let Some(site) = packaged_site() else {
        return;
    };
    let elsewhere = site.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::rename(site.path().join("state"), elsewhere.join("state")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("state"), site.path().join("state")).unwrap();
    chown(&elsewhere, daemon, 0);
    let (code, out) = check_config_for_nobody(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: its owner daemon can change it",
            elsewhere.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("could replace the worker's state below it"),
        "{out}"
    );
}

#[test]
fn check_config_says_it_did_not_judge_an_acl() {
    let Some(site) = packaged_site() else {
        return;
    };
    // An access ACL letting user daemon read the password hashes, which the mode (still 0640
    // root:nogroup) does not show: version 2, then (tag, permissions, id) for the owner, the named
    // user, the group, the mask and others.
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, permissions, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, 1),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend(tag.to_le_bytes());
        acl.extend(permissions.to_le_bytes());
        acl.extend(id.to_le_bytes());
    }
    if rustix::fs::setxattr(
        site.config_path(),
        "system.posix_acl_access",
        &acl,
        rustix::fs::XattrFlags::empty(),
    )
    .is_err()
    {
        eprintln!("WARNING: no ACLs on this file system, ACL test SKIPPED");
        return;
    }
    let (code, out) = check_config_for_nobody(&site, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "warning: {}: has an access ACL, which check-config does not judge",
            site.config_path().display()
        )),
        "{out}"
    );
    let (code, _) = check_config_for_nobody(&site, &["--strict"]);
    assert_eq!(code, Some(1));
}

#[test]
fn worker_run_as_the_frontend_user_is_told_it_runs_as_root() {
    let Some(site) = packaged_site() else {
        return;
    };
    let run_as_nobody = |site: &Site| {
        let output = util::as_nobody()
            .arg(util::worker_binary())
            .args(["--run-once", "--config"])
            .arg(site.config_path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        stderr
    };
    // It can read the config (group nogroup), not take the lock.
    let stderr = run_as_nobody(&site);
    assert!(stderr.contains("worker.lock"), "{stderr}");
    assert!(stderr.contains("dyndns-worker runs as root"), "{stderr}");
    // It cannot read the config either: the hint must not be the frontend's alone.
    chmod(&site.config_path(), 0o600);
    let stderr = run_as_nobody(&site);
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(
        stderr.contains("dyndns-worker and check-config as root"),
        "{stderr}"
    );
}
