//! The core story with the real binaries: a router's update is spooled durably, `dyndns-worker` applies
//! it through (fake) Plesk, and nothing accepted is lost across crashes or overlapping runs.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::os::unix::fs::symlink;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use util::{eventually, Site, HOST};

/// `dyndns-worker --run-once` logging at info (its default there is warn), asserting exit 0.
fn run_once_at_info(site: &Site) -> Output {
    let output = site
        .worker_command()
        .arg("--run-once")
        .env("RUST_LOG", "info")
        .output()
        .expect("run dyndns-worker");
    assert!(
        output.status.success(),
        "worker failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn update_lands_in_plesk_with_the_exact_argv() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7"));
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "good 203.0.113.7\n")
    );
    assert_eq!(
        site.files_in("new").len(),
        1,
        "good means the job is in new/"
    );

    site.run_worker_once();
    assert_eq!(
        site.plesk_calls(),
        [
            "--info example.com",
            "--add example.com -a home.dyn -ip 203.0.113.7",
            "--info example.com",
        ]
    );
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"]
    );
    assert!(site.files_in("new").is_empty() && site.files_in("cur").is_empty());

    // A new address for both families, one batch: one listing, add first, then delete the stale
    // value, then one listing to verify.
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.8,2001:db8::8"));
    assert_eq!(reply.body, "good 203.0.113.8,2001:db8::8\n");
    site.run_worker_once();
    let calls = site.plesk_calls();
    assert_eq!(
        calls[3..],
        [
            "--info example.com",
            "--add example.com -a home.dyn -ip 203.0.113.8",
            "--del example.com -a home.dyn -ip 203.0.113.7",
            "--add example.com -aaaa home.dyn -ip 2001:db8::8",
            "--info example.com",
        ]
    );
    assert_eq!(
        site.plesk_records(),
        [
            "home.dyn.example.com. A 203.0.113.8",
            "home.dyn.example.com. AAAA 2001:db8::8"
        ]
    );
}

#[test]
fn ten_jobs_for_one_host_give_one_backend_change() {
    let site = Site::new();
    let frontend = site.start_frontend();
    for last in 1..=10 {
        let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.{last}"));
        assert_eq!(reply.body, format!("good 203.0.113.{last}\n"));
    }
    assert_eq!(site.files_in("new").len(), 10);
    let output = run_once_at_info(&site);
    let adds: Vec<String> = site
        .plesk_calls()
        .into_iter()
        .filter(|call| call.starts_with("--add"))
        .collect();
    assert_eq!(adds, ["--add example.com -a home.dyn -ip 203.0.113.10"]);
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.10"]
    );
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("superseded=9"),
        "the run reports 9 superseded jobs: {log}"
    );
    assert!(site.files_in("cur").is_empty() && site.files_in("failed").is_empty());
}

#[test]
fn pending_files_before_start_are_processed() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    drop(frontend);
    // Continuous mode: the job was written while no worker ran; the start-up scan must find it.
    let mut worker = site.worker_command().stderr(Stdio::null()).spawn().unwrap();
    let applied = eventually(Duration::from_secs(10), || !site.plesk_records().is_empty());
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert!(applied, "the worker never applied the pending job");
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"]
    );
}

#[test]
fn continuous_worker_applies_a_new_job_quickly() {
    let site = Site::new();
    std::fs::create_dir_all(site.spool("new")).unwrap();
    let frontend = site.start_frontend();
    let mut worker = site.worker_command().stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    let applied = eventually(Duration::from_secs(5), || !site.plesk_records().is_empty());
    // SIGTERM: graceful stop, exit 0.
    util::terminate(&worker);
    let status = worker.wait().unwrap();
    assert!(applied);
    assert!(status.success(), "{status}");
}

#[test]
fn hostile_spool_files_are_dead_lettered_and_the_worker_keeps_going() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    drop(frontend);
    let new = site.spool("new");
    let job = |host: &str, ip: &str, version: u32| {
        format!(
            r#"{{"version":{version},"id":"0191f9a0-0000-7000-8000-000000000001","user":"router","host":"{host}","ipv4":"{ip}","received_at":"2026-11-23T16:00:00Z"}}"#
        )
    };
    let outside = site.path().join("secret.json");
    std::fs::write(&outside, job(HOST, "203.0.113.66", 1)).unwrap();
    symlink(&outside, new.join("symlink.json")).unwrap();
    nix::unistd::mkfifo(
        &new.join("fifo.json"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    std::fs::write(new.join("huge.json"), vec![b' '; 10 * 1024 * 1024]).unwrap();
    std::fs::write(new.join("bad.json"), b"{not json").unwrap();
    std::fs::write(new.join("version.json"), job(HOST, "203.0.113.9", 2)).unwrap();
    std::fs::write(
        new.join("outside.json"),
        job("www.example.org", "203.0.113.9", 1),
    )
    .unwrap();
    std::fs::write(new.join("private.json"), job(HOST, "192.168.1.9", 1)).unwrap();
    std::fs::write(new.join("loopback.json"), job(HOST, "127.0.0.1", 1)).unwrap();
    std::fs::write(
        new.join("notyours.json"),
        job("other.dyn.example.com", "203.0.113.9", 1),
    )
    .unwrap();
    std::fs::write(
        new.join("unknown-field.json"),
        job(HOST, "203.0.113.9", 1).replace("}", r#","evil":1}"#),
    )
    .unwrap();

    let started = Instant::now();
    let output = site.worker_command().arg("--run-once").output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a hostile file stalled the worker"
    );
    assert_eq!(
        output.status.code(),
        Some(3),
        "dead letters end the run with 3"
    );
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"],
        "the good job still lands"
    );
    let failed = site.files_in("failed");
    let expected = [
        ("symlink.json", "symbolic link"),
        ("fifo.json", "fifo"),
        ("huge.json", "65536-byte limit"),
        ("bad.json", "not a well-formed"),
        ("version.json", "version"),
        ("outside.json", "outside every configured zone"),
        ("private.json", "private"),
        ("loopback.json", "loopback"),
        ("notyours.json", "may not update"),
        ("unknown-field.json", "unknown field"),
    ];
    for (name, why) in expected {
        assert!(
            failed.contains(&name.to_string()),
            "{name} not in failed/: {failed:?}"
        );
        let reason =
            std::fs::read_to_string(site.spool("failed").join(format!("{name}.reason"))).unwrap();
        assert!(
            reason.to_lowercase().contains(&why.to_lowercase()),
            "{name}: {reason}"
        );
    }
    assert!(site.files_in("new").is_empty() && site.files_in("cur").is_empty());
    assert!(outside.exists(), "the symlink's target is untouched");
}

#[test]
fn kill_9_mid_job_then_restart_applies_the_job_once() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    site.plesk_control("hang", "");
    let mut worker = site.worker_command().stderr(Stdio::null()).spawn().unwrap();
    let hung = eventually(Duration::from_secs(10), || {
        site.path().join("plesk/hang.pid").exists()
    });
    worker.kill().unwrap(); // SIGKILL
    worker.wait().unwrap();
    let sleeper = std::fs::read_to_string(site.path().join("plesk/hang.pid")).unwrap_or_default();
    if let Ok(pid) = sleeper.trim().parse::<i32>() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(hung, "the worker never reached the backend");
    assert_eq!(
        site.files_in("cur").len(),
        1,
        "the claimed job waits in cur/"
    );
    assert!(site.plesk_records().is_empty());

    site.remove_plesk_control("hang");
    site.run_worker_once();
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"]
    );
    let adds = site
        .plesk_calls()
        .iter()
        .filter(|call| call.starts_with("--add"))
        .count();
    assert_eq!(adds, 1);
    assert!(site.files_in("cur").is_empty());
    // A second restart has nothing left to do.
    site.run_worker_once();
    assert_eq!(
        site.plesk_calls()
            .iter()
            .filter(|call| call.starts_with("--add"))
            .count(),
        1
    );
}

#[test]
fn crash_between_add_and_delete_is_repaired() {
    let site = Site::new();
    // What Plesk holds after an add whose delete never ran.
    std::fs::write(
        site.path().join("plesk/records"),
        "home.dyn.example.com. A 203.0.113.1\nhome.dyn.example.com. A 203.0.113.7\n",
    )
    .unwrap();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    site.run_worker_once();
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"]
    );
    assert!(
        !site
            .plesk_calls()
            .iter()
            .any(|call| call.starts_with("--add")),
        "the address was already there"
    );
}

#[test]
fn a_second_worker_refuses_at_once() {
    let site = Site::new();
    std::fs::create_dir_all(site.spool("new")).unwrap();
    let mut first = site.worker_command().stderr(Stdio::null()).spawn().unwrap();
    let locked = eventually(Duration::from_secs(10), || {
        site.spool("worker.lock").exists()
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let second = site.worker_command().arg("--run-once").output().unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(locked);
    assert_eq!(second.status.code(), Some(75));
    assert!(started.elapsed() < Duration::from_secs(5));
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(
        message.contains("another dyndns-worker is already running"),
        "{message}"
    );
}

#[test]
fn timeout_mode_exits_on_time_with_status_zero() {
    let site = Site::new();
    std::fs::create_dir_all(site.spool("new")).unwrap();
    let started = Instant::now();
    let output = site
        .worker_command()
        .args(["--timeout", "1"])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}

#[test]
fn transient_backend_failure_keeps_the_job_and_a_later_run_applies_it() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    site.plesk_control("fail", "plesk: database is locked");
    let output = site.worker_command().arg("--run-once").output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "run-once reports the deferred change"
    );
    assert_eq!(site.files_in("cur").len(), 1);
    site.remove_plesk_control("fail");
    site.run_worker_once();
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"]
    );
}

#[test]
fn permanent_backend_failure_dead_letters_with_the_backend_message() {
    let site = Site::new();
    site.plesk_control("unknown-zones", "example.com\n");
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    let output = site.worker_command().arg("--run-once").output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "a run that dead-lettered a job says so: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let failed = site.files_in("failed");
    assert_eq!(failed.len(), 2, "{failed:?}");
    let reason = std::fs::read_to_string(site.spool("failed").join(&failed[1])).unwrap();
    assert!(reason.contains("Unable to find domain"), "{reason}");
}

#[test]
fn sigterm_lets_the_change_in_flight_finish() {
    let site = Site::new();
    let frontend = site.start_frontend();
    site.plesk_control("delay", "1");
    let mut worker = site.worker_command().stderr(Stdio::null()).spawn().unwrap();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    let in_flight = eventually(Duration::from_secs(10), || !site.plesk_calls().is_empty());
    util::terminate(&worker);
    let status = worker.wait().unwrap();
    assert!(in_flight, "the worker never called the backend");
    assert!(status.success(), "{status}");
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"],
        "the change finished"
    );
    assert!(site.files_in("cur").is_empty(), "and its job left cur/");
}

#[test]
fn a_job_older_than_one_already_applied_never_rolls_dns_back() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    site.run_worker_once();
    // A job from before that change shows up late (say, a dead letter moved back into new/).
    let stale = r#"{"version":1,"id":"0191f9a0-0000-7000-8000-0000000000aa","user":"router","host":"home.dyn.example.com","ipv4":"203.0.113.1","received_at":"2020-01-01T00:00:00Z"}"#;
    std::fs::write(site.spool("new").join("stale.json"), stale).unwrap();
    let calls_before = site.plesk_calls().len();
    let output = run_once_at_info(&site);
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"]
    );
    assert_eq!(
        site.plesk_calls().len(),
        calls_before,
        "no backend call for a stale job"
    );
    assert!(site.files_in("new").is_empty() && site.files_in("cur").is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("superseded=1"));
}

#[test]
fn permanent_v4_failure_still_applies_v6_and_the_frontend_learns_it() {
    let site = Site::new();
    // Plesk lists an A value the backend cannot read: every v4 change of the host fails for good.
    site.plesk_control("extra-info", &format!("{HOST}. A not-an-address\n"));
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7,2001:db8::7"));
    assert_eq!(reply.body, "good 203.0.113.7,2001:db8::7\n");

    let output = site.worker_command().arg("--run-once").output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{log}");
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. AAAA 2001:db8::7"],
        "the v6 half was applied"
    );
    assert!(site.files_in("cur").is_empty());
    let failed = site.files_in("failed");
    assert_eq!(failed.len(), 2, "{failed:?}");
    let letter = std::fs::read_to_string(site.spool("failed").join(&failed[0])).unwrap();
    assert!(
        letter.contains("203.0.113.7") && !letter.contains("2001:db8::7"),
        "only the failed family is dead-lettered: {letter}"
    );
    let reason = std::fs::read_to_string(site.spool("failed").join(&failed[1])).unwrap();
    assert!(reason.contains("not an address"), "{reason}");

    // The frontend learns from applied.json that the v4 address did not land: sent again, it is a
    // new `good`, while the v6 address that landed stays `nochg`.
    let relearned = eventually(Duration::from_secs(10), || {
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body
            == "good 203.0.113.7\n"
    });
    assert!(
        relearned,
        "the frontend kept answering nochg for the lost address"
    );
    let reply = frontend.update(&format!("hostname={HOST}&myip=2001:db8::7"));
    assert_eq!(reply.body, "nochg 2001:db8::7\n");
}

#[test]
fn a_hostile_file_name_cannot_forge_a_worker_log_line() {
    let site = Site::new();
    std::fs::write(
        site.spool("new").join("job\nhost=evil result=applied.json"),
        b"{not json",
    )
    .unwrap();
    let output = site
        .worker_command()
        .arg("--run-once")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains(r#""job\nhost=evil result=applied.json""#),
        "the name is quoted and escaped: {log}"
    );
    for line in log.lines() {
        assert!(
            !line.trim_start().starts_with("host=evil"),
            "a forged line: {line:?}"
        );
        assert!(!line.contains(" host=evil"), "a forged key: {line:?}");
    }
}

#[test]
fn a_backend_message_cannot_forge_a_worker_log_line_or_a_reason() {
    let site = Site::new();
    // Plesk refusing the zone for good, with what a hostile or broken backend could print.
    site.plesk_control(
        "fail",
        "Unable to find domain 'example.com'.\n2026-01-01T00:00:00Z ERROR host=evil \u{1b}[2J\u{202e}",
    );
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7"));
    assert_eq!(reply.status, 200);

    let output = site.worker_command().arg("--run-once").output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{log}");
    assert!(
        log.contains(r"'example.com'.\n2026-01-01T00:00:00Z ERROR"),
        "{log}"
    );
    let failed = site.files_in("failed");
    let reason = std::fs::read_to_string(site.spool("failed").join(&failed[1])).unwrap();
    assert!(reason.contains(r"\u{1b}[2J\u{202e}"), "{reason}");
    for text in [&*log, &*reason] {
        assert!(!text.contains(['\u{1b}', '\u{202e}']), "raw: {text:?}");
        for line in text.lines() {
            assert!(!line.starts_with("2026-01-01"), "a forged line: {line:?}");
        }
    }
    assert_eq!(reason.lines().count(), 1, "{reason}");
}

#[test]
fn cron_modes_log_only_warnings_and_errors_by_default() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    let output = site
        .worker_command()
        .arg("--run-once")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "a healthy cron run prints nothing, so cron mails nothing"
    );
    assert_eq!(
        site.plesk_records(),
        ["home.dyn.example.com. A 203.0.113.7"]
    );
    // RUST_LOG still overrides.
    let output = run_once_at_info(&site);
    assert!(String::from_utf8_lossy(&output.stderr).contains("dyndns-worker stopped"));
}

#[test]
fn worker_help_lists_runonce_and_the_help_command_works() {
    let output = std::process::Command::new(util::worker_binary())
        .arg("help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    assert!(help.contains("--run-once"), "{help}");
    assert!(help.contains("runonce"), "the alias is listed: {help}");
    assert!(help.contains("--config"), "{help}");
    assert!(
        help.contains("  3 "),
        "the dead-letter status is documented: {help}"
    );
    let explicit = std::process::Command::new(util::worker_binary())
        .args(["run", "--help"])
        .output()
        .unwrap();
    assert!(explicit.status.success());
}

#[test]
fn a_worker_without_root_is_told_it_runs_as_root() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let site = Site::new();
    // Let an unprivileged user reach the config and the spool, as on a real server; only the
    // lock (root, 0600) stops it.
    std::fs::set_permissions(site.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(site.config_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(site.spool("worker.lock"), b"").unwrap();
    std::fs::set_permissions(
        site.spool("worker.lock"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    // A copy of the binary beside the config, so `nobody` can run it wherever the build is.
    let binary = site.path().join("dyndns-worker");
    let copied = std::process::Command::new("/bin/cp")
        .arg(util::worker_binary())
        .arg(&binary)
        .status()
        .unwrap();
    assert!(copied.success());
    let output = std::process::Command::new(&binary)
        .arg("--config")
        .arg(site.config_path())
        .arg("--run-once")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("worker.lock"), "{message}");
    assert!(message.contains("runs as root"), "{message}");
    assert_eq!(message.matches("Permission denied").count(), 1, "{message}");
}
