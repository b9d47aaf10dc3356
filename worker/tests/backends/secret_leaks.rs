//! Why this exists: the promise that a backend's token or key never reaches a log, proven on the
//! real `dyndns-worker` binary at its most talkative (`RUST_LOG=trace`), against an API that
//! refuses the credential and quotes it back in its error: neither `--run-once`'s log, nor what
//! it writes beside a dead-lettered job, nor `dyndns-worker check`'s lines may hold it. And a
//! token taken from the environment that is empty, not text, or that no header can carry is
//! refused before any request, saying which.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use dyndns_queue::SpoolDirs;

use crate::scripted_api::{Reply, Request, Scripted};

const SECRET: &str = "s3cr3t-Hk28vQ0pZx71";
const HOST: &str = "home.dyn.example.com";

/// A server that refuses every request and quotes its credential headers in each vendor's shape.
fn quoting_server() -> Scripted {
    Scripted::start(|request: &Request| {
        let quoted = format!(
            "credentials {} {}",
            request.header("authorization").unwrap_or_default(),
            request.header("x-api-key").unwrap_or_default()
        );
        Reply::json(
            403,
            serde_json::json!({
                "success": false,
                "errors": [{"code": 9109, "message": quoted}],
                "error": quoted,
                "message": quoted,
            })
            .to_string(),
        )
    })
}

/// `dir/dyndns.toml` using `backend` with `table` as its `[backend.*]` table, the secret in a file
/// written as an editor on Windows would (CRLF).
fn write_config(dir: &Path, backend: &str, table: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("secret"), format!("{SECRET}\r\n")).expect("secret file");
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

{table}
timeout_secs = 5
"#
    );
    let path = dir.join("dyndns.toml");
    std::fs::write(&path, text).expect("config");
    path
}

/// One job for `HOST` in `dir/spool/new/`.
fn spool_job(dir: &Path) {
    let spool = SpoolDirs::at(dir.join("spool"));
    spool.create_all().expect("the spool");
    std::fs::create_dir_all(dir.join("state")).expect("the state folder");
    crate::util::spool_job(&spool, HOST, Ipv4Addr::new(203, 0, 113, 50));
}

/// The worker's stdout and stderr with `args`, and the text of ureq's byte dumps joined up (each
/// dump line shows 16 bytes, so a token would be cut across lines).
fn run_worker(config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_dyndns-worker"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "trace")
        .env_remove("DYNDNS_CONFIG")
        .output()
        .expect("the worker runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let dumps: String = text
        .lines()
        .filter(|line| line.contains("ureq_proto::util"))
        .filter_map(|line| line.split_whitespace().last())
        .collect();
    (output.status.code(), format!("{text}\n{dumps}"))
}

/// Every file's text under `dir`, with its path.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            let text = std::fs::read(&path).expect("a file");
            found.push((
                path.display().to_string(),
                String::from_utf8_lossy(&text).into_owned(),
            ));
        }
    }
    found
}

#[test]
fn a_credential_quoted_back_by_the_api_never_reaches_the_log_a_dead_letter_or_check() {
    let server = quoting_server();
    let tables = [
        (
            "cloudflare",
            format!(
                "[backend.cloudflare]\napi_url = \"{}/client/v4\"\napi_token_file = \"secret\"",
                server.url
            ),
        ),
        (
            "digitalocean",
            format!(
                "[backend.digitalocean]\napi_url = \"{}/v2\"\napi_token_file = \"secret\"",
                server.url
            ),
        ),
        (
            "powerdns",
            format!(
                "[backend.powerdns]\napi_url = \"{}\"\napi_key_file = \"secret\"",
                server.url
            ),
        ),
        (
            "plesk-api",
            format!(
                "[backend.plesk-api]\napi_url = \"{}\"\napi_key_file = \"secret\"",
                server.url
            ),
        ),
    ];
    for (backend, table) in tables {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_config(dir.path(), backend, &table);
        spool_job(dir.path());
        let (status, said) = run_worker(&config, &["--run-once"]);
        assert_eq!(status, Some(3), "{backend}: dead-lettered\n{said}");
        assert!(
            !said.contains(SECRET),
            "{backend}: the log shows it:\n{said}"
        );
        let (status, said) = run_worker(&config, &["check"]);
        assert_eq!(status, Some(1), "{backend}: check fails\n{said}");
        assert!(said.contains("FAIL zone dyn.example.com"), "{said}");
        assert!(!said.contains(SECRET), "{backend}: check shows it:\n{said}");
        for (path, text) in files_under(&dir.path().join("spool"))
            .into_iter()
            .chain(files_under(&dir.path().join("state")))
        {
            assert!(
                !text.contains(SECRET),
                "{backend}: {path} holds it:\n{text}"
            );
        }
    }
    assert!(
        server
            .requests()
            .iter()
            .all(|request| format!("{:?}", request.headers).contains(SECRET)),
        "the CRLF secret file gave the credential as it is"
    );
}

#[test]
fn a_token_variable_that_is_empty_not_text_or_unsendable_is_refused_saying_so() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        dir.path(),
        "cloudflare",
        "[backend.cloudflare]\napi_url = \"http://127.0.0.1:9/client/v4\"",
    );
    let not_text = std::ffi::OsStr::from_bytes(b"tok\xff\xfe");
    for (value, expected) in [
        (
            std::ffi::OsStr::new(""),
            "environment variable DYNDNS_CLOUDFLARE_API_TOKEN is empty",
        ),
        (
            std::ffi::OsStr::new(" \r\n"),
            "environment variable DYNDNS_CLOUDFLARE_API_TOKEN is empty",
        ),
        (
            not_text,
            "the environment variable DYNDNS_CLOUDFLARE_API_TOKEN is not UTF-8 text",
        ),
        // A zero-width space copied from a web page: no request could carry the token.
        (
            std::ffi::OsStr::new("tok\u{200b}en"),
            "environment variable DYNDNS_CLOUDFLARE_API_TOKEN holds a character an HTTP header cannot carry",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_dyndns-worker"))
            .arg("--config")
            .arg(&config)
            .arg("check")
            .env("DYNDNS_CLOUDFLARE_API_TOKEN", value)
            .env_remove("DYNDNS_CONFIG")
            .output()
            .expect("the worker runs");
        // On the zone's FAIL line, or (before any zone is checked) on stderr.
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(1), "{value:?}: {said}");
        assert!(said.contains(expected), "{value:?}: {said}");
    }
}
