//! The command lines operators type: config checks that point at the mistake, password hashing,
//! help and version on both binaries.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::Write;
use std::process::{Command, Stdio};

use util::{frontend_binary, worker_binary, Site};

/// The frontend user these tests name: one that exists on no machine, so the owner and mode checks
/// are skipped (with a warning) whether or not this machine has a `dyndns` user; tests/privileges.rs
/// runs them for `nobody`.
const ABSENT_USER: &str = "dyndns-test-absent";

#[test]
fn check_config_prints_a_masked_summary() {
    let site = Site::new();
    let output = Command::new(frontend_binary())
        .args(["check-config", "--user", ABSENT_USER, "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("user: router (bcrypt hash ****)"), "{text}");
    assert!(
        text.contains("zone: dyn.example.com (backend plesk, backend zone example.com, ttl 60)"),
        "{text}"
    );
    assert!(!text.contains("$2"), "hashes are masked: {text}");
    // Warnings only (no such frontend user here, a config readable by all): still valid.
    assert!(text.contains("\nconfig OK"), "{text}");
}

/// `dyndns check-config --config <site> ARGS...`: exit code and stdout.
fn check_config(site: &Site, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(frontend_binary())
        .args(["check-config", "--user", ABSENT_USER, "--config"])
        .arg(site.config_path())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (output.status.code(), format!("{stdout}{stderr}"))
}

fn edit_config(site: &Site, from: &str, to: &str) {
    let text = std::fs::read_to_string(site.config_path()).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(site.config_path(), text.replace(from, to)).unwrap();
}

#[test]
fn check_config_refuses_the_examples_published_password_hash() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/dyndns.example.toml");
    let output = Command::new(frontend_binary())
        .args(["check-config", "--config", example])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    // The file itself is valid: the summary is printed, and the hash is the problem.
    assert!(
        stdout.contains("user: router (argon2 hash ****)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "error: user `router` has the password hash published in dyndns.example.toml"
        ),
        "{stdout}"
    );
}

#[test]
fn check_config_finds_missing_spool_and_state_folders() {
    let site = Site::new();
    std::fs::remove_dir(site.spool("new")).unwrap();
    std::fs::remove_dir(site.path().join("state")).unwrap();
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    let new = site.spool("new");
    assert!(
        out.contains(&format!(
            "error: {}: does not exist; fix: run `systemd-tmpfiles --create dyndns.conf`",
            new.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("error: worker.state_dir") && out.contains("state: does not exist"),
        "{out}"
    );
}

#[test]
fn check_config_finds_a_backend_command_that_is_not_there() {
    let site = Site::new();
    edit_config(&site, "\"plesk/plesk\"", "\"no-such-plesk-dyndns\"");
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("error: backend.plesk.command: `no-such-plesk-dyndns` is not found in the worker's PATH"),
        "{out}"
    );
    edit_config(&site, "\"no-such-plesk-dyndns\"", "\"/nonexistent/plesk\"");
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("`/nonexistent/plesk` is not an executable file"),
        "{out}"
    );
}

#[test]
fn check_config_finds_a_backend_program_that_others_could_change() {
    // The root worker runs it: whoever may write it runs code as root.
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    let plesk = site.path().join("plesk/plesk");
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(0), "{out}");
    std::fs::set_permissions(&plesk, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: backend.plesk.command: {}: every user can change it (0777 root:root), and \
             the root worker runs it",
            plesk.display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_warns_about_an_argon2_hash_that_may_have_been_cut_short() {
    // passlib's documented example has a 16-byte value: valid, so it loads; a 32-byte value cut to
    // 16 bytes looks the same, so check-config says what to look at.
    let site = Site::new();
    let passlib = "$argon2i$v=19$m=512,t=2,p=2$aI2R0hpDyLm3ltLa+1/rvQ$LqPKjd6n8yniKtAithoR7A";
    let text = std::fs::read_to_string(site.config_path()).unwrap();
    let bcrypt = text
        .lines()
        .find_map(|line| line.strip_prefix("password_hash = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap()
        .to_owned();
    edit_config(&site, &bcrypt, passlib);
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("warning: user `router`: the argon2 hash value is 16 bytes"),
        "{out}"
    );
}

#[test]
fn check_config_finds_a_missing_zone_folder_and_reload_command() {
    let site = Site::new();
    let text = std::fs::read_to_string(site.config_path()).unwrap();
    let text = text.replace("backend = \"plesk\"", "backend = \"zonefile\"")
        + "\n[backend.zonefile]\npath = \"zones/{zone}.zone\"\nreload = [\"no-such-rndc-dyndns\", \"reload\", \"{zone}\"]\n";
    std::fs::write(site.config_path(), text).unwrap();
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("error: backend.zonefile.reload: `no-such-rndc-dyndns`"),
        "{out}"
    );
    let zones = site.path().join("zones");
    assert!(
        out.contains(&format!(
            "error: backend.zonefile.path: the folder {} of",
            zones.display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_warns_about_a_user_without_hosts_and_strict_fails_on_it() {
    let site = Site::new();
    edit_config(&site, "hosts = [\"other.dyn.example.com\"]", "hosts = []");
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("warning: user `other` has no hosts"), "{out}");
    let (code, out) = check_config(&site, &["--strict"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("(--strict: warnings fail too)"), "{out}");
}

#[test]
fn check_config_warns_when_a_config_with_hashes_is_readable_by_all() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    let mode = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let path = site.config_path();
    mode(site.path(), 0o755);
    mode(&path, 0o644);
    let (_, out) = check_config(&site, &[]);
    let warning = format!(
        "warning: {}: every user of this machine can read it",
        path.display()
    );
    assert!(out.contains(&warning), "{out}");
    mode(&path, 0o640);
    let (_, out) = check_config(&site, &[]);
    assert!(!out.contains(&warning), "{out}");
}

#[test]
fn check_config_does_not_call_a_config_in_a_closed_folder_readable_by_all() {
    // As packaged, /etc/dyndns is 0750: a 0644 config in it is out of other users' reach.
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    std::fs::set_permissions(site.path(), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(site.config_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, out) = check_config(&site, &[]);
    assert!(
        !out.contains("every user of this machine can read"),
        "{out}"
    );
}

#[test]
fn check_config_finds_a_unix_socket_folder_that_is_not_there() {
    let site = Site::new();
    let socket = site.path().join("run/http.sock");
    edit_config(
        &site,
        &format!("listen = \"127.0.0.1:{}\"", site.port),
        &format!("listen = \"unix:{}\"", socket.display()),
    );
    let (code, out) = check_config(&site, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: frontend.listen = \"unix:{}\": the folder {} does not exist",
            socket.display(),
            site.path().join("run").display()
        )),
        "{out}"
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
        .args(["check-config", "--user", ABSENT_USER])
        .env("DYNDNS_CONFIG", "")
        .output()
        .unwrap();
    // Checked (stdout names it) where this machine has that file, refused (stderr names it) where
    // not: either way the default path, and no usage error.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_ne!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains(dyndns_config::DEFAULT_PATH),
        "an empty variable is unset, not a usage error: {text}"
    );
}

/// `dyndns check-config | head -1`: the reader is gone before the output ends.
fn into_a_closed_pipe(mut command: Command) -> std::process::Output {
    let (reader, writer) = nix::unistd::pipe().expect("pipe");
    drop(reader);
    command.stdout(writer).stderr(Stdio::piped());
    let child = command.spawn().expect("run dyndns");
    drop(command);
    child.wait_with_output().expect("output")
}

#[test]
fn check_config_and_hash_password_into_a_closed_pipe_end_quietly_without_a_panic() {
    let site = Site::new();
    let mut check = Command::new(frontend_binary());
    check
        .arg("check-config")
        .arg("--config")
        .arg(site.config_path());
    let mut token = Command::new(frontend_binary());
    token.args(["hash-password", "--token"]);
    for (what, command, status) in [
        ("check-config", check, None),
        ("hash-password", token, Some(0)),
    ] {
        let output = into_a_closed_pipe(command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert_ne!(output.status.code(), Some(101), "{what}: {stderr}");
        if let Some(status) = status {
            assert_eq!(output.status.code(), Some(status), "{what}: {stderr}");
        }
    }
}
