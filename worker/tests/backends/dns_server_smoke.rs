//! Why this exists: before the RFC 2136 backend is tested against `dns_server`, a real client (BIND's
//! `nsupdate`) proves each server takes a TSIG-signed update, answers it back, and refuses a wrong key.
//! One server per kind goes through every check in turn (each on a host of its own); the last one
//! drops it and proves it gone.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::dns_server::{available, DnsServer, Kind, KEY_NAME, NSUPDATE, SECRET};

/// A valid hmac-sha256 secret that is not the server's.
const WRONG_SECRET: &str = "q8vO1j8oT6QO0n0d2m2kF0b3Yy6W6vYbQmX0bC8m5xI=";

/// Runs nsupdate signed with `key_name:secret`, the update script on stdin (argv only, no shell).
fn nsupdate(server: &DnsServer, key_name: &str, secret: &str, updates: &[&str]) -> Output {
    let algorithm = server.algorithm();
    let address = server.address();
    let mut script = format!(
        "server {} {}\nzone {}\n",
        address.ip(),
        address.port(),
        server.zone()
    );
    for update in updates {
        script.push_str(update);
        script.push('\n');
    }
    script.push_str("send\n");
    let mut child = Command::new(NSUPDATE)
        .arg("-y")
        .arg(format!("{algorithm}:{key_name}:{secret}"))
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nsupdate");
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(script.as_bytes())
        .expect("write nsupdate's script");
    child.wait_with_output().expect("wait for nsupdate")
}

fn start(kind: Kind) -> Option<DnsServer> {
    if !available(NSUPDATE, "bind9-dnsutils") {
        return None;
    }
    DnsServer::start(kind)
}

fn applies_an_update_signed_with_its_key(server: &DnsServer, kind: Kind) {
    let host = format!("home.{}", server.zone());
    assert!(
        server.query(&host, "A").is_empty(),
        "{host} exists before the update"
    );
    let output = nsupdate(
        server,
        server.key_name(),
        server.secret(),
        &[
            &format!("update delete {host} A"),
            &format!("update add {host} 60 A 203.0.113.7"),
        ],
    );
    assert!(
        output.status.success(),
        "{kind:?} refused a correctly signed update: {}\n--- server log ---\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
    assert_eq!(server.query(&host, "A"), ["203.0.113.7"]);
}

fn refuses_an_update_signed_with(
    server: &DnsServer,
    kind: Kind,
    key_name: &str,
    secret: &str,
    tsig_error: &str,
) {
    let host = format!("refused.{}", server.zone());
    let output = nsupdate(
        server,
        key_name,
        secret,
        &[&format!("update add {host} 60 A 203.0.113.7")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{kind:?} accepted an update signed with {key_name}:{secret}"
    );
    assert!(
        stderr.contains(&format!("NOTAUTH({tsig_error})")),
        "{kind:?} refused the update but not with NOTAUTH({tsig_error}): {stderr}"
    );
    assert!(
        server.query(&host, "A").is_empty(),
        "{kind:?} refused the update yet {host} resolves"
    );
}

/// The real user id of `pid` from /proc (the first field of its `Uid:` line).
fn real_uid(pid: u32) -> u32 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read the server's status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .expect("/proc/PID/status has a Uid: line")
}

fn runs_unprivileged_and_is_gone_after_drop(server: DnsServer, kind: Kind) {
    let pid = server.pid();
    let uid = real_uid(pid);
    if nix::unistd::Uid::effective().is_root() {
        let nobody = nix::unistd::User::from_name("nobody")
            .expect("read the user database")
            .expect("user nobody exists on Debian");
        assert_eq!(
            uid,
            nobody.uid.as_raw(),
            "{kind:?} runs as uid {uid}, not nobody"
        );
    }
    drop(server);
    // Reaped by the drop, so its /proc entry is gone (not even a zombie is left).
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "{kind:?} (pid {pid}) outlived its harness"
    );
}

/// The key may change addresses and TXT only: an MX update is refused, as each server reports it.
fn refuses_a_record_type_outside_the_grant(server: &DnsServer, kind: Kind, rcode: &str) {
    let host = format!("mail.{}", server.zone());
    let output = nsupdate(
        server,
        server.key_name(),
        server.secret(),
        &[&format!(
            "update add {host} 60 MX 10 mail.{}",
            server.zone()
        )],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{kind:?} accepted an MX update");
    assert!(
        stderr.contains(&format!("update failed: {rcode}")),
        "{kind:?} refused the MX update but not with {rcode}: {stderr}"
    );
    assert!(
        server.query(&host, "MX").is_empty(),
        "{kind:?} refused yet {host} has MX"
    );
}

/// Every check on one server of `kind`, the drop last.
fn every_check(kind: Kind, refused_type_rcode: &str) {
    let Some(server) = start(kind) else { return };
    applies_an_update_signed_with_its_key(&server, kind);
    refuses_an_update_signed_with(&server, kind, KEY_NAME, WRONG_SECRET, "BADSIG");
    refuses_an_update_signed_with(&server, kind, "other-key", SECRET, "BADKEY");
    refuses_a_record_type_outside_the_grant(&server, kind, refused_type_rcode);
    runs_unprivileged_and_is_gone_after_drop(server, kind);
}

#[test]
fn named_takes_a_signed_update_refuses_wrong_keys_and_types_runs_as_nobody_and_dies() {
    every_check(Kind::Bind, "REFUSED");
}

#[test]
fn knotd_takes_a_signed_update_refuses_wrong_keys_and_types_runs_as_nobody_and_dies() {
    // Knot 3.2 does not say REFUSED: an ACL denial reads as a key error, so a backend cannot tell
    // "wrong key" from "key lacks permission" on Knot; both are permanent.
    every_check(Kind::Knot, "NOTAUTH(BADKEY)");
}
