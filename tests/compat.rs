//! The compatibility matrix in README, proven: each row's URL template is read out of README's
//! table (so the two cannot drift), filled in the way that device fills it in, sent to a real
//! `dyndns serve`, and the reply checked against what that device counts as success, for a first
//! update and for a repeat.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use util::{frontend_binary, Frontend, Response, Site, HOST, PASSWORD, USER};

const V4: &str = "203.0.113.7";
const V6: &str = "2001:db8::7";
/// The second host of the test user (its `*.lab.dyn.example.com` pattern).
const LAB: &str = "nas.lab.dyn.example.com";

/// One row of README's "Compatibility" table: the client's name and the code spans of its
/// template column (the template first, then e.g. pfSense's Result Match).
struct Row {
    client: String,
    spans: Vec<String>,
}

fn table() -> Vec<Row> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Compatibility\n")
        .nth(1)
        .expect("README has a Compatibility section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|line| line.starts_with('|'))
        .skip(2) // the header and the separator
        .map(|line| {
            // `\|` inside a code span is a literal bar, not a cell border.
            let cells: Vec<String> = line
                .replace("\\|", "\u{0}")
                .split('|')
                .map(|cell| cell.trim().replace('\u{0}', "|"))
                .collect();
            let spans = cells[2]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            Row {
                client: cells[1].clone(),
                spans,
            }
        })
        .collect()
}

/// The code spans of `client`'s row.
fn row(client: &str) -> Vec<String> {
    table()
        .into_iter()
        .find(|row| row.client == client)
        .unwrap_or_else(|| panic!("README's Compatibility table has no row {client:?}"))
        .spans
}

/// The template of `client`'s row.
fn template(client: &str) -> String {
    row(client).into_iter().next().unwrap()
}

/// Percent-encoding of everything but RFC 3986's unreserved characters, as the devices that encode
/// their placeholders (Fritz!Box, Synology, OpenWrt, TP-Link) do for a password with a space.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// inadyn's encoding of its path: everything but `/ ? & =` and the unreserved characters.
fn inadyn_encode(path: &str) -> String {
    path.split(['/', '?', '&', '='])
        .map(encode)
        .zip(
            path.chars()
                .filter(|c| matches!(c, '/' | '?' | '&' | '='))
                .map(String::from)
                .chain(std::iter::once(String::new())),
        )
        .map(|(part, separator)| part + &separator)
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A filled-in URL split as an HTTP library sends it: the userinfo (decoded, for Basic auth) and
/// the path with its query. The scheme is optional (UniFi's Server field has none).
fn split_url(url: &str) -> (Option<(String, String)>, String) {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let slash = rest.find('/').expect("a URL with a path");
    let (authority, path) = rest.split_at(slash);
    assert!(
        authority.ends_with("dyn.example.com"),
        "the template's server is dyn.example.com: {url}"
    );
    let userinfo = authority.rsplit_once('@').map(|(info, _)| {
        let (user, password) = info.split_once(':').expect("user:password@");
        (percent_decode(user), percent_decode(password))
    });
    (userinfo, path.to_owned())
}

/// The same URL pointed at the test's frontend over plain HTTP (real programs fetch it).
fn local_url(url: &str, frontend: &Frontend) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let slash = rest.find('/').unwrap();
    let (authority, path) = rest.split_at(slash);
    let local = authority.replace("dyn.example.com", &frontend.address.to_string());
    format!("http://{local}{path}")
}

fn get(frontend: &Frontend, url: &str, basic: Option<(&str, &str)>) -> Response {
    let (userinfo, path) = split_url(url);
    let userinfo = userinfo.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    frontend.get(&path, basic.or(userinfo))
}

/// The dyndns2 status words of a body, one per line (ddclient reads them so).
fn words(body: &str) -> Vec<String> {
    body.lines()
        .map(|line| line.split(' ').next().unwrap_or("").to_owned())
        .collect()
}

/// inadyn's dyndns check: 200 and `good` or `nochg` as a case-sensitive substring.
fn inadyn_content(reply: &Response) -> bool {
    reply.status == 200 && (reply.body.contains("good") || reply.body.contains("nochg"))
}

/// Debian's program at `/usr/bin/<program>`: `None` (and a loud note) when it is missing, a
/// failure under CI (`.ci/run` installs it).
fn installed(program: &str) -> Option<PathBuf> {
    let path = Path::new("/usr/bin").join(program);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing: apt-get install {program}",
        path.display()
    );
    eprintln!(
        "SKIPPED: {} is missing; apt-get install {program} to run this test",
        path.display()
    );
    None
}

/// Runs `program` to completion: whether it succeeded, and what it printed.
fn run(program: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(program).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn every_row_of_the_compatibility_table_has_a_test() {
    let clients: Vec<String> = table().into_iter().map(|row| row.client).collect();
    assert_eq!(
        clients,
        [
            "ddclient",
            "inadyn",
            "curl / wget",
            "AVM Fritz!Box",
            "pfSense",
            "OPNsense",
            "UniFi",
            "Synology DSM",
            "OpenWrt ddns-scripts",
            "MikroTik",
            "TP-Link",
            "DD-WRT",
            "token URL",
        ]
    );
}

#[test]
fn ddclient_gets_one_good_line_per_host_and_nochg_on_repeat() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let url = template("ddclient")
        .replace("<hosts>", &format!("{HOST},{LAB}"))
        .replace("<ip>", V4);
    let reply = get(&frontend, &url, Some((USER, PASSWORD)));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, format!("good {V4}\ngood {V4}\n"));
    // ddclient 3.10 cannot read a chunked body.
    assert!(reply.header("content-length").is_some(), "{reply:?}");
    let reply = get(&frontend, &url, Some((USER, PASSWORD)));
    assert_eq!(words(&reply.body), ["nochg", "nochg"]);
}

#[test]
fn inadyn_encoded_path_is_content_for_v4_v6_and_repeat() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let fill = |ip: &str| {
        let url = template("inadyn");
        let (_, path) = split_url(&url);
        inadyn_encode(&path.replace("%h", HOST).replace("%i", ip))
    };
    let v6_path = fill(V6);
    assert!(
        v6_path.contains("%3A"),
        "inadyn encodes the colons: {v6_path}"
    );
    for (path, expected) in [
        (fill(V4), format!("good {V4}\n")),
        (v6_path, format!("good {V6}\n")),
        (fill(V4), format!("nochg {V4}\n")),
    ] {
        let reply = frontend.get(&path, Some((USER, PASSWORD)));
        assert!(inadyn_content(&reply), "{path}: {reply:?}");
        assert_eq!(reply.body, expected, "{path}");
    }
}

#[test]
fn curl_and_wget_run_the_tables_url_and_succeed_twice() {
    let (Some(curl), Some(wget)) = (installed("curl"), installed("wget")) else {
        return;
    };
    let site = Site::new();
    let frontend = site.start_frontend();
    let url = local_url(&template("curl / wget"), &frontend);
    let credentials = format!("{USER}:{PASSWORD}");
    let (ok, body) = run(&curl, &["-fsS", "-u", &credentials, &url]);
    assert!(ok, "{body}");
    assert_eq!(body, format!("good {V4},{V6}\n"));
    let user = format!("--user={USER}");
    let password = format!("--password={PASSWORD}");
    let (ok, body) = run(&wget, &["-qO-", &user, &password, &url]);
    assert!(ok, "{body}");
    assert_eq!(body, format!("nochg {V4},{V6}\n"));
}

#[test]
fn fritzbox_user_defined_url_with_query_credentials_gets_200_good_then_nochg() {
    let site = Site::new();
    // A LAN host for `<ip6lanprefix>` to move (README, "LAN hosts").
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace(
            "hosts = [\"home.dyn.example.com\", \"*.lab.dyn.example.com\"]\n",
            "hosts = [\"home.dyn.example.com\", \"*.lab.dyn.example.com\"]\n\
         [[user.lan_host]]\nname = \"nas.dyn.example.com\"\nmac = \"00:11:32:12:34:56\"\n",
        );
    std::fs::write(site.config_path(), config).unwrap();
    let frontend = site.start_frontend();
    // The box fills `<ip6lanprefix>` with the prefix and its length, URL-encoded.
    let url = template("AVM Fritz!Box")
        .replace("<domain>", HOST)
        .replace("<ipaddr>", V4)
        .replace("<ip6addr>", &encode(V6))
        .replace("<ip6lanprefix>", &encode("2001:db8:1:2::/64"))
        .replace("<username>", &encode(USER))
        .replace("<pass>", &encode(PASSWORD));
    let reply = get(&frontend, &url, None);
    assert_eq!(
        (reply.status, reply.body.clone()),
        (200, format!("good {V4},{V6}\n")),
        "one line, for the host the box named"
    );
    assert_eq!(site.files_in("new").len(), 2, "its host and the LAN host");
    let reply = get(&frontend, &url, None);
    assert_eq!(
        (reply.status, reply.body.clone()),
        (200, format!("nochg {V4},{V6}\n"))
    );
    assert_eq!(site.files_in("new").len(), 2, "a repeat spools nothing");
}

#[test]
fn pfsense_result_match_accepts_the_body_for_v4_v6_and_repeat() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let spans = row("pfSense");
    let result_match = &spans[1];
    assert_eq!(result_match, "good %IP%|nochg %IP%");
    // Custom, Custom (v6), then Custom again (the daily cron).
    for ip in [V4, V6, V4] {
        let url = spans[0].replace("%IP%", ip);
        let reply = get(&frontend, &url, Some((USER, PASSWORD)));
        let matched = result_match
            .replace("%IP%", ip)
            .split('|')
            .any(|alternative| reply.body.contains(alternative));
        assert!(reply.status == 200 && matched, "{url}: {reply:?}");
    }
}

#[test]
fn opnsense_native_custom_gets_2xx_good_and_401_for_a_wrong_password() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let url = template("OPNsense")
        .replace("__HOSTNAME__", HOST)
        .replace("__MYIP__", V4);
    for expected in ["good", "nochg"] {
        let reply = get(&frontend, &url, Some((USER, PASSWORD)));
        assert!((200..300).contains(&reply.status), "{reply:?}");
        assert_eq!(words(&reply.body), [expected]);
    }
    // OPNsense counts any 2xx as success, so a wrong password must not be one.
    let reply = get(&frontend, &url, Some((USER, "wrong")));
    assert_eq!((reply.status, reply.body.as_str()), (401, "badauth\n"));
}

#[test]
fn unifi_server_field_without_scheme_is_content_twice() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let (_, path) = split_url(&template("UniFi"));
    let path = inadyn_encode(&path.replace("%h", HOST).replace("%i", V4));
    for expected in ["good", "nochg"] {
        let reply = frontend.get(&path, Some((USER, PASSWORD)));
        assert!(inadyn_content(&reply), "{reply:?}");
        assert_eq!(words(&reply.body), [expected]);
    }
}

#[test]
fn synology_query_url_with_encoded_credentials_gets_good_then_nochg() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let url = template("Synology DSM")
        .replace("__HOSTNAME__", HOST)
        .replace("__MYIP__", V4)
        .replace("__USERNAME__", &encode(USER))
        .replace("__PASSWORD__", &encode(PASSWORD));
    for expected in ["good", "nochg"] {
        let reply = get(&frontend, &url, None);
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(words(&reply.body), [expected]);
    }
}

#[test]
fn openwrt_update_url_with_encoded_userinfo_works_through_wget() {
    let Some(wget) = installed("wget") else {
        return;
    };
    let site = Site::new();
    let frontend = site.start_frontend();
    // ddns-scripts URL-encode the credentials; wget (its default fetcher) decodes the user part
    // and answers the server's 401 challenge with Basic auth.
    let fill = |ip: &str| {
        template("OpenWrt ddns-scripts")
            .replace("[USERNAME]", &encode(USER))
            .replace("[PASSWORD]", &encode(PASSWORD))
            .replace("[DOMAIN]", HOST)
            .replace("[IP]", ip)
    };
    for (ip, expected) in [
        (V4, format!("good {V4}\n")),
        (V6, format!("good {V6}\n")),
        (V6, format!("nochg {V6}\n")),
    ] {
        let url = local_url(&fill(ip), &frontend);
        let (ok, body) = run(&wget, &["-qO-", &url]);
        assert!(ok, "wget failed on {url}");
        assert_eq!(body, expected);
    }
}

#[test]
fn mikrotik_fetch_is_challenged_then_gets_good_then_nochg() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let url = template("MikroTik").replace("$ip", V4);
    let reply = get(&frontend, &url, None);
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"dyndns\"")
    );
    for expected in ["good", "nochg"] {
        let reply = get(&frontend, &url, Some((USER, PASSWORD)));
        assert_eq!(reply.status, 200);
        assert_eq!(words(&reply.body), [expected]);
    }
}

#[test]
fn tplink_custom_ddns_gets_dns_updated_then_ip_unchanged() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let url = template("TP-Link")
        .replace("[DOMAIN]", HOST)
        .replace("[IP]", V4)
        .replace("[USERNAME]", &encode(USER))
        .replace("[PASSWORD]", &encode(PASSWORD));
    let reply = get(&frontend, &url, None);
    assert_eq!((reply.status, reply.body.as_str()), (200, "DNS updated"));
    let reply = get(&frontend, &url, None);
    assert_eq!((reply.status, reply.body.as_str()), (200, "IP unchanged"));
}

#[test]
fn ddwrt_bare_host_name_query_publishes_the_connecting_address() {
    // The router connects from its public address; here a trusted proxy on loopback says which.
    let site = Site::with(
        "trusted_proxies = [\"127.0.0.1/32\"]".into(),
        "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
    );
    let frontend = site.start_frontend();
    let (_, path) = split_url(&template("DD-WRT"));
    let path = format!("{path}{HOST}");
    for expected in [format!("good {V4}\n"), format!("nochg {V4}\n")] {
        let reply = frontend.request(&path, Some((USER, PASSWORD)), &[("X-Forwarded-For", V4)]);
        assert!(inadyn_content(&reply), "{reply:?}");
        assert_eq!(reply.body, expected);
    }
}

#[test]
fn token_url_through_curl_gets_good_then_nochg_for_both_families() {
    let Some(curl) = installed("curl") else {
        return;
    };
    let site = Site::new();
    let output = Command::new(frontend_binary())
        .args(["hash-password", "--token"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let (token, line) = text.split_once('\n').unwrap();
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace(
            "name = \"other\"\n",
            &format!("name = \"other\"\ntoken_hashes = [\"{}\"]\n", line.trim()),
        );
    std::fs::write(site.config_path(), config).unwrap();
    let frontend = site.start_frontend();
    for (ip, expected) in [
        (V4, format!("good {V4}\n")),
        (V4, format!("nochg {V4}\n")),
        (V6, format!("good {V6}\n")),
    ] {
        let url = template("token URL")
            .replace("<token>", token)
            .replace("<ip>", ip);
        let (ok, body) = run(&curl, &["-fsS", &local_url(&url, &frontend)]);
        assert!(ok, "{body}");
        assert_eq!(body, expected);
    }
}
