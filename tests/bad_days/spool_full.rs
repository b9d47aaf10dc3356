//! The disk under the spool fills up, of blocks or of inodes: the client gets `911` (so it tries
//! again), nothing half-written stays in `new/` or `tmp/` for the worker to meet, `/health` says 503,
//! and once there is room the client's retry is `good` (not `nochg`: the refused address was never
//! remembered) and lands.

use base64::Engine;

use crate::day::{start_both, update_good, wait_for_home, zone_file_site, PATIENCE};
use crate::util::small_disk::SmallDisk;
use crate::util::{eventually, http_post, Frontend, Site, HOST, PASSWORD, USER};

/// A day on a spool filled by `fill` after a first update landed.
fn spool_full_day(fill: impl Fn(&SmallDisk)) {
    let site = zone_file_site("");
    let Some(spool) = SmallDisk::over_spool(site.spool("")) else {
        return;
    };
    let (_worker, frontend) = start_both(&site);
    update_good(&frontend, HOST, "203.0.113.7");
    wait_for_home(&site, "203.0.113.7");
    // The first job's file is gone from `cur/`, so no space or inode is freed after the disk fills.
    assert!(eventually(PATIENCE, || site.files_in("cur").is_empty()));

    fill(&spool);
    every_request_is_refused_and_leaves_nothing(&site, &frontend);
    spool.empty();
    assert!(eventually(PATIENCE, || frontend
        .get("/health", None)
        .status
        == 200));
    update_good(&frontend, HOST, "203.0.113.8");
    wait_for_home(&site, "203.0.113.8");
}

/// Every way a client asks for a change is refused while the disk is full, and leaves nothing.
fn every_request_is_refused_and_leaves_nothing(site: &Site, frontend: &Frontend) {
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.8"));
    assert_eq!(reply.body, "911\n", "{}", site.frontend_log());
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.8,2001:db8::8"));
    assert_eq!(reply.body, "911\n");
    let reply = frontend.get(
        &format!("/nic/delete?hostname={HOST}"),
        Some((USER, PASSWORD)),
    );
    assert_eq!(reply.body, "911\n");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let reply = http_post(
        frontend.address,
        "/api/v1/update",
        &[("Authorization", &format!("Basic {basic}"))],
        format!(r#"{{"hostname":"{HOST}","ipv4":"203.0.113.8"}}"#).as_bytes(),
    );
    assert_eq!(
        reply.status, 503,
        "a script's `curl -f` sees it: {}",
        reply.body
    );
    assert!(reply.body.contains(r#""result":"911""#), "{}", reply.body);
    for folder in ["tmp", "new", "cur", "failed"] {
        assert_eq!(site.files_in(folder), Vec::<String>::new(), "{folder}/");
    }
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 503, "{}", health.body);
}

#[test]
fn a_disk_full_of_blocks_while_spooling_is_911_leaves_nothing_and_the_retry_lands() {
    spool_full_day(SmallDisk::fill);
}

#[test]
fn a_disk_out_of_inodes_while_spooling_is_911_leaves_nothing_and_the_retry_lands() {
    spool_full_day(SmallDisk::fill_inodes);
}
