//! Hostile and malformed requests, each in every request style it applies to (dyndns2, TP-Link,
//! token URLs, the JSON API): each gets its dialect's answer (`notfqdn`, `numhost`, `dnserr`,
//! `Invalid hostname`, a JSON 400/413, the web stack's 400/414/431) and never spools a job.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use util::{frontend_binary, http_post, Frontend, Response, Site, HOST, PASSWORD, USER};

/// A site where `router` also has an update token; the frontend and the token.
fn site_with_token() -> (Site, Frontend, String) {
    let site = Site::new();
    let output = Command::new(frontend_binary())
        .args(["hash-password", "--token"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let (token, line) = text.trim().split_once('\n').unwrap();
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace(
            "name = \"router\"\n",
            &format!("name = \"router\"\ntoken_hashes = [\"{line}\"]\n"),
        );
    std::fs::write(site.config_path(), config).unwrap();
    let frontend = site.start_frontend();
    (site, frontend, token.to_owned())
}

fn basic() -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    format!("Basic {token}")
}

/// The dyndns2 reply body for `query` (Basic auth).
fn dyndns2(frontend: &Frontend, query: &str) -> String {
    let reply = frontend.update(query);
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    reply.body.trim_end().to_owned()
}

/// TP-Link's status and text for `query` (credentials in the query, as the router sends them).
fn tplink(frontend: &Frontend, query: &str) -> (u16, String) {
    let reply = frontend.get(
        &format!("/ddns/update?{query}&username={USER}&password=correct%20horse"),
        None,
    );
    (reply.status, reply.body)
}

/// The token URL's dyndns2 line for `query`.
fn token_url(frontend: &Frontend, token: &str, query: &str) -> String {
    let reply = frontend.get(&format!("/u/{token}?{query}"), None);
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    reply.body.trim_end().to_owned()
}

/// The JSON API's status and answer for `body` (Basic auth).
fn json_api(frontend: &Frontend, body: &[u8]) -> (u16, Value) {
    let reply = http_post(
        frontend.address,
        "/api/v1/update",
        &[
            ("Authorization", &basic()),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    let answer = serde_json::from_str(&reply.body)
        .unwrap_or_else(|_| panic!("not JSON: {} {}", reply.status, reply.body));
    (reply.status, answer)
}

/// The one result word of a JSON answer naming one host.
fn json_result(frontend: &Frontend, body: &str) -> String {
    let (status, answer) = json_api(frontend, body.as_bytes());
    assert_eq!(status, 200, "{body}: {answer}");
    answer["results"][0]["result"].as_str().unwrap().to_owned()
}

/// Raw bytes as one request on a fresh connection; whatever answer came before the server closed.
/// The server may stop reading and close before all is sent: the answer is what counts.
fn raw_request(address: SocketAddr, request: &[u8]) -> Response {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    Response::parse(&raw)
}

fn get_line(path_and_query: &str, extra_header: &str) -> Vec<u8> {
    format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: {}\r\n{extra_header}\r\n",
        basic()
    )
    .into_bytes()
}

/// The hosts of the jobs waiting in `new/`.
fn spooled_hosts(site: &Site) -> Vec<String> {
    site.files_in("new")
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(site.spool("new").join(name)).unwrap();
            let job: Value = serde_json::from_str(&text).unwrap();
            job["host"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn assert_no_job(site: &Site) {
    assert_eq!(
        site.files_in("new"),
        Vec::<String>::new(),
        "a job was spooled"
    );
}

#[test]
fn an_oversized_request_line_or_header_is_refused_by_the_web_stack() {
    let (site, frontend, token) = site_with_token();
    let long = "a".repeat(70 * 1024);
    for path in [
        "/nic/update",
        "/update",
        "/ddns/update",
        &format!("/u/{token}"),
        "/api/v1/update",
    ] {
        let reply = raw_request(
            frontend.address,
            &get_line(&format!("{path}?hostname={HOST}&x={long}"), ""),
        );
        assert_eq!(reply.status, 414, "{path}: {}", reply.body);
        let header = format!("X-Filler: {}\r\n", "b".repeat(512 * 1024));
        let reply = raw_request(
            frontend.address,
            &get_line(&format!("{path}?hostname={HOST}"), &header),
        );
        assert_eq!(reply.status, 431, "{path}: {}", reply.body);
        let many: String = (0..200).map(|n| format!("X-Filler-{n}: x\r\n")).collect();
        let reply = raw_request(
            frontend.address,
            &get_line(&format!("{path}?hostname={HOST}"), &many),
        );
        assert_eq!(reply.status, 431, "{path}: {}", reply.body);
    }
    // Long but within the web stack's limits: a host name that long is no host name.
    let query = format!("hostname={}.{HOST}&myip=203.0.113.7", "a".repeat(8 * 1024));
    assert_eq!(dyndns2(&frontend, &query), "notfqdn");
    assert_eq!(
        tplink(&frontend, &query),
        (400, "Invalid hostname".to_owned())
    );
    assert_eq!(token_url(&frontend, &token, &query), "notfqdn");
    let body = format!(
        r#"{{"hostname": "{}.{HOST}", "ipv4": "203.0.113.7"}}"#,
        "a".repeat(8 * 1024)
    );
    assert_eq!(json_result(&frontend, &body), "notfqdn");
    assert_no_job(&site);
}

#[test]
fn invalid_utf8_in_a_value_is_notfqdn_or_dnserr_never_a_job() {
    let (site, frontend, token) = site_with_token();
    let bad_host = "hostname=home%FF.dyn.example.com&myip=203.0.113.7";
    let bad_ip = format!("hostname={HOST}&myip=203.0.113.7%C3%28");
    assert_eq!(dyndns2(&frontend, bad_host), "notfqdn");
    assert_eq!(dyndns2(&frontend, &bad_ip), "dnserr");
    assert_eq!(
        tplink(&frontend, bad_host),
        (400, "Invalid hostname".to_owned())
    );
    assert_eq!(tplink(&frontend, &bad_ip), (400, "Invalid IP".to_owned()));
    assert_eq!(token_url(&frontend, &token, bad_host), "notfqdn");
    assert_eq!(
        token_url(&frontend, &token, &bad_ip.replace("myip", "ip")),
        "dnserr"
    );
    // Raw bytes that are not ASCII are not a URI: the web stack's 400.
    let raw = b"GET /nic/update?hostname=home\xFF\xFE.dyn.example.com HTTP/1.1\r\n\
        Host: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_request(frontend.address, raw).status, 400);
    // A JSON body that is not UTF-8 is malformed.
    let mut body = br#"{"hostname": "home"#.to_vec();
    body.extend([0xFF, 0xFE]);
    body.extend(br#".dyn.example.com", "ipv4": "203.0.113.7"}"#);
    let (status, answer) = json_api(&frontend, &body);
    assert_eq!(status, 400, "{answer}");
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}&username=router%FF&password=correct%20horse"),
        None,
    );
    assert_eq!((reply.status, reply.body.trim()), (401, "badauth"));
    // Invalid UTF-8 in the Authorization header is no credential.
    let raw = b"GET /nic/update?hostname=home.dyn.example.com&myip=203.0.113.7 HTTP/1.1\r\n\
        Host: localhost\r\nConnection: close\r\nAuthorization: Basic \xFF\xFE\r\n\r\n";
    let reply = raw_request(frontend.address, raw);
    assert_eq!((reply.status, reply.body.trim()), (401, "badauth"));
    assert_no_job(&site);
}

#[test]
fn a_percent_encoded_nul_is_notfqdn_or_dnserr_never_a_job() {
    let (site, frontend, token) = site_with_token();
    let nul_host = format!("hostname={HOST}%00&myip=203.0.113.7");
    let nul_inside = "hostname=home%00.dyn.example.com&myip=203.0.113.7";
    let nul_ip = format!("hostname={HOST}&myip=203.0.113.7%00");
    for query in [&nul_host, nul_inside] {
        assert_eq!(dyndns2(&frontend, query), "notfqdn", "{query}");
        assert_eq!(
            tplink(&frontend, query),
            (400, "Invalid hostname".to_owned())
        );
        assert_eq!(token_url(&frontend, &token, query), "notfqdn");
    }
    assert_eq!(dyndns2(&frontend, &nul_ip), "dnserr");
    assert_eq!(tplink(&frontend, &nul_ip), (400, "Invalid IP".to_owned()));
    assert_eq!(
        token_url(&frontend, &token, &nul_ip.replace("myip", "ip")),
        "dnserr"
    );
    // A NUL in the user name or password is a wrong credential, not a crash or a match.
    let reply = frontend.get(
        &format!("/nic/update?{nul_host}&username=router%00&password=correct%20horse"),
        None,
    );
    assert_eq!((reply.status, reply.body.trim()), (401, "badauth"));
    let reply = frontend.get(
        &format!("/ddns/update?hostname={HOST}&username=router&password=correct%20horse%00"),
        None,
    );
    assert_eq!((reply.status, reply.body.as_str()), (403, "Unauthorized"));
    // A NUL in the token's path is no token.
    assert_eq!(frontend.get(&format!("/u/{token}%00"), None).status, 404);
    assert_eq!(
        json_result(&frontend, &format!(r#"{{"hostname": "{HOST}\u0000"}}"#)),
        "notfqdn"
    );
    let (status, answer) = json_api(
        &frontend,
        format!(r#"{{"hostname": "{HOST}", "ipv4": "203.0.113.7\u0000"}}"#).as_bytes(),
    );
    assert_eq!(status, 400, "{answer}");
    assert_no_job(&site);
}

#[test]
fn a_thousand_hostnames_in_one_request_are_numhost_never_a_job() {
    let (site, frontend, token) = site_with_token();
    let names: Vec<String> = (0..1000)
        .map(|n| format!("h{n}.lab.dyn.example.com"))
        .collect();
    let query = format!("hostname={}&myip=203.0.113.7", names.join(","));
    assert_eq!(dyndns2(&frontend, &query), "numhost");
    // As repeated parameters too: they add up.
    let repeated: Vec<String> = names.iter().map(|n| format!("hostname={n}")).collect();
    let query_repeated = format!("{}&myip=203.0.113.7", repeated.join("&"));
    assert_eq!(dyndns2(&frontend, &query_repeated), "numhost");
    // TP-Link takes one host a request: the list is one invalid name.
    assert_eq!(
        tplink(&frontend, &query),
        (400, "Invalid hostname".to_owned())
    );
    assert_eq!(
        token_url(&frontend, &token, &query.replace("myip", "ip")),
        "numhost"
    );
    let body = serde_json::json!({ "hostnames": names, "ipv4": "203.0.113.7" }).to_string();
    let (status, answer) = json_api(&frontend, body.as_bytes());
    assert_eq!(status, 400, "{answer}");
    // 21, one more than allowed, is refused the same way; 20 are answered.
    let query = format!("hostname={}&myip=203.0.113.7", names[..21].join(","));
    assert_eq!(dyndns2(&frontend, &query), "numhost");
    assert_no_job(&site);
    let query = format!("hostname={}&myip=203.0.113.7", names[..20].join(","));
    assert_eq!(dyndns2(&frontend, &query).lines().count(), 20);
    assert_eq!(site.files_in("new").len(), 20);
}

#[test]
fn duplicate_parameters_have_one_documented_meaning_per_dialect() {
    let (site, frontend, token) = site_with_token();
    // dyndns2 and token URLs: repeated `hostname=` add up, as a comma list does.
    let reply = dyndns2(
        &frontend,
        "hostname=a.lab.dyn.example.com&hostname=b.lab.dyn.example.com&myip=203.0.113.7",
    );
    assert_eq!(reply, "good 203.0.113.7\ngood 203.0.113.7");
    // Repeated addresses are classified by family: two different ones of a family are `dnserr`.
    assert_eq!(
        dyndns2(
            &frontend,
            "hostname=c.lab.dyn.example.com&myip=203.0.113.7&myip=203.0.113.8"
        ),
        "dnserr"
    );
    assert_eq!(
        dyndns2(
            &frontend,
            "hostname=c.lab.dyn.example.com&myip=203.0.113.7&myip=2001:db8::7"
        ),
        "good 203.0.113.7,2001:db8::7"
    );
    assert_eq!(
        token_url(
            &frontend,
            &token,
            "hostname=d.lab.dyn.example.com&ip=203.0.113.7&ip_address=203.0.113.8"
        ),
        "dnserr"
    );
    // The same host twice (in any case) is answered twice but spooled once.
    assert_eq!(
        dyndns2(
            &frontend,
            "hostname=g.lab.dyn.example.com,G.lab.dyn.example.com&myip=203.0.113.7"
        ),
        "good 203.0.113.7\nnochg 203.0.113.7"
    );
    // `system=` twice: the last counts.
    assert_eq!(
        dyndns2(
            &frontend,
            "hostname=a.lab.dyn.example.com&myip=203.0.113.7&system=dyndns&system=bogus"
        ),
        "badsys"
    );
    assert_eq!(
        dyndns2(
            &frontend,
            "hostname=a.lab.dyn.example.com&myip=203.0.113.7&system=bogus&system=dyndns"
        ),
        "nochg 203.0.113.7"
    );
    // Repeated credentials: the last one counts, the first is not tried as well.
    let reply = frontend.get(
        "/nic/update?hostname=e.lab.dyn.example.com&myip=203.0.113.7\
         &username=router&password=correct%20horse&password=guess",
        None,
    );
    assert_eq!((reply.status, reply.body.trim()), (401, "badauth"));
    // TP-Link: one host a request, the last `hostname=` wins; `ip=` wins over `myip=`.
    assert_eq!(
        tplink(
            &frontend,
            "hostname=x.lab.dyn.example.com&hostname=f.lab.dyn.example.com&ip=203.0.113.9&myip=203.0.113.10"
        ),
        (200, "DNS updated".to_owned())
    );
    // JSON: a key twice is a malformed body.
    let (status, answer) = json_api(
        &frontend,
        br#"{"hostname": "g.lab.dyn.example.com", "hostname": "h.lab.dyn.example.com"}"#,
    );
    assert_eq!(status, 400, "{answer}");
    let mut hosts = spooled_hosts(&site);
    hosts.sort();
    assert_eq!(
        hosts,
        [
            "a.lab.dyn.example.com",
            "b.lab.dyn.example.com",
            "c.lab.dyn.example.com",
            "f.lab.dyn.example.com",
            "g.lab.dyn.example.com",
        ]
    );
}

#[test]
fn punycode_names_are_accepted_in_lower_case_and_raw_unicode_is_notfqdn() {
    let (site, frontend, token) = site_with_token();
    // bücher, bärlin, ñandú, 例え as punycode, in the case a router may send.
    assert_eq!(
        dyndns2(
            &frontend,
            "hostname=XN--BCHER-KVA.lab.dyn.example.com&myip=203.0.113.7"
        ),
        "good 203.0.113.7"
    );
    assert_eq!(
        tplink(
            &frontend,
            "hostname=xn--brlin-gra.LAB.dyn.example.com&myip=203.0.113.7"
        ),
        (200, "DNS updated".to_owned())
    );
    assert_eq!(
        token_url(
            &frontend,
            &token,
            "hostname=Xn--and-6ma2c.lab.dyn.example.com&ip=203.0.113.7"
        ),
        "good 203.0.113.7"
    );
    assert_eq!(
        json_result(
            &frontend,
            r#"{"hostname": "xn--r8jz45g.lab.dyn.example.com", "ipv4": "203.0.113.7"}"#
        ),
        "good"
    );
    let mut hosts = spooled_hosts(&site);
    hosts.sort();
    assert_eq!(
        hosts,
        [
            "xn--and-6ma2c.lab.dyn.example.com",
            "xn--bcher-kva.lab.dyn.example.com",
            "xn--brlin-gra.lab.dyn.example.com",
            "xn--r8jz45g.lab.dyn.example.com",
        ]
    );
    // The same name sent again in another case is the same host: `nochg`.
    assert_eq!(
        dyndns2(
            &frontend,
            "hostname=xn--bcher-kva.lab.dyn.example.com&myip=203.0.113.7"
        ),
        "nochg 203.0.113.7"
    );
    // Unicode itself is refused: the client must send the punycode form.
    let unicode = "hostname=b%C3%BCcher.lab.dyn.example.com&myip=203.0.113.8";
    assert_eq!(dyndns2(&frontend, unicode), "notfqdn");
    assert_eq!(
        tplink(&frontend, unicode),
        (400, "Invalid hostname".to_owned())
    );
    assert_eq!(token_url(&frontend, &token, unicode), "notfqdn");
    assert_eq!(
        json_result(
            &frontend,
            r#"{"hostname": "bücher.lab.dyn.example.com", "ipv4": "203.0.113.8"}"#
        ),
        "notfqdn"
    );
    assert_eq!(site.files_in("new").len(), 4);
}

#[test]
fn one_trailing_dot_is_the_same_host_and_empty_labels_are_notfqdn() {
    let (site, frontend, token) = site_with_token();
    assert_eq!(
        dyndns2(&frontend, &format!("hostname={HOST}.&myip=203.0.113.7")),
        "good 203.0.113.7"
    );
    assert_eq!(spooled_hosts(&site), [HOST]);
    assert_eq!(
        tplink(&frontend, &format!("hostname={HOST}.&myip=203.0.113.7")),
        (200, "IP unchanged".to_owned())
    );
    assert_eq!(
        token_url(
            &frontend,
            &token,
            &format!("hostname={HOST}.&ip=203.0.113.7")
        ),
        "nochg 203.0.113.7"
    );
    assert_eq!(
        json_result(
            &frontend,
            &format!(r#"{{"hostname": "{HOST}.", "ipv4": "203.0.113.7"}}"#)
        ),
        "nochg"
    );
    for bad in [
        format!("{HOST}.."),
        "home..dyn.example.com".to_owned(),
        format!(".{HOST}"),
        ".".to_owned(),
        "..".to_owned(),
    ] {
        let query = format!("hostname={bad}&myip=203.0.113.8");
        assert_eq!(dyndns2(&frontend, &query), "notfqdn", "{bad}");
        assert_eq!(
            tplink(&frontend, &query),
            (400, "Invalid hostname".to_owned()),
            "{bad}"
        );
        assert_eq!(token_url(&frontend, &token, &query), "notfqdn", "{bad}");
        assert_eq!(
            json_result(
                &frontend,
                &format!(r#"{{"hostname": "{bad}", "ipv4": "203.0.113.8"}}"#)
            ),
            "notfqdn",
            "{bad}"
        );
    }
    assert_eq!(site.files_in("new").len(), 1);
}

#[test]
fn an_address_with_a_zone_id_is_dnserr_never_a_job() {
    let (site, frontend, token) = site_with_token();
    for address in [
        "fe80::1%25eth0",
        "fe80::1%eth0",
        "2001:db8::7%25eth0",
        "%5B2001:db8::7%25eth0%5D",
        "203.0.113.7%25eth0",
    ] {
        let query = format!("hostname={HOST}&myip={address}");
        assert_eq!(dyndns2(&frontend, &query), "dnserr", "{address}");
        assert_eq!(
            tplink(&frontend, &query),
            (400, "Invalid IP".to_owned()),
            "{address}"
        );
        assert_eq!(
            token_url(&frontend, &token, &format!("hostname={HOST}&ip={address}")),
            "dnserr",
            "{address}"
        );
    }
    for (family, address) in [("ipv6", "fe80::1%eth0"), ("ipv6", "2001:db8::7%eth0")] {
        let (status, answer) = json_api(
            &frontend,
            format!(r#"{{"hostname": "{HOST}", "{family}": "{address}"}}"#).as_bytes(),
        );
        assert_eq!(status, 400, "{address}: {answer}");
    }
    assert_no_job(&site);
}

#[test]
fn a_json_body_over_64_kib_is_413_never_a_job() {
    let (site, frontend, _token) = site_with_token();
    let padding = " ".repeat(64 * 1024);
    let body = format!(r#"{{"hostname": "{HOST}", "ipv4": "203.0.113.7"{padding}}}"#);
    let (status, answer) = json_api(&frontend, body.as_bytes());
    assert_eq!(status, 413, "{answer}");
    // Chunked, without a length to refuse up front.
    let mut request = format!(
        "POST /api/v1/update HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        basic()
    )
    .into_bytes();
    for chunk in body.as_bytes().chunks(4096) {
        request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    let reply = raw_request(frontend.address, &request);
    assert_eq!(reply.status, 413, "{}", reply.body);
    // Nesting deeper than the parser follows is a malformed body.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let (status, answer) = json_api(&frontend, deep.as_bytes());
    assert_eq!(status, 400, "{answer}");
    assert_no_job(&site);
}

#[test]
fn a_zone_id_or_junk_after_a_prefix_length_is_dnserr_not_good() {
    // The length after `/` was dropped unread, so `2001:db8::7/64%eth0` published 2001:db8::7.
    let (site, frontend, token) = site_with_token();
    for address in [
        "2001:db8::7/64%25eth0",
        "2001:db8::7/eth0",
        "2001:db8::7/129",
        "203.0.113.7/33",
        "203.0.113.7/",
    ] {
        let query = format!("hostname={HOST}&myip={address}");
        assert_eq!(dyndns2(&frontend, &query), "dnserr", "{address}");
        assert_eq!(
            tplink(&frontend, &query),
            (400, "Invalid IP".to_owned()),
            "{address}"
        );
        assert_eq!(
            token_url(&frontend, &token, &format!("hostname={HOST}&ip={address}")),
            "dnserr",
            "{address}"
        );
    }
    assert_no_job(&site);
    // The Fritz!Box form, with a real length, still works.
    assert_eq!(
        dyndns2(
            &frontend,
            &format!("hostname={HOST}&myip=203.0.113.7&myipv6=2001:db8:1:2::/64")
        ),
        "good 203.0.113.7,2001:db8:1:2::"
    );
}

#[test]
fn a_json_body_declared_over_64_kib_is_413_without_waiting_for_it() {
    // The body was read up to the limit, so an announced 10 MB that never came held the
    // connection open until the client gave up, instead of a 413.
    let (site, frontend, _token) = site_with_token();
    let request = format!(
        "POST /api/v1/update HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: {}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{{",
        basic()
    );
    let reply = raw_request(frontend.address, request.as_bytes());
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_no_job(&site);
}

#[test]
fn a_lan_prefix_longer_than_64_or_shorter_than_48_is_dnserr_never_a_job() {
    // Also for a user without LAN hosts: the request is wrong whatever the config holds.
    let (site, frontend, token) = site_with_token();
    for prefix in [
        "2001:db8::/47",
        "2001:db8:1:2::/65",
        "2001:db8::/0",
        "2001:db8::/128",
        "2001:db8::%25eth0/64",
        "2001:db8::/64%25eth0",
        "203.0.113.0/24",
    ] {
        for key in ["ip6lanprefix", "ipv6prefix"] {
            let query = format!("hostname={HOST}&myip=203.0.113.7&{key}={prefix}");
            assert_eq!(dyndns2(&frontend, &query), "dnserr", "{query}");
            let query = format!("hostname={HOST}&ip=203.0.113.7&{key}={prefix}");
            assert_eq!(token_url(&frontend, &token, &query), "dnserr", "{query}");
        }
        let decoded = prefix.replace("%25", "%");
        let (status, answer) = json_api(
            &frontend,
            format!(
                r#"{{"hostname": "{HOST}", "ipv4": "203.0.113.7", "ipv6prefix": "{decoded}"}}"#
            )
            .as_bytes(),
        );
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("dnserr")),
            "{prefix}"
        );
    }
    assert_no_job(&site);
}
