//! The command lines operators type: config checks that point at the mistake, password hashing,
//! help and version on both binaries.

mod util;

use std::io::Write;
use std::process::{Command, Stdio};

use util::{frontend_binary, worker_binary, Site};

#[test]
fn check_config_prints_a_masked_summary() {
    let site = Site::new();
    let output = Command::new(frontend_binary())
        .args(["check-config", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("user: router (bcrypt hash ****)"), "{text}");
    assert!(
        text.contains("zone: dyn.example.com (backend zone example.com, ttl 60)"),
        "{text}"
    );
    assert!(!text.contains("$2"), "hashes are masked: {text}");
    assert!(text.ends_with("config OK\n"));
}

#[test]
fn the_example_config_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/dyndns.example.toml");
    let output = Command::new(frontend_binary())
        .args(["check-config", "--config", example])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn bad_configs_name_file_line_column_and_key_in_both_binaries() {
    let site = Site::new();
    let text = std::fs::read_to_string(site.config_path()).unwrap();
    let broken = text.replace("ttl = 60", "ttl = 60\ncolour = \"blue\"");
    std::fs::write(site.config_path(), &broken).unwrap();
    let line = broken
        .lines()
        .position(|line| line.starts_with("colour"))
        .unwrap()
        + 1;
    let expected = format!(
        "{}:{line}:1: key `zone[0].colour`",
        site.config_path().display()
    );

    let output = Command::new(frontend_binary())
        .args(["check-config", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&expected), "{stderr}");

    let output = site.worker_command().arg("--run-once").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&expected), "{stderr}");

    // Via $DYNDNS_CONFIG too.
    let output = Command::new(frontend_binary())
        .arg("check-config")
        .env("DYNDNS_CONFIG", site.config_path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains(&expected));
}

#[test]
fn hash_password_reads_stdin_and_prints_argon2id() {
    let mut child = Command::new(frontend_binary())
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let hash = String::from_utf8(output.stdout).unwrap();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");

    // The printed hash works as a password_hash.
    let site = Site::new();
    let text = std::fs::read_to_string(site.config_path()).unwrap();
    let start = text.find("password_hash = \"").unwrap() + "password_hash = \"".len();
    let end = start + text[start..].find('"').unwrap();
    std::fs::write(
        site.config_path(),
        format!("{}{}{}", &text[..start], hash.trim(), &text[end..]),
    )
    .unwrap();
    let frontend = site.start_frontend();
    let reply = frontend.get(
        &format!("/nic/update?hostname={}&myip=203.0.113.7", util::HOST),
        Some((util::USER, "s3cret")),
    );
    assert_eq!(reply.body, "good 203.0.113.7\n");
}

#[test]
fn help_and_version_work_on_every_command() {
    for (binary, args) in [
        (frontend_binary(), vec!["--help"]),
        (frontend_binary(), vec!["serve", "--help"]),
        (frontend_binary(), vec!["check-config", "--help"]),
        (frontend_binary(), vec!["hash-password", "--help"]),
        (frontend_binary(), vec!["demo", "--help"]),
        (worker_binary(), vec!["--help"]),
    ] {
        let output = Command::new(&binary).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    let worker_help = Command::new(worker_binary())
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&worker_help.stdout);
    assert!(
        text.contains("--run-once") && text.contains("--timeout") && text.contains("75"),
        "{text}"
    );
    for binary in [frontend_binary(), worker_binary()] {
        let output = Command::new(&binary).arg("--version").output().unwrap();
        assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
    }
    // --runonce is accepted as dyndns.py spelled it.
    let site = Site::new();
    let output = site.worker_command().arg("--runonce").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn serve_output(site: &Site) -> (Option<i32>, String) {
    let output = Command::new(frontend_binary())
        .args(["serve", "--allow-root", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn missing_spool_is_reported_once_with_the_fix() {
    let site = Site::new();
    std::fs::remove_dir_all(site.path().join("spool")).unwrap();
    let (code, stderr) = serve_output(&site);
    assert_eq!(code, Some(1), "{stderr}");
    let tmp = site.spool("tmp");
    assert_eq!(
        stderr.matches(tmp.to_str().unwrap()).count(),
        1,
        "the path once: {stderr}"
    );
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "the cause once: {stderr}"
    );
    assert!(
        stderr.contains("systemd-tmpfiles --create dyndns.conf"),
        "the fix: {stderr}"
    );
}

#[test]
fn listen_address_in_use_names_the_key_not_a_debug_form() {
    let site = Site::new();
    let _taken = std::net::TcpListener::bind(("127.0.0.1", site.port)).unwrap();
    let (code, stderr) = serve_output(&site);
    assert_eq!(code, Some(1), "{stderr}");
    let expected = format!(
        "dyndns: frontend.listen = \"127.0.0.1:{}\": address in use (is another dyndns serve running?",
        site.port
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("Tcp("), "{stderr}");
}

#[test]
fn config_option_only_on_commands_that_read_the_config() {
    for args in [
        vec!["hash-password", "--config", "x.toml"],
        vec!["demo", "--config", "x.toml"],
        vec!["--config", "x.toml", "check-config"],
    ] {
        let output = Command::new(frontend_binary())
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    for command in ["serve", "check-config"] {
        let output = Command::new(frontend_binary())
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&output.stdout).contains("--config <PATH>"));
    }
}

#[test]
fn empty_dyndns_config_means_the_default_path() {
    let output = Command::new(frontend_binary())
        .arg("check-config")
        .env("DYNDNS_CONFIG", "")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(dyndns_config::DEFAULT_PATH),
        "an empty variable is unset, not a usage error: {stderr}"
    );
}
