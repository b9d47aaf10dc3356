//! Token URLs (`GET /<token>`, `GET /u/<token>`), as the token-URL server we replace takes them:
//! a token made by `dyndns hash-password --token`, its hash in the config, the router's URL
//! carrying only the token and perhaps the address.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Command;
use std::time::Duration;

use util::{eventually, frontend_binary, Site, HOST};

/// `dyndns hash-password --token`: the token and its `token_hashes` entry.
fn new_token() -> (String, String) {
    let output = Command::new(frontend_binary())
        .args(["hash-password", "--token"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let token = lines.next().unwrap().to_owned();
    let line = lines.next().unwrap().to_owned();
    assert!(token.len() >= 43 && line.starts_with("sha256:"), "{text}");
    (token, line)
}

/// A site where `other` (one host) and `router` (several) each have a token.
fn site_with_tokens() -> (Site, String, String) {
    let site = Site::new();
    let (other, other_line) = new_token();
    let (router, router_line) = new_token();
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace(
            "name = \"other\"\n",
            &format!("name = \"other\"\ntoken_hashes = [\"{other_line}\"]\n"),
        )
        .replace(
            "name = \"router\"\n",
            &format!("name = \"router\"\ntoken_hashes = [\"{router_line}\"]\n"),
        );
    std::fs::write(site.config_path(), config).unwrap();
    (site, other, router)
}

#[test]
fn a_token_url_updates_its_users_host_and_the_token_never_reaches_the_log() {
    let (site, other, router) = site_with_tokens();
    let frontend = site.start_frontend();
    // `other` has one host: the token alone names it.
    let reply = frontend.get(&format!("/{other}?ip=203.0.113.7"), None);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "good 203.0.113.7\n")
    );
    let reply = frontend.get(&format!("/u/{other}?ip_address=203.0.113.7"), None);
    assert_eq!(reply.body, "nochg 203.0.113.7\n");
    // `router` has several: it names the host, else `notfqdn`.
    let reply = frontend.get(&format!("/{router}?ip=203.0.113.8"), None);
    assert_eq!(reply.body, "notfqdn\n");
    let reply = frontend.get(&format!("/{router}?hostname={HOST}&ip=203.0.113.8"), None);
    assert_eq!(reply.body, "good 203.0.113.8\n");
    // A token may not reach another user's host.
    let reply = frontend.get(&format!("/{other}?hostname={HOST}&ip=203.0.113.9"), None);
    assert_eq!(reply.body, "nohost\n");
    assert_eq!(site.files_in("new").len(), 2);

    // Request log lines reach the file in batches: wait for the last one.
    let written = eventually(Duration::from_secs(5), || {
        site.frontend_log().contains("result=\"nohost\"")
    });
    let log = site.frontend_log();
    assert!(written, "{log}");
    assert!(
        log.contains("user=\"other\""),
        "the log names the token's user: {log}"
    );
    assert!(!log.contains(&other) && !log.contains(&router), "{log}");
}

#[test]
fn a_wrong_token_is_badauth_and_paths_that_are_no_token_are_not_found() {
    let (site, other, _) = site_with_tokens();
    let frontend = site.start_frontend();
    let wrong = format!("{}x", &other[..other.len() - 1]);
    let reply = frontend.get(&format!("/{wrong}?ip=203.0.113.7"), None);
    assert_eq!((reply.status, reply.body.as_str()), (401, "badauth\n"));
    for path in [
        "/short",
        "/u/short",
        "/favicon.ico",
        "/robots.txt",
        "/with%2Fslash1234567890123",
    ] {
        let reply = frontend.get(path, None);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (404, "not found\n"),
            "{path}"
        );
    }
    assert_eq!(frontend.get("/health", None).status, 200);
    assert!(site.files_in("new").is_empty());
}

#[test]
fn a_bad_token_hash_in_the_config_names_its_key() {
    let site = Site::new();
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace(
            "name = \"other\"\n",
            "name = \"other\"\ntoken_hashes = [\"sha256:1234\"]\n",
        );
    std::fs::write(site.config_path(), config).unwrap();
    let output = Command::new(frontend_binary())
        .args(["check-config", "--user", "dyndns-test-absent", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("user[1].token_hashes[0]"), "{text}");
    assert!(text.contains("dyndns hash-password --token"), "{text}");
}
