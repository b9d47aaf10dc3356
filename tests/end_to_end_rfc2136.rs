//! The whole path on the rfc2136 backend: a client's update (and delete) through the frontend, the
//! spool and `dyndns-worker --run-once` (config, key file, backend) lands in a real BIND `named`.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The harness the worker's backend tests use, shared by path so both start the same servers.
#[allow(dead_code)]
#[path = "../worker/tests/backends/dns_server.rs"]
mod dns_server;
mod util;

use dns_server::{DnsServer, Kind};
use util::Site;

/// A site whose worker writes to `server` over RFC 2136, with the server's TSIG key.
fn rfc2136_site(server: &DnsServer) -> Site {
    let site = Site::new();
    site.switch_to_rfc2136(
        server.address(),
        server.zone(),
        (server.key_name(), server.algorithm(), server.secret()),
    );
    site
}

#[test]
fn update_through_frontend_and_worker_lands_in_named_over_rfc2136() {
    let Some(server) = DnsServer::start(Kind::Bind) else {
        return;
    };
    let site = rfc2136_site(&server);
    let host = format!("home.dyn.{}", server.zone());
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!("hostname={host}&myip=203.0.113.7,2001:db8::7"));
    assert_eq!(reply.body, "good 203.0.113.7,2001:db8::7\n");
    site.run_worker_once();
    assert_eq!(server.query(&host, "A"), ["203.0.113.7"]);
    assert_eq!(server.query(&host, "AAAA"), ["2001:db8::7"]);
    assert!(site.files_in("new").is_empty() && site.files_in("cur").is_empty());

    let reply = frontend.update(&format!("hostname={host}&myip=203.0.113.8"));
    assert_eq!(reply.body, "good 203.0.113.8\n");
    site.run_worker_once();
    assert_eq!(server.query(&host, "A"), ["203.0.113.8"]);
}

#[test]
fn nic_delete_through_frontend_and_worker_removes_a_and_aaaa_from_named() {
    let Some(server) = DnsServer::start(Kind::Bind) else {
        return;
    };
    let site = rfc2136_site(&server);
    let host = format!("home.dyn.{}", server.zone());
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!("hostname={host}&myip=203.0.113.7,2001:db8::7"));
    assert_eq!(reply.body, "good 203.0.113.7,2001:db8::7\n");
    site.run_worker_once();
    assert_eq!(server.query(&host, "A"), ["203.0.113.7"]);

    let reply = frontend.get(
        &format!("/nic/delete?hostname={host}"),
        Some((util::USER, util::PASSWORD)),
    );
    assert_eq!(reply.body, "good\n");
    site.run_worker_once();
    assert!(server.query(&host, "A").is_empty(), "{}", server.log());
    assert!(server.query(&host, "AAAA").is_empty(), "{}", server.log());
    assert!(site.files_in("cur").is_empty() && site.files_in("failed").is_empty());
}
