//! IPv6 LAN hosts with the real binaries on the zone-file backend: a Fritz!Box-style update carrying
//! `<ip6lanprefix>` moves the user's LAN hosts to prefix + interface id, the reply names only the
//! host the router asked for, a repeat spools nothing, and a bad prefix spools no job at all.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::Duration;

use base64::Engine;
use util::{eventually, http_post, Frontend, Response, Site, HOST, PASSWORD, USER};

const V4: &str = "203.0.113.7";
const V6: &str = "2001:db8::7";
const NAS: &str = "nas.dyn.example.com";
const PC: &str = "pc.dyn.example.com";

/// The harness's site on the zone-file backend, `router` with two LAN hosts (one by interface id,
/// one by MAC) and `limits` in `[frontend.limits]`.
fn site_with_lan_hosts(limits: &str) -> Site {
    let site = Site::with(String::new(), limits.to_owned());
    let text = std::fs::read_to_string(site.config_path()).unwrap();
    let router_hosts = format!("hosts = [\"{HOST}\", \"*.lab.dyn.example.com\"]\n");
    assert!(text.contains(&router_hosts), "the harness's router: {text}");
    let text = text
        .replace("backend = \"plesk\"", "backend = \"zonefile\"")
        .replace(
            &router_hosts,
            &format!(
                "{router_hosts}[[user.lan_host]]\nname = \"{NAS}\"\ninterface_id = \"::211:32ff:fe12:3456\"\n\
                 [[user.lan_host]]\nname = \"{PC}\"\nmac = \"00:11:32:12:34:57\"\n"
            ),
        )
        + "\n[backend.zonefile]\npath = \"zones/{zone}.zone\"\n";
    std::fs::write(site.config_path(), text).unwrap();
    std::fs::create_dir_all(site.path().join("zones")).unwrap();
    site
}

fn no_limits() -> Site {
    site_with_lan_hosts("per_user_per_minute = 0\nper_source_per_minute = 0\n")
}

/// The Fritz!Box "User-defined" URL with its placeholders filled as the box fills them
/// (`<ip6lanprefix>` is the prefix with its length; values URL-encoded).
fn fritzbox(frontend: &Frontend, v4: &str, v6: &str, prefix: &str) -> Response {
    let encode = |value: &str| {
        value
            .replace('%', "%25")
            .replace(':', "%3A")
            .replace('/', "%2F")
            .replace(' ', "%20")
    };
    let path = format!(
        "/nic/update?hostname={HOST}&myip={v4},{}&ip6lanprefix={}&username={USER}&password={}",
        encode(v6),
        encode(prefix),
        encode(PASSWORD)
    );
    frontend.get(&path, None)
}

/// The zone file's records of `host` (owner relative to `example.com`) as `TYPE value` lines.
fn records(site: &Site, host: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(site.path().join("zones/example.com.zone")).unwrap_or_default();
    let owner = host.strip_suffix(".example.com").unwrap();
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = fields.iter().position(|f| *f == "A" || *f == "AAAA")?;
            let name = fields[0].trim_end_matches('.');
            (name == owner || name == host).then(|| format!("{} {}", fields[at], fields[at + 1]))
        })
        .collect();
    found.sort();
    found
}

/// The frontend's request log lines, once `count` of them are there (the log is batched).
fn request_lines(site: &Site, count: usize) -> Vec<String> {
    let lines = || -> Vec<String> {
        site.frontend_log()
            .lines()
            .filter(|line| line.contains("dyndns::update: update "))
            .map(str::to_owned)
            .collect()
    };
    assert!(
        eventually(Duration::from_secs(10), || lines().len() >= count),
        "{} request lines expected: {}",
        count,
        site.frontend_log()
    );
    lines()
}

#[test]
fn fritzbox_prefix_moves_lan_hosts_and_the_reply_names_only_the_requested_host() {
    let site = no_limits();
    let frontend = site.start_frontend();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, format!("good {V4},{V6}\n").as_str())
    );
    let spooled = site.files_in("new");
    assert_eq!(spooled.len(), 3, "home, nas and pc: {spooled:?}");
    // The log line ties the LAN hosts' jobs to the worker's lines: every spooled job is named.
    let line = request_lines(&site, 1).pop().unwrap();
    assert!(line.contains(" lan_jobs=\""), "{line}");
    for file in &spooled {
        let id = file.split('.').nth(1).unwrap();
        assert!(line.contains(id), "{id} not in {line}");
    }
    site.run_worker_once();
    assert_eq!(
        records(&site, HOST),
        [format!("A {V4}"), format!("AAAA {V6}")]
    );
    assert_eq!(
        records(&site, NAS),
        ["AAAA 2001:db8:1:2:211:32ff:fe12:3456"]
    );
    assert_eq!(records(&site, PC), ["AAAA 2001:db8:1:2:211:32ff:fe12:3457"]);

    // The same prefix again: nothing changed, nothing spooled.
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("nochg {V4},{V6}\n"));
    assert_eq!(site.files_in("new"), Vec::<String>::new());
    let line = request_lines(&site, 2).pop().unwrap();
    assert!(!line.contains("lan_jobs="), "{line}");

    // A new prefix (host bits sent along are dropped): the LAN hosts move, the router's host is
    // unchanged.
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:3::1/64");
    assert_eq!(reply.body, format!("nochg {V4},{V6}\n"));
    assert_eq!(site.files_in("new").len(), 2);
    site.run_worker_once();
    assert_eq!(
        records(&site, NAS),
        ["AAAA 2001:db8:1:3:211:32ff:fe12:3456"]
    );
    assert_eq!(records(&site, PC), ["AAAA 2001:db8:1:3:211:32ff:fe12:3457"]);

    // No prefix (a Fritz!Box without IPv6 fills `<ip6lanprefix>` with nothing): LAN hosts stay.
    let reply = fritzbox(&frontend, "203.0.113.8", V6, "");
    assert_eq!(reply.body, format!("good 203.0.113.8,{V6}\n"));
    assert_eq!(site.files_in("new").len(), 1, "only the router's host");
    site.run_worker_once();
    assert_eq!(
        records(&site, NAS),
        ["AAAA 2001:db8:1:3:211:32ff:fe12:3456"]
    );
    assert_eq!(
        records(&site, HOST),
        ["A 203.0.113.8".to_owned(), format!("AAAA {V6}")]
    );
}

#[test]
fn a_lan_hosts_a_record_is_never_touched() {
    let site = no_limits();
    let frontend = site.start_frontend();
    // The user sets nas's A record directly (a LAN host is the user's host), then the router
    // sends a dual-stack update with a prefix.
    let reply = frontend.get(
        &format!("/nic/update?hostname={NAS}&myip=192.0.2.10"),
        Some((USER, PASSWORD)),
    );
    assert_eq!(reply.body, "good 192.0.2.10\n");
    site.run_worker_once();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("good {V4},{V6}\n"));
    site.run_worker_once();
    assert_eq!(
        records(&site, NAS),
        ["A 192.0.2.10", "AAAA 2001:db8:1:2:211:32ff:fe12:3456"]
    );
}

#[test]
fn prefixes_of_47_and_65_bits_and_zone_ids_are_dnserr_and_spool_nothing() {
    let site = no_limits();
    let frontend = site.start_frontend();
    for prefix in [
        "2001:db8::/47",
        "2001:db8:1:2::/65",
        "2001:db8::%eth0/64",
        "junk",
    ] {
        // A changed address for the requested host: without the bad prefix it would be `good`.
        let reply = fritzbox(&frontend, V4, V6, prefix);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "dnserr\n"),
            "{prefix}"
        );
        assert_eq!(site.files_in("new"), Vec::<String>::new(), "{prefix}");
    }
}

#[test]
fn a_lan_host_the_request_names_keeps_the_requests_address() {
    let site = no_limits();
    let frontend = site.start_frontend();
    let reply = frontend.get(
        &format!("/nic/update?hostname={NAS}&myip=2001:db8:9::5&ipv6prefix=2001:db8:1:2::/64"),
        Some((USER, PASSWORD)),
    );
    assert_eq!(reply.body, "good 2001:db8:9::5\n");
    assert_eq!(
        site.files_in("new").len(),
        2,
        "nas by its address, pc by the prefix"
    );
    site.run_worker_once();
    assert_eq!(records(&site, NAS), ["AAAA 2001:db8:9::5"]);
    assert_eq!(records(&site, PC), ["AAAA 2001:db8:1:2:211:32ff:fe12:3457"]);
}

#[test]
fn a_lan_address_its_zone_cannot_publish_skips_the_lan_hosts_not_the_request() {
    let site = no_limits();
    let frontend = site.start_frontend();
    // Unique-local: refused where allow_private_addresses is false (the harness's zone).
    let reply = fritzbox(&frontend, V4, V6, "fd00:1:2:3::/64");
    assert_eq!(reply.body, format!("good {V4},{V6}\n"));
    assert_eq!(site.files_in("new").len(), 1, "only the router's host");
    assert!(
        eventually(Duration::from_secs(10), || site
            .frontend_log()
            .contains("LAN host skipped")),
        "{}",
        site.frontend_log()
    );
}

#[test]
fn lan_hosts_count_once_per_request_against_the_change_limit() {
    // Two changes a minute: the first request's host and both LAN hosts are one change, a new
    // prefix alone is the second, and a third is over the limit.
    let site = site_with_lan_hosts("per_user_per_minute = 2\nper_source_per_minute = 0\n");
    let frontend = site.start_frontend();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("good {V4},{V6}\n"));
    assert_eq!(site.files_in("new").len(), 3);
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:3::/64");
    assert_eq!(reply.body, format!("nochg {V4},{V6}\n"));
    assert_eq!(site.files_in("new").len(), 5);
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:4::/64");
    assert_eq!(reply.body, format!("nochg {V4},{V6}\n"));
    assert_eq!(site.files_in("new").len(), 5, "over the limit: no LAN job");
    assert!(
        eventually(Duration::from_secs(10), || site
            .frontend_log()
            .contains("LAN hosts not updated")),
        "{}",
        site.frontend_log()
    );
}

#[test]
fn json_api_takes_ipv6prefix_and_refuses_a_bad_one_with_400_and_no_job() {
    let site = no_limits();
    let frontend = site.start_frontend();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    let post = |body: &str| {
        http_post(
            frontend.address,
            "/api/v1/update",
            &[
                ("Authorization", &basic),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    };
    let reply = post(&format!(
        r#"{{"hostname": "{HOST}", "ipv6": "{V6}", "ipv6prefix": "2001:db8:1::/65"}}"#
    ));
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (400, r#"{"error":"dnserr"}"#)
    );
    assert_eq!(site.files_in("new"), Vec::<String>::new());
    let reply = post(&format!(
        r#"{{"hostname": "{HOST}", "ipv6": "{V6}", "ipv6prefix": "2001:db8:1:200::/56"}}"#
    ));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(results["results"].as_array().unwrap().len(), 1, "{results}");
    site.run_worker_once();
    assert_eq!(
        records(&site, NAS),
        ["AAAA 2001:db8:1:200:211:32ff:fe12:3456"]
    );
}

#[test]
fn token_url_takes_ipv6prefix_and_refuses_a_bad_one_with_dnserr_and_no_job() {
    let site = no_limits();
    let output = std::process::Command::new(util::frontend_binary())
        .args(["hash-password", "--token"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let (token, line) = text.split_once('\n').unwrap();
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace(
            &format!("name = \"{USER}\"\n"),
            &format!("name = \"{USER}\"\ntoken_hashes = [\"{}\"]\n", line.trim()),
        );
    std::fs::write(site.config_path(), config).unwrap();
    let frontend = site.start_frontend();
    let reply = frontend.get(
        &format!("/u/{token}?hostname={HOST}&ip={V6}&ipv6prefix=2001:db8::/47"),
        None,
    );
    assert_eq!(reply.body, "dnserr\n");
    assert_eq!(site.files_in("new"), Vec::<String>::new());
    let reply = frontend.get(
        &format!("/u/{token}?hostname={HOST}&ip={V6}&ipv6prefix=2001:db8:1:2::/64"),
        None,
    );
    assert_eq!(reply.body, format!("good {V6}\n"));
    site.run_worker_once();
    assert_eq!(records(&site, PC), ["AAAA 2001:db8:1:2:211:32ff:fe12:3457"]);
}

#[test]
fn a_delete_carrying_a_prefix_moves_no_lan_host_and_a_lan_host_can_be_deleted() {
    let site = no_limits();
    let frontend = site.start_frontend();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("good {V4},{V6}\n"));
    site.run_worker_once();
    let nas = "AAAA 2001:db8:1:2:211:32ff:fe12:3456";
    assert_eq!(records(&site, NAS), [nas]);

    // offline=yes reads no address and no prefix: a new prefix beside it moves nothing.
    let reply = frontend.get(
        &format!(
            "/nic/update?hostname={HOST}&offline=yes&ip6lanprefix=2001%3Adb8%3A9%3A9%3A%3A%2F64"
        ),
        Some((USER, PASSWORD)),
    );
    assert_eq!(reply.body, "good\n");
    assert_eq!(site.files_in("new").len(), 1, "only the delete is spooled");
    site.run_worker_once();
    assert_eq!(records(&site, HOST), Vec::<String>::new());
    assert_eq!(records(&site, NAS), [nas], "the LAN host did not move");

    // A LAN host is its user's host: it can be taken offline too.
    let reply = frontend.get(
        &format!("/nic/delete?hostname={NAS}"),
        Some((USER, PASSWORD)),
    );
    assert_eq!(reply.body, "good\n");
    site.run_worker_once();
    assert_eq!(records(&site, NAS), Vec::<String>::new());
}

#[test]
fn prefixes_sent_unencoded_in_upper_case_bracketed_or_with_host_bits_move_the_lan_hosts() {
    let site = no_limits();
    let frontend = site.start_frontend();
    let nas = |prefix: &str| {
        let reply = frontend.update(&format!("hostname={HOST}&myip={V4}&ip6lanprefix={prefix}"));
        assert_eq!(reply.status, 200, "{prefix}: {}", reply.body);
        site.run_worker_once();
        records(&site, NAS)
    };
    assert_eq!(
        nas("2001:DB8:1:2::/64"),
        ["AAAA 2001:db8:1:2:211:32ff:fe12:3456"]
    );
    assert_eq!(
        nas("[2001:db8:1:300::]/56"),
        ["AAAA 2001:db8:1:300:211:32ff:fe12:3456"]
    );
    // A /56 whose host bits are set (the box's own address in it): only the network counts.
    assert_eq!(
        nas("2001:db8:1:4ff:1:2:3:4/56"),
        ["AAAA 2001:db8:1:400:211:32ff:fe12:3456"]
    );
    // An IPv4-mapped prefix is longer than /64: the whole request is refused, nothing moves.
    let reply = frontend.update(&format!(
        "hostname={HOST}&myip=203.0.113.99&ip6lanprefix=::ffff:0:0/96"
    ));
    assert_eq!(reply.body, "dnserr\n");
    assert_eq!(site.files_in("new"), Vec::<String>::new());
    // `::/64`, link-local and multicast prefixes parse, but no LAN host may be published there.
    for prefix in ["::/64", "fe80::/64", "ff02::/64", "2001:db8:1:5::/64"] {
        frontend.update(&format!("hostname={HOST}&myip={V4}&ip6lanprefix={prefix}"));
    }
    site.run_worker_once();
    assert_eq!(
        records(&site, NAS),
        ["AAAA 2001:db8:1:5:211:32ff:fe12:3456"]
    );
}

#[test]
fn a_lan_host_the_request_names_with_ipv4_only_still_follows_the_prefix() {
    let site = no_limits();
    let frontend = site.start_frontend();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("good {V4},{V6}\n"));
    site.run_worker_once();
    // A script sets nas's A record and sends the new prefix: the request says nothing about nas's
    // AAAA, so the prefix moves it as it moves pc.
    let reply = frontend.update(&format!(
        "hostname={NAS}&myip=192.0.2.10&ipv6prefix=2001:db8:1:3::/64"
    ));
    assert_eq!(reply.body, "good 192.0.2.10\n");
    site.run_worker_once();
    assert_eq!(
        records(&site, NAS),
        ["A 192.0.2.10", "AAAA 2001:db8:1:3:211:32ff:fe12:3456"]
    );
    assert_eq!(records(&site, PC), ["AAAA 2001:db8:1:3:211:32ff:fe12:3457"]);
    // The log names nas's two jobs: the request's (A) and the prefix's (AAAA).
    let line = request_lines(&site, 2).pop().unwrap();
    assert!(line.contains(&format!("lan_jobs=\"{NAS}=")), "{line}");
}

#[test]
fn lan_jobs_seed_nochg_after_a_restart_and_a_lan_host_given_away_is_dead_lettered_with_its_reason()
{
    let site = no_limits();
    let frontend = site.start_frontend();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("good {V4},{V6}\n"));
    drop(frontend);
    // Restarted with the three jobs still pending: the same update spools nothing.
    let frontend = site.start_frontend();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("nochg {V4},{V6}\n"));
    assert_eq!(site.files_in("new").len(), 3);
    drop(frontend);

    // nas is given to `other` before the worker runs: its pending job is dead-lettered, with why.
    let config = std::fs::read_to_string(site.config_path()).unwrap();
    let nas_table =
        format!("[[user.lan_host]]\nname = \"{NAS}\"\ninterface_id = \"::211:32ff:fe12:3456\"\n");
    assert!(config.contains(&nas_table), "{config}");
    let config = config.replace(&nas_table, "").replace(
        "hosts = [\"other.dyn.example.com\"]",
        &format!("hosts = [\"other.dyn.example.com\", \"{NAS}\"]"),
    );
    std::fs::write(site.config_path(), config).unwrap();
    let worker = site.worker_command().arg("--run-once").output().unwrap();
    assert_eq!(
        worker.status.code(),
        Some(3),
        "exit 3: a job was dead-lettered; {}",
        String::from_utf8_lossy(&worker.stderr)
    );
    assert_eq!(records(&site, NAS), Vec::<String>::new());
    assert_eq!(records(&site, PC), ["AAAA 2001:db8:1:2:211:32ff:fe12:3457"]);
    let reasons: Vec<String> = site
        .files_in("failed")
        .iter()
        .filter(|name| name.ends_with(".reason"))
        .map(|name| std::fs::read_to_string(site.spool("failed").join(name)).unwrap())
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].contains(NAS) && reasons[0].contains(USER),
        "{reasons:?}"
    );

    // Restarted on the new config, from applied.json: pc is unchanged, nas is no LAN host now.
    let frontend = site.start_frontend();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("nochg {V4},{V6}\n"));
    assert_eq!(site.files_in("new"), Vec::<String>::new());
}

#[test]
fn a_lan_job_the_spool_cannot_take_is_911_so_the_router_retries_not_nochg() {
    let site = no_limits();
    let frontend = site.start_frontend();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:2::/64");
    assert_eq!(reply.body, format!("good {V4},{V6}\n"));
    // The spool stops taking files (a full disk, a broken tmp/): the router's own host is
    // unchanged, its LAN hosts' new prefix cannot be spooled.
    let tmp = site.spool("tmp");
    std::fs::remove_dir(&tmp).unwrap();
    std::fs::write(&tmp, "not a folder").unwrap();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:3::/64");
    assert_eq!(
        reply.body, "911\n",
        "a success would stop the router from retrying"
    );
    // Repaired, the router's retry moves them.
    std::fs::remove_file(&tmp).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    let before = site.files_in("new").len();
    let reply = fritzbox(&frontend, V4, V6, "2001:db8:1:3::/64");
    assert_eq!(reply.body, format!("nochg {V4},{V6}\n"));
    assert_eq!(site.files_in("new").len(), before + 2);
}

#[test]
fn an_unparsable_address_beside_a_good_prefix_moves_no_lan_host() {
    let site = no_limits();
    let frontend = site.start_frontend();
    for myip in [
        "203.0.113.7,junk",
        "2001:db8::7%25eth0",
        "203.0.113.7,203.0.113.8",
    ] {
        let reply = frontend.update(&format!(
            "hostname={HOST}&myip={myip}&ip6lanprefix=2001:db8:1:2::/64"
        ));
        assert_eq!(reply.body, "dnserr\n", "{myip}");
        assert_eq!(site.files_in("new"), Vec::<String>::new(), "{myip}");
    }
}
