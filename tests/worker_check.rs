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
    // The zone on the backend that cannot be built says why on its own line; the other zone is
    // still checked (its line once went missing with the whole check).
    let line = said
        .lines()
        .find(|line| line.starts_with("FAIL zone pdns.example.org on powerdns"))
        .unwrap_or_else(|| panic!("no line for the powerdns zone: {said}"));
    assert!(
        line.contains("[backend.powerdns] api_key_file") && line.contains("pdns.key"),
        "{said}"
    );
    assert!(
        said.contains("ok   zone dyn.example.com on plesk"),
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

#[test]
fn a_zone_the_worker_would_refuse_to_start_with_fails_its_own_line() {
    let site = Site::new();
    let mut config = std::fs::read_to_string(site.config_path()).unwrap();
    config.push_str(
        "\n[[zone]]\nname = \"cmd.example.org\"\nbackend = \"command\"\ncreate_missing = false\n\n\
         [backend.command]\ncommand = [\"/bin/true\", \"{host}\"]\n",
    );
    std::fs::write(site.config_path(), config).unwrap();
    let output = check(&site);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("FAIL zone cmd.example.org on command")
            && said.contains("create_missing = false needs a backend that can read"),
        "{said}"
    );
    assert!(
        said.contains("ok   zone dyn.example.com on plesk"),
        "{said}"
    );
}

#[test]
fn zones_sharing_a_backend_zone_are_asked_about_it_once_and_each_get_a_line() {
    let site = Site::new();
    let mut config = std::fs::read_to_string(site.config_path()).unwrap();
    config.push_str("\n[[zone]]\nname = \"lab.example.com\"\nbackend_zone = \"example.com\"\n");
    std::fs::write(site.config_path(), config).unwrap();
    let output = check(&site);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    for zone in ["dyn.example.com", "lab.example.com"] {
        assert!(
            said.contains(&format!(
                "ok   zone {zone} on plesk (backend zone example.com): "
            )),
            "{said}"
        );
    }
    assert_eq!(site.plesk_calls(), ["--info example.com"]);
}
