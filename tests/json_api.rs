//! The JSON API for scripts (`POST /api/v1/update`): Basic auth or a bearer token, a JSON body,
//! a JSON answer per host with the dyndns2 result words, and a JSON error for anything malformed.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use base64::Engine;
use serde_json::{json, Value};

use util::{http_post, Site, HOST, PASSWORD, USER};

fn basic() -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    format!("Basic {token}")
}

fn post(site_address: std::net::SocketAddr, auth: &str, body: &str) -> (u16, Value) {
    let reply = http_post(
        site_address,
        "/api/v1/update",
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{}",
        reply.body
    );
    (reply.status, serde_json::from_str(&reply.body).unwrap())
}

#[test]
fn a_script_updates_hosts_with_basic_auth_and_reads_one_result_each() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let body = json!({"hostnames": [HOST, "a.lab.dyn.example.com", "other.dyn.example.com"],
                      "ipv4": "203.0.113.7", "ipv6": "2001:db8::7"});
    let (status, answer) = post(frontend.address, &basic(), &body.to_string());
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({"results": [
            {"hostname": HOST, "result": "good", "ipv4": "203.0.113.7", "ipv6": "2001:db8::7"},
            {"hostname": "a.lab.dyn.example.com", "result": "good", "ipv4": "203.0.113.7", "ipv6": "2001:db8::7"},
            {"hostname": "other.dyn.example.com", "result": "nohost", "ipv4": null, "ipv6": null},
        ]})
    );
    assert_eq!(site.files_in("new").len(), 2);
    let (_, answer) = post(
        frontend.address,
        &basic(),
        &json!({"hostname": HOST, "ipv4": "203.0.113.7"}).to_string(),
    );
    assert_eq!(answer["results"][0]["result"], "nochg");
    assert_eq!(site.files_in("new").len(), 2, "nochg spools nothing");
}

#[test]
fn a_bearer_token_works_and_bad_credentials_are_a_401() {
    let site = Site::new();
    let output = std::process::Command::new(util::frontend_binary())
        .args(["hash-password", "--token"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let (token, line) = text.split_once('\n').unwrap();
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace(
            "name = \"router\"\n",
            &format!("name = \"router\"\ntoken_hashes = [\"{}\"]\n", line.trim()),
        );
    std::fs::write(site.config_path(), config).unwrap();
    let frontend = site.start_frontend();
    let body = json!({"hostname": HOST, "ipv4": "203.0.113.9"}).to_string();
    let (status, answer) = post(frontend.address, &format!("Bearer {token}"), &body);
    assert_eq!(
        (status, &answer["results"][0]["result"]),
        (200, &json!("good"))
    );
    for auth in [
        "Bearer not-a-token",
        &format!("Bearer {}x", &token[1..]),
        "Basic cm91dGVyOndyb25n",
    ] {
        let (status, answer) = post(frontend.address, auth, &body);
        assert_eq!(
            (status, answer),
            (401, json!({"error": "badauth"})),
            "{auth}"
        );
    }
    assert_eq!(site.files_in("new").len(), 1);
    assert!(!site.frontend_log().contains(token.trim()));
}

#[test]
fn a_malformed_body_is_a_400_with_a_json_error_and_never_a_job() {
    let site = Site::new();
    let frontend = site.start_frontend();
    for body in [
        "not json",
        r#"{"hostname": "h.dyn.example.com", "ipv4": "203.0.113.1", "extra": 1}"#,
        r#"{"hostname": "h.dyn.example.com", "hostnames": ["h.dyn.example.com"]}"#,
        r#"{"hostname": "h.dyn.example.com", "ipv4": "2001:db8::1"}"#,
        r#"{"hostname": "h.dyn.example.com", "ipv6": "203.0.113.1"}"#,
        r#"{"hostname": 7}"#,
    ] {
        let (status, answer) = post(frontend.address, &basic(), body);
        assert_eq!(status, 400, "{body}");
        assert!(answer["error"].is_string(), "{body}: {answer}");
    }
    let many: Vec<String> = (0..21).map(|n| format!("h{n}.dyn.example.com")).collect();
    let (status, _) = post(
        frontend.address,
        &basic(),
        &json!({"hostnames": many}).to_string(),
    );
    assert_eq!(status, 400);
    let huge = format!(r#"{{"hostname": "{}"}}"#, "a".repeat(70_000));
    let (status, answer) = post(frontend.address, &basic(), &huge);
    assert_eq!(status, 413, "{answer}");
    assert!(site.files_in("new").is_empty());
}
