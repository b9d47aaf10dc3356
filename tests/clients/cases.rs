//! Why this exists: each client story (the update lands, a repeat is `nochg`, a wrong password
//! stops the client, IPv6 lands) is checked the same way whether the client talks to the frontend
//! directly or through nginx; `port` is where it sends its updates.

use std::net::IpAddr;
use std::path::Path;

use crate::util::{Site, HOST, PASSWORD};
use crate::{
    assert_logged, ddclient, ddclient_conf, inadyn, inadyn_conf, spooled, ClientDir, LAB_HOST,
};

pub const V4: &str = "203.0.113.7";
pub const V6: &str = "2001:db8::7";

pub fn address(text: &str) -> IpAddr {
    text.parse().unwrap()
}

pub fn ddclient_updates_two_hosts_in_one_run_then_gets_nochg(
    program: &Path,
    site: &Site,
    port: u16,
) {
    let dir = ClientDir::new();
    let conf = dir.write("ddclient.conf", &ddclient_conf(port, PASSWORD, address(V4)));

    let first = ddclient(&dir, program, &conf, "first.cache");
    assert!(first.status.success(), "ddclient failed:\n{}", first.log);
    for host in [HOST, LAB_HOST] {
        assert!(
            first.log.contains(&format!(
                "SUCCESS:  updating {host}: good: IP address set to {V4}"
            )),
            "ddclient did not report {host} updated:\n{}",
            first.log
        );
    }
    assert_logged(site, &format!("good {V4},good {V4}"));
    assert_eq!(
        spooled(site),
        vec![
            (HOST.to_string(), address(V4)),
            (LAB_HOST.to_string(), address(V4))
        ]
    );

    // A fresh cache, as after a reinstall: ddclient asks again and the server has nothing to do.
    let repeat = ddclient(&dir, program, &conf, "repeat.cache");
    assert!(
        repeat.status.success(),
        "ddclient failed on nochg:\n{}",
        repeat.log
    );
    assert!(!repeat.log.contains("FAILED"), "{}", repeat.log);
    assert!(
        repeat
            .log
            .contains(&format!("updating {HOST}: nochg: No update required")),
        "{}",
        repeat.log
    );
    assert_logged(site, &format!("nochg {V4},nochg {V4}"));
    assert_eq!(spooled(site).len(), 2, "nochg spooled nothing");
}

pub fn ddclient_stops_with_badauth_on_a_wrong_password(program: &Path, site: &Site, port: u16) {
    let dir = ClientDir::new();
    let conf = dir.write(
        "ddclient.conf",
        &ddclient_conf(port, "wrong password", address(V4)),
    );

    let run = ddclient(&dir, program, &conf, "cache");
    assert_eq!(run.status.code(), Some(1), "{}", run.log);
    assert!(
        run.log.contains("FAILED:   updating") && run.log.contains("badauth"),
        "ddclient did not report badauth:\n{}",
        run.log
    );
    assert_logged(site, "badauth");
    assert!(spooled(site).is_empty());
}

pub fn ddclient_ipv6_update_lands(program: &Path, site: &Site, port: u16) {
    let dir = ClientDir::new();
    let conf = dir.write("ddclient.conf", &ddclient_conf(port, PASSWORD, address(V6)));

    let run = ddclient(&dir, program, &conf, "cache");
    assert!(run.status.success(), "ddclient failed:\n{}", run.log);
    assert!(
        run.log
            .contains(&format!("updating {HOST}: good: IP address set to {V6}")),
        "{}",
        run.log
    );
    assert_logged(site, &format!("good {V6},good {V6}"));
    assert_eq!(
        spooled(site),
        vec![
            (HOST.to_string(), address(V6)),
            (LAB_HOST.to_string(), address(V6))
        ]
    );
}

pub fn inadyn_update_lands_then_forced_repeat_gets_nochg(program: &Path, site: &Site, port: u16) {
    let dir = ClientDir::new();
    let conf = dir.write("inadyn.conf", &inadyn_conf(port, PASSWORD, address(V4)));

    let first = inadyn(&dir, program, &conf, "cache", &[]);
    assert!(first.status.success(), "inadyn failed:\n{}", first.log);
    assert!(
        first.log.contains(&format!(
            "Successful alias table update for {HOST} => new IP# {V4}"
        )),
        "{}",
        first.log
    );
    assert_logged(site, &format!("good {V4}"));
    assert_eq!(spooled(site), vec![(HOST.to_string(), address(V4))]);

    // Its cache now says the address is published; --force asks the server anyway.
    let repeat = inadyn(&dir, program, &conf, "cache", &["--force"]);
    assert!(
        repeat.status.success(),
        "inadyn failed on nochg:\n{}",
        repeat.log
    );
    assert!(
        repeat
            .log
            .contains(&format!("Successful alias table update for {HOST}")),
        "{}",
        repeat.log
    );
    assert_logged(site, &format!("nochg {V4}"));
    assert_eq!(spooled(site).len(), 1, "nochg spooled nothing");
}

pub fn inadyn_stops_with_authentication_failure_on_a_wrong_password(
    program: &Path,
    site: &Site,
    port: u16,
) {
    let dir = ClientDir::new();
    let conf = dir.write(
        "inadyn.conf",
        &inadyn_conf(port, "wrong password", address(V4)),
    );

    let run = inadyn(&dir, program, &conf, "cache", &[]);
    assert_eq!(run.status.code(), Some(50), "{}", run.log);
    assert!(
        run.log.contains("badauth") && run.log.contains("Authentication failure"),
        "inadyn did not report badauth:\n{}",
        run.log
    );
    assert_logged(site, "badauth");
    assert!(spooled(site).is_empty());
}

pub fn inadyn_ipv6_update_lands(program: &Path, site: &Site, port: u16) {
    let dir = ClientDir::new();
    let conf = dir.write("inadyn.conf", &inadyn_conf(port, PASSWORD, address(V6)));

    let run = inadyn(&dir, program, &conf, "cache", &[]);
    assert!(run.status.success(), "inadyn failed:\n{}", run.log);
    assert!(
        run.log.contains(&format!(
            "Successful alias table update for {HOST} => new IP# {V6}"
        )),
        "{}",
        run.log
    );
    assert_logged(site, &format!("good {V6}"));
    assert_eq!(spooled(site), vec![(HOST.to_string(), address(V6))]);
}
