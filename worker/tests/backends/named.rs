//! Why this exists: BIND's own `named-checkzone` is the judge of every zone file the backend reads or
//! writes, so these helpers run it: accept, reject, and dump a zone's records in BIND's canonical form
//! for comparing two files by meaning rather than by bytes.

use std::path::Path;
use std::process::{Command, Output};

const NAMED_CHECKZONE: &str = "/usr/bin/named-checkzone";

/// Runs named-checkzone with `args`, or `None` when it is missing outside CI. Missing binary: a failure
/// under `CI=true`, a loud warning otherwise — never a silent pass.
fn run(args: &[&str], path: &Path) -> Option<Output> {
    if !Path::new(NAMED_CHECKZONE).exists() {
        let why = format!(
            "{NAMED_CHECKZONE} is missing (Debian package bind9-utils): zone file {} was NOT checked",
            path.display()
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{why}");
        }
        eprintln!("\n!!!!!!!! WARNING: {why} !!!!!!!!\n");
        return None;
    }
    Some(
        Command::new(NAMED_CHECKZONE)
            .args(args)
            .arg(path)
            .output()
            .expect("run named-checkzone"),
    )
}

fn describe(output: &Output, path: &Path) -> String {
    format!(
        "{}{}\n--- {} ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        path.display(),
        String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default())
    )
}

pub fn assert_accepts(zone: &str, path: &Path) {
    if let Some(output) = run(&[zone], path) {
        assert!(
            output.status.success(),
            "named-checkzone rejected {}:\n{}",
            path.display(),
            describe(&output, path)
        );
    }
}

pub fn assert_rejects(zone: &str, path: &Path) {
    if let Some(output) = run(&[zone], path) {
        assert!(
            !output.status.success(),
            "named-checkzone accepted {}, which dyndns refuses as invalid:\n{}",
            path.display(),
            describe(&output, path)
        );
    }
}

/// The zone's records as BIND reads them, one per line in its canonical form (absolute owner, TTL,
/// class, type, data; whitespace collapsed), sorted; `None` when named-checkzone is missing.
pub fn records(zone: &str, path: &Path) -> Option<Vec<String>> {
    let output = run(&["-D", "-o", "-", zone], path)?;
    assert!(output.status.success(), "{}", describe(&output, path));
    let mut records: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with(';') && !line.starts_with("zone "))
        .filter(|line| *line != "OK")
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    records.sort();
    Some(records)
}
