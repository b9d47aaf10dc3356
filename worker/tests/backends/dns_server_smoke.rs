//! Why this exists: before the RFC 2136 backend is tested against `dns_server`, a real client (BIND's
//! `nsupdate`) proves each server takes a TSIG-signed update, answers it back, and refuses a wrong key.

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

fn applies_an_update_signed_with_its_key(kind: Kind) {
    let Some(server) = start(kind) else { return };
    let host = format!("home.{}", server.zone());
    assert!(
        server.query(&host, "A").is_empty(),
        "{host} exists before the update"
    );
    let output = nsupdate(
        &server,
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

fn refuses_an_update_signed_with(kind: Kind, key_name: &str, secret: &str, tsig_error: &str) {
    let Some(server) = start(kind) else { return };
    let host = format!("home.{}", server.zone());
    let output = nsupdate(
        &server,
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

#[test]
fn named_applies_an_update_signed_with_its_tsig_key_and_answers_it() {
    applies_an_update_signed_with_its_key(Kind::Bind);
}

#[test]
fn knotd_applies_an_update_signed_with_its_tsig_key_and_answers_it() {
    applies_an_update_signed_with_its_key(Kind::Knot);
}

#[test]
fn named_refuses_an_update_signed_with_the_wrong_secret() {
    refuses_an_update_signed_with(Kind::Bind, KEY_NAME, WRONG_SECRET, "BADSIG");
}

#[test]
fn knotd_refuses_an_update_signed_with_the_wrong_secret() {
    refuses_an_update_signed_with(Kind::Knot, KEY_NAME, WRONG_SECRET, "BADSIG");
}

#[test]
fn named_refuses_an_update_signed_with_an_unknown_key_name() {
    refuses_an_update_signed_with(Kind::Bind, "other-key", SECRET, "BADKEY");
}

#[test]
fn knotd_refuses_an_update_signed_with_an_unknown_key_name() {
    refuses_an_update_signed_with(Kind::Knot, "other-key", SECRET, "BADKEY");
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

fn runs_unprivileged_and_is_gone_after_drop(kind: Kind) {
    let Some(server) = start(kind) else { return };
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

#[test]
fn named_runs_as_nobody_under_root_and_dies_with_its_harness() {
    runs_unprivileged_and_is_gone_after_drop(Kind::Bind);
}

#[test]
fn knotd_runs_as_nobody_under_root_and_dies_with_its_harness() {
    runs_unprivileged_and_is_gone_after_drop(Kind::Knot);
}

/// The key may change addresses only: a TXT update is refused, as each server reports it.
fn refuses_a_record_type_outside_the_grant(kind: Kind, rcode: &str) {
    let Some(server) = start(kind) else { return };
    let host = format!("home.{}", server.zone());
    let output = nsupdate(
        &server,
        server.key_name(),
        server.secret(),
        &[&format!("update add {host} 60 TXT \"not an address\"")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{kind:?} accepted a TXT update");
    assert!(
        stderr.contains(&format!("update failed: {rcode}")),
        "{kind:?} refused the TXT update but not with {rcode}: {stderr}"
    );
    assert!(
        server.query(&host, "TXT").is_empty(),
        "{kind:?} refused yet {host} has TXT"
    );
}

#[test]
fn named_refuses_a_record_type_its_update_policy_does_not_grant() {
    refuses_a_record_type_outside_the_grant(Kind::Bind, "REFUSED");
}

#[test]
fn knotd_refuses_a_record_type_its_acl_does_not_grant() {
    // Knot 3.2 does not say REFUSED: an ACL denial reads as a key error, so a backend cannot tell
    // "wrong key" from "key lacks permission" on Knot; both are permanent.
    refuses_a_record_type_outside_the_grant(Kind::Knot, "NOTAUTH(BADKEY)");
}
