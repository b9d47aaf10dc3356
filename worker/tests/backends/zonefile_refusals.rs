//! Why this exists: what the zone-file backend refuses, and how. A file dyndns cannot edit safely is a
//! permanent error naming file:line (so the job is dead-lettered with a message an operator can act
//! on), BIND's `named-checkzone` refuses the same syntax errors, and nothing at the path — a FIFO, a
//! link — can make the worker hang or write through it. Each apply runs under a watchdog.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use dyndns_worker::backend::{Applied, BackendError, ZoneFile};
use dyndns_worker::reconcile::Reconcile;

use crate::named;
use crate::util::change;
use crate::zonefile::Setup;

const ZONE: &str = "example.com";

/// Applies a change to `home` on its own thread and runtime; a hang fails the test instead of
/// stalling it (a blocked `open` of a FIFO would never return to an async timeout).
fn apply_within_five_seconds(backend: ZoneFile) -> Result<Applied, BackendError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _ = tx.send(runtime.block_on(backend.apply(&change(ZONE, "home", "192.0.2.7"))));
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the backend returned within five seconds")
}

fn permanent_message(result: Result<Applied, BackendError>) -> String {
    let err = result.expect_err("refused");
    assert!(!err.is_transient(), "{err:?}");
    err.to_string()
}

const SOA: &str = "$TTL 60\n@ IN SOA ns. hm. ( 1 2 3 4 5 )\n@ NS ns.\n";

#[test]
fn content_errors_are_permanent_name_file_and_line_and_bind_agrees() {
    // (what, text after the SOA lines, line of the error, words the message must hold)
    let cases: &[(&str, &str, usize, &[&str])] = &[
        (
            "unclosed parenthesis",
            "home IN A 192.0.2.1\ntxt TXT ( \"a\"\n \"b\"\nwww A 192.0.2.2\n",
            5,
            &["`(` opened here is never closed"],
        ),
        (
            "stray closing parenthesis",
            "txt TXT \"a\" )\n",
            4,
            &["`)` without a `(`"],
        ),
        (
            "unterminated quote",
            "txt TXT \"no end ; in sight\n",
            4,
            &["quoted string", "not closed"],
        ),
        (
            "A value that is not an address",
            "home A 192.0.2.300\n",
            4,
            &["A value \"192.0.2.300\""],
        ),
        (
            "unknown directive",
            "$INCLUDES db.x\n",
            4,
            &["unknown directive \"$INCLUDES\""],
        ),
    ];
    for (what, tail, line, words) in cases {
        let setup = Setup::new();
        let path = setup.path(ZONE);
        let text = format!("{SOA}{tail}");
        std::fs::write(&path, &text).expect("seed zone");
        named::assert_rejects(ZONE, &path);
        let message = permanent_message(apply_within_five_seconds(setup.backend()));
        let located = format!("zone file {}:{line}: ", path.display());
        assert!(message.starts_with(&located), "{what}: {message}");
        for word in *words {
            assert!(message.contains(word), "{what}: {message}");
        }
        assert_eq!(setup.text(ZONE), text, "{what}: the file was changed");
    }
}

#[test]
fn include_is_refused_naming_file_line_and_the_included_file() {
    let setup = Setup::new();
    let path = setup.path(ZONE);
    let text = format!("{SOA}$INCLUDE /etc/bind/db.more-hosts\n");
    std::fs::write(&path, &text).expect("seed zone");
    let message = permanent_message(apply_within_five_seconds(setup.backend()));
    let expected = format!(
        "zone file {}:4: $INCLUDE \"/etc/bind/db.more-hosts\" is not supported",
        path.display()
    );
    assert!(message.starts_with(&expected), "{message}");
    assert_eq!(setup.text(ZONE), text);
}

#[test]
fn generate_of_address_records_is_refused_though_bind_accepts_it() {
    let setup = Setup::new();
    let path = setup.path(ZONE);
    std::fs::write(&path, format!("{SOA}$GENERATE 1-20 host$ A 192.0.2.$\n")).expect("seed zone");
    named::assert_accepts(ZONE, &path);
    let message = permanent_message(apply_within_five_seconds(setup.backend()));
    assert!(
        message.contains(&format!("{}:4: $GENERATE makes A records", path.display())),
        "{message}"
    );
}

#[test]
fn fifo_at_the_zone_path_is_permanent_and_never_hangs_the_worker() {
    let setup = Setup::new();
    let path = setup.path(ZONE);
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let message = permanent_message(apply_within_five_seconds(setup.backend()));
    assert_eq!(
        message,
        format!("zone file {} is a FIFO, not a regular file", path.display())
    );
    let still = std::fs::symlink_metadata(&path).expect("lstat");
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&still.file_type()),
        "the FIFO was replaced"
    );
}

#[test]
fn symlink_at_the_zone_path_is_permanent_and_its_target_untouched() {
    for dangling in [false, true] {
        let setup = Setup::new();
        let target = setup.dir.path().join("real.zone");
        if !dangling {
            std::fs::write(&target, SOA).expect("seed target");
        }
        let path = setup.path(ZONE);
        std::os::unix::fs::symlink(&target, &path).expect("symlink");
        let message = permanent_message(apply_within_five_seconds(setup.backend()));
        assert!(message.contains("is a symbolic link"), "{message}");
        assert!(std::fs::symlink_metadata(&path)
            .expect("lstat")
            .file_type()
            .is_symlink());
        if dangling {
            assert!(
                !target.exists(),
                "a file was created through a dangling link"
            );
        } else {
            assert_eq!(std::fs::read_to_string(&target).expect("target"), SOA);
        }
    }
}

#[test]
fn directory_at_the_zone_path_is_permanent() {
    let setup = Setup::new();
    let path = setup.path(ZONE);
    std::fs::create_dir(&path).expect("mkdir");
    let message = permanent_message(apply_within_five_seconds(setup.backend()));
    assert!(
        message.ends_with("is a directory, not a regular file"),
        "{message}"
    );
    assert!(Path::new(&path).is_dir());
}

/// An address record beside a CNAME is not valid DNS: BIND would refuse the whole zone at its
/// next load, taking every other name down with it.
#[test]
fn a_cname_at_the_host_is_refused_instead_of_breaking_the_zone() {
    for owner in ["home", "HOME.example.com.", "hom\\101"] {
        let setup = Setup::new();
        let path = setup.path(ZONE);
        let text = format!("{SOA}www A 192.0.2.80\n{owner} 60 IN CNAME www\n");
        std::fs::write(&path, &text).expect("seed zone");
        named::assert_accepts(ZONE, &path);
        let message = permanent_message(apply_within_five_seconds(setup.backend()));
        assert!(
            message.starts_with(&format!("zone file {}:5: ", path.display())),
            "{owner}: {message}"
        );
        assert!(message.contains("CNAME"), "{owner}: {message}");
        assert_eq!(setup.text(ZONE), text, "{owner}: the file was changed");
    }
}
