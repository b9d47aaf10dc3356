//! The notifier's test harness: the HTTP receiver (`receiver.rs`), the library on a set clock
//! (`library.rs`), a fake sendmail that records its argv and stdin, history events and the
//! worker's append.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod binary_site;

use dyndns_queue::{EventKind, Family, HistoryEvent, HistoryLog, HISTORY_VERSION};
use uuid::Uuid;

mod library;
mod receiver;
// `binary.rs` runs the real process and has no use for the library's site.
#[allow(unused_imports)]
pub use library::*;
pub use receiver::*;

/// A fake sendmail in `dir`: appends its argv (one per line) and stdin, between markers, to
/// `dir/sendmail.log`, and exits with the status in `dir/sendmail.status` (0 without the file).
pub fn fake_sendmail(dir: &Path) -> PathBuf {
    let path = dir.join("fake-sendmail");
    let script = format!(
        "#!/bin/sh\n\
         # A sendmail double: records argv and the message, exits as told.\n\
         log='{log}'\n\
         echo '--- argv' >> \"$log\"\n\
         for arg in \"$@\"; do echo \"$arg\" >> \"$log\"; done\n\
         echo '--- stdin' >> \"$log\"\n\
         cat >> \"$log\"\n\
         echo '--- end' >> \"$log\"\n\
         status=0\n\
         [ -f '{status}' ] && status=$(cat '{status}')\n\
         exit \"$status\"\n",
        log = dir.join("sendmail.log").display(),
        status = dir.join("sendmail.status").display(),
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The messages the fake sendmail got: (argv, stdin).
pub fn sendmail_log(dir: &Path) -> Vec<(Vec<String>, String)> {
    let Ok(text) = std::fs::read_to_string(dir.join("sendmail.log")) else {
        return Vec::new();
    };
    text.split("--- argv\n")
        .skip(1)
        .map(|part| {
            let (argv, rest) = part.split_once("--- stdin\n").unwrap();
            let stdin = rest.strip_suffix("--- end\n").unwrap();
            (argv.lines().map(String::from).collect(), stdin.to_owned())
        })
        .collect()
}

pub fn time(second: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_906_200 + second)
}

/// An applied change of `host` to 198.51.100.`n` at second `n`.
pub fn change(host: &str, n: u64) -> HistoryEvent {
    HistoryEvent {
        v: HISTORY_VERSION,
        time: time(n),
        event: EventKind::Applied,
        host: host.into(),
        family: Family::V4,
        old: vec!["198.51.100.254".parse().unwrap()],
        new: Some(std::net::IpAddr::from([198, 51, 100, (n % 250) as u8])),
        user: "router".into(),
        client: Some("203.0.113.9".parse().unwrap()),
        backend: Some("zonefile".into()),
        zone: Some("example.com".into()),
        job: Uuid::now_v7(),
        received_at: time(n),
        ms: Some(4),
        changed: true,
        failures: 0,
        error: None,
    }
}

pub fn failure(host: &str, n: u64, kind: EventKind) -> HistoryEvent {
    HistoryEvent {
        event: kind,
        changed: false,
        failures: 1,
        error: Some(
            "zone reload failed: rndc: connect failed: 127.0.0.1#953: connection refused".into(),
        ),
        ..change(host, n)
    }
}

/// The worker's end of the history in `state_dir`.
pub fn history(state_dir: &Path) -> HistoryLog {
    HistoryLog::new(state_dir, 10 << 20, 5)
}
