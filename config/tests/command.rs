//! The `[backend.command]` table: its defaults, and a placeholder typo or misplaced placeholder
//! named at its argv element with file:line:column before the worker ever runs the command.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::Duration;

use dyndns_config::BackendKind;
use util::{parse, site_config};

const COMMAND: &str = site_config!(
    "command",
    "",
    "[backend.command]\ncommand = [\"/usr/local/bin/dns-set\", \"{action}\", \"{host}\", \"{type}\", \"{value}\", \"{ttl}\"]\n"
);

#[test]
fn defaults_are_thirty_seconds_and_ex_tempfail() {
    let config = parse(COMMAND).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.worker.backend, BackendKind::Command);
    let command = config.backends.command.unwrap();
    assert_eq!(command.command[0], "/usr/local/bin/dns-set");
    assert_eq!(command.timeout, Duration::from_secs(30));
    assert_eq!(command.transient_exit_codes, vec![75]);
}

#[test]
fn a_placeholder_typo_names_its_element_line_and_column() {
    let err = parse(&COMMAND.replace("\"{host}\"", "\"{hostname}\"")).unwrap_err();
    assert_eq!(err.key, "backend.command.command[2]", "{err}");
    assert_eq!((err.line, err.column), (21, 50), "{err}");
    assert!(
        err.message.contains("unknown placeholder `{hostname}`"),
        "{err}"
    );
    assert!(err.message.contains("{host}, {zone}, {label}"), "{err}");
}

#[test]
fn values_must_stand_alone_and_the_program_has_no_placeholder() {
    let err = parse(&COMMAND.replace("\"{value}\"", "\"--ip={values}\"")).unwrap_err();
    assert_eq!(err.key, "backend.command.command[4]", "{err}");
    assert!(
        err.message.contains("must be an element of its own"),
        "{err}"
    );

    let err = parse(&COMMAND.replace("/usr/local/bin/dns-set", "/opt/{zone}/set")).unwrap_err();
    assert_eq!(err.key, "backend.command.command[0]", "{err}");
    assert!(err.message.contains("without placeholders"), "{err}");
}
