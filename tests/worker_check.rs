//! `dyndns-worker check`: a line per zone saying whether its backend takes the credentials and
//! serves the zone, exit 1 when one does not, and nothing changed.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Output;

use util::Site;

fn check(site: &Site) -> Output {
    site.worker_command().arg("check").output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Adds a zone on the powerdns backend, its API at `api_url`.
fn add_powerdns_zone(site: &Site, api_url: &str) {
    let key = site.path().join("pdns.key");
    std::fs::write(&key, "s3cr3t-api-key\n").unwrap();
    let mut config = std::fs::read_to_string(site.config_path()).unwrap();
    config.push_str(&format!(
        "\n[[zone]]\nname = \"pdns.example.org\"\nbackend = \"powerdns\"\n\n\
         [backend.powerdns]\napi_url = \"{api_url}\"\napi_key_file = \"{}\"\ntimeout_secs = 2\n",
        key.display()
    ));
    std::fs::write(site.config_path(), config).unwrap();
}

#[test]
fn worker_check_says_per_zone_whether_its_backend_serves_it_and_changes_nothing() {
    let site = Site::new();
    let output = check(&site);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(
        said.contains("ok   zone dyn.example.com on plesk (backend zone example.com): "),
        "{said}"
    );
    // Read-only: one listing, no add or delete, no spool lock or state written.
    assert_eq!(site.plesk_calls(), ["--info example.com"]);
    assert!(std::fs::read_dir(site.path().join("state"))
        .unwrap()
        .next()
        .is_none());

    // A second zone on a backend that does not answer: its own line fails, the first stays ok.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    add_powerdns_zone(&site, &url);
    let output = check(&site);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("ok   zone dyn.example.com on plesk"),
        "{said}"
    );
    assert!(
        said.contains("FAIL zone pdns.example.org on powerdns (backend zone pdns.example.org): "),
        "{said}"
    );
    assert!(
        !said.contains("s3cr3t-api-key"),
        "the key is never shown: {said}"
    );
}

#[test]
fn worker_check_names_a_missing_secret_file_and_fails() {
    let site = Site::new();
    add_powerdns_zone(&site, "http://127.0.0.1:9");
    std::fs::remove_file(site.path().join("pdns.key")).unwrap();
    let output = check(&site);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("[backend.powerdns] api_key_file") && said.contains("pdns.key"),
        "{said}"
    );
}

#[test]
fn config_before_or_after_a_worker_command_is_accepted() {
    let site = Site::new();
    let config = site.config_path();
    let worker = util::worker_binary();
    for args in [
        vec!["--config".as_ref(), config.as_os_str(), "check".as_ref()],
        vec!["check".as_ref(), "--config".as_ref(), config.as_os_str()],
        vec![
            "--config".as_ref(),
            config.as_os_str(),
            "run".as_ref(),
            "--run-once".as_ref(),
        ],
    ] {
        let output = std::process::Command::new(&worker)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output));
    }
    let output = std::process::Command::new(&worker)
        .args(["--run-once", "run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}
