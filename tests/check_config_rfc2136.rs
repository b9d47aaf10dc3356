//! check-config on an rfc2136 config: the TSIG key file must exist and be private, and the summary
//! names it without ever showing the secret.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use util::{frontend_binary, Site};

const SECRET: &str = "c2VjcmV0LXNoYXJlZC13aXRoLXRoZS1kbnMtc2VydmVy";

fn check_config(site: &Site) -> (Option<i32>, String) {
    let output = Command::new(frontend_binary())
        .args(["check-config", "--user", "no-such-user-dyndns", "--config"])
        .arg(site.config_path())
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.code(), text)
}

#[test]
fn check_config_finds_a_tsig_secret_file_others_can_read_and_never_prints_the_secret() {
    let site = Site::new();
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace("backend = \"plesk\"", "backend = \"rfc2136\"")
        + "\n[backend.rfc2136]\nserver = \"127.0.0.1:53\"\ntsig_key_name = \"dyndns\"\ntsig_algorithm = \"hmac-sha256\"\ntsig_secret_file = \"tsig.key\"\n";
    std::fs::write(site.config_path(), config).unwrap();

    let (_, out) = check_config(&site);
    assert!(
        out.contains("backend.rfc2136.tsig_secret_file") && out.contains("does not exist"),
        "{out}"
    );

    let key = site.path().join("tsig.key");
    std::fs::write(&key, SECRET).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, out) = check_config(&site);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("others may read the secret"), "{out}");
    assert!(
        out.contains("backend rfc2136: server 127.0.0.1:53"),
        "{out}"
    );
    assert!(!out.contains(SECRET), "{out}");

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (_, out) = check_config(&site);
    assert!(!out.contains("tsig_secret_file"), "{out}");
    assert!(!out.contains(SECRET), "{out}");
}
