//! `[[user.lan_host]]`: the interface id worked out at load, every mistake at its
//! file:line:column:key, and a LAN host belonging to its one user in the worker's re-check too.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use dyndns_config::JobRejection;
use util::{error, parse, HASH};

/// Two users; `router`'s LAN host tables are `lan` (from line 20).
fn config(lan: &str, other_hosts: &str) -> String {
    format!(
        r#"[frontend]
listen = "127.0.0.1:8245"
[spool]
dir = "spool"
[worker]
backend = "zonefile"
state_dir = "state"
[[zone]]
name = "dyn.example.com"
[backend.zonefile]
path = "zones/{{zone}}.zone"
[[user]]
name = "other"
password_hash = "{HASH}"
hosts = [{other_hosts}]
[[user]]
name = "router"
password_hash = "{HASH}"
hosts = ["home.dyn.example.com"]
{lan}"#
    )
}

const NAS: &str =
    "[[user.lan_host]]\nname = \"NAS.dyn.example.com\"\ninterface_id = \"::211:32ff:fe12:3456\"\n";

#[test]
fn lan_hosts_load_with_interface_id_or_mac_and_belong_to_their_user() {
    let text = config(
        &format!(
            "{NAS}[[user.lan_host]]\nname = \"pc.dyn.example.com\"\nmac = \"00:11:32:12:34:57\"\n"
        ),
        "\"other.dyn.example.com\"",
    );
    let config = parse(&text).unwrap_or_else(|err| panic!("{err}"));
    let router = config.user("router").unwrap();
    let lan: Vec<(String, String)> = router
        .lan_hosts
        .iter()
        .map(|lan| (lan.name.clone(), lan.interface_id.to_string()))
        .collect();
    assert_eq!(
        lan,
        [
            ("nas.dyn.example.com".into(), "::211:32ff:fe12:3456".into()),
            ("pc.dyn.example.com".into(), "::211:32ff:fe12:3457".into()),
        ]
    );
    let v6 = ["2001:db8:1:2:211:32ff:fe12:3456".parse().unwrap()];
    // The worker's re-check: the owner may update the LAN host (also by `hostname=`), no one else.
    config
        .check_job("router", "nas.dyn.example.com", &v6)
        .unwrap();
    assert!(matches!(
        config.check_job("other", "nas.dyn.example.com", &v6),
        Err(JobRejection::NotAllowed { .. })
    ));
}

#[test]
fn lan_host_outside_every_zone_points_at_its_name() {
    let text = config(
        "[[user.lan_host]]\nname = \"nas.example.org\"\nmac = \"00:11:32:12:34:56\"\n",
        "",
    );
    let err = error(&text);
    assert_eq!(err.key, "user[1].lan_host[0].name");
    assert_eq!((err.line, err.column), (21, 1), "{err}");
    assert!(
        err.message.contains("outside every configured zone"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("/etc/dyndns/test.toml:21:1: key `user[1].lan_host[0].name`"),
        "{err}"
    );
}

#[test]
fn lan_host_needs_exactly_one_of_interface_id_and_mac() {
    let both = config(&format!("{NAS}mac = \"00:11:32:12:34:56\"\n"), "");
    let err = error(&both);
    assert_eq!(err.key, "user[1].lan_host[0].mac");
    assert_eq!((err.line, err.column), (23, 1), "{err}");
    assert!(err.message.contains("not both"), "{err}");
    let neither = config("[[user.lan_host]]\nname = \"nas.dyn.example.com\"\n", "");
    let err = error(&neither);
    assert_eq!(err.key, "user[1].lan_host[0]");
    assert_eq!(err.line, 20, "{err}");
    assert!(
        err.message.contains("needs `interface_id` or `mac`"),
        "{err}"
    );
}

#[test]
fn bad_mac_and_bad_interface_id_point_at_their_key() {
    let text = config(
        "[[user.lan_host]]\nname = \"nas.dyn.example.com\"\nmac = \"00:11:32:12:34\"\n",
        "",
    );
    let err = error(&text);
    assert_eq!(err.key, "user[1].lan_host[0].mac");
    assert_eq!((err.line, err.column), (22, 1), "{err}");
    assert!(err.message.contains("not a MAC address"), "{err}");
    let text = config(
        "[[user.lan_host]]\nname = \"nas.dyn.example.com\"\ninterface_id = \"2001:db8::5\"\n",
        "",
    );
    let err = error(&text);
    assert_eq!(err.key, "user[1].lan_host[0].interface_id");
    assert_eq!((err.line, err.column), (22, 1), "{err}");
    assert!(err.message.contains("first 48"), "{err}");
    let text = config(
        "[[user.lan_host]]\nname = \"nas.dyn.example.com\"\ninterface_id = \"::5\"\ncolour = \"blue\"\n",
        "",
    );
    let err = error(&text);
    assert_eq!(err.key, "user[1].lan_host[0].colour");
    assert_eq!(err.line, 23, "{err}");
}

#[test]
fn a_lan_host_name_configured_twice_is_refused_also_across_users() {
    let twice = config(&format!("{NAS}{NAS}"), "");
    let err = error(&twice);
    assert_eq!(err.key, "user[1].lan_host[1].name");
    assert_eq!((err.line, err.column), (24, 1), "{err}");
    assert!(err.message.contains("configured twice"), "{err}");
    // The other user first: the second (router's) is the one named.
    let across = config(NAS, "").replace(
        "hosts = []\n",
        "hosts = []\n[[user.lan_host]]\nname = \"nas.dyn.example.com\"\nmac = \"00:11:32:12:34:56\"\n",
    );
    let err = error(&across);
    assert_eq!(err.key, "user[1].lan_host[0].name");
    assert!(err.message.contains("LAN host of user `other`"), "{err}");
}

#[test]
fn a_lan_host_another_user_names_as_a_host_is_refused() {
    let err = error(&config(NAS, "\"nas.dyn.example.com\""));
    assert_eq!(err.key, "user[1].lan_host[0].name");
    assert_eq!((err.line, err.column), (21, 1), "{err}");
    assert!(err.message.contains("also a host of user `other`"), "{err}");
    // Its own user may list it among its hosts too.
    let own = config(NAS, "").replace(
        "hosts = [\"home.dyn.example.com\"]",
        "hosts = [\"home.dyn.example.com\", \"nas.dyn.example.com\"]",
    );
    parse(&own).unwrap_or_else(|err| panic!("{err}"));
}
