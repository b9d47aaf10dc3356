//! Every curl and wget command README shows for updating, run as written against a real
//! `dyndns serve`: only the server (`https://dyn.example.com` → the test's loopback address) and the
//! password (`your password` → the test user's) are replaced, so a README line that stopped
//! working fails here.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Command;

use util::{Site, PASSWORD};

/// The update commands in README: inline code spans and `sh` blocks that run curl or wget against
/// `dyn.example.com` (a block's continued lines joined).
fn readme_commands() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut block = String::new();
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            if in_sh {
                commands.extend(
                    block
                        .replace("\\\n", " ")
                        .lines()
                        .filter(|command| is_update_command(command))
                        .map(str::to_owned),
                );
                block.clear();
            }
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if in_sh {
            block.push_str(line);
            block.push('\n');
            continue;
        }
        for (index, span) in line.split('`').enumerate() {
            // Odd pieces are inside backticks.
            if index % 2 == 1 && is_update_command(span) {
                commands.push(span.to_owned());
            }
        }
    }
    commands
}

fn is_update_command(text: &str) -> bool {
    let text = text.trim();
    (text.starts_with("curl ") || text.starts_with("wget ")) && text.contains("dyn.example.com/")
}

#[test]
fn every_curl_and_wget_update_line_in_readme_works_as_written() {
    let commands = readme_commands();
    for path in ["/nic/update", "/api/v1/update"] {
        assert!(
            commands.iter().any(|command| command.contains(path)),
            "README's curl line for {path} was not found: {commands:?}"
        );
    }
    let site = Site::new();
    let frontend = site.start_frontend();
    for command in &commands {
        let local = command
            .replace(
                "https://dyn.example.com",
                &format!("http://{}", frontend.address),
            )
            .replace("your password", PASSWORD);
        assert_ne!(
            &local, command,
            "nothing to point at the test server: {command}"
        );
        let output = Command::new("/bin/sh")
            .arg("-c")
            .arg(&local)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{command}\n{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("good") || stdout.contains("nochg"),
            "{command}: {stdout}"
        );
    }
}
