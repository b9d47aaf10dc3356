//! check-config on a `backend = "command"` config: the program must be there, executable and
//! changeable by root only (the root worker runs it), and a placeholder typo is named at its element.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use util::{frontend_binary, Site};

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

/// The site's config on the command backend running `program` (the site's fake Plesk is a real
/// executable file to point at).
fn use_command(site: &Site, program: &str, placeholder: &str) {
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace("backend = \"plesk\"", "backend = \"command\"")
        + &format!(
            "\n[backend.command]\ncommand = [\"{program}\", \"{{action}}\", \"{placeholder}\", \"{{value}}\"]\n"
        );
    std::fs::write(site.config_path(), config).unwrap();
}

#[test]
fn check_config_finds_the_command_backends_program_or_names_what_is_wrong() {
    let site = Site::new();
    use_command(&site, "plesk/plesk", "{host}");
    let (code, out) = check_config(&site);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("backend command: "), "{out}");
    assert!(!out.contains("backend.command.command"), "{out}");

    let site = Site::new();
    use_command(&site, "no-such-dns-set-dyndns", "{host}");
    let (code, out) = check_config(&site);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("error: backend.command.command: `no-such-dns-set-dyndns` is not found in the worker's PATH"),
        "{out}"
    );

    let site = Site::new();
    use_command(&site, "plesk/plesk", "{host}");
    let program = site.path().join("plesk/plesk");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, out) = check_config(&site);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: backend.command.command: {}: every user can change it",
            program.display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_names_a_placeholder_typo_at_its_element() {
    let site = Site::new();
    use_command(&site, "plesk/plesk", "{hostname}");
    let (code, out) = check_config(&site);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("key `backend.command.command[2]`: unknown placeholder `{hostname}`"),
        "{out}"
    );
}
