//! The TP-Link style update (`/ddns/update`) as the ddns_tplink server we replace answers it, over a
//! real socket: a router set up for that server works with only the host name in its URL changed.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use util::{Site, HOST, PASSWORD, USER};

/// The router's URL template with its placeholders filled in, as an ER605 sends it.
fn tplink(host: &str, ip: &str, user: &str, password: &str) -> String {
    format!(
        "/ddns/update?hostname={host}&myip={ip}&username={user}&password={}",
        password.replace(' ', "%20")
    )
}

#[test]
fn a_tplink_router_gets_the_seeds_answers_word_for_word() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let reply = frontend.get(&tplink(HOST, "203.0.113.7", USER, PASSWORD), None);
    assert_eq!((reply.status, reply.body.as_str()), (200, "DNS updated"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(site.files_in("new").len(), 1);
    let reply = frontend.get(&tplink(HOST, "203.0.113.7", USER, PASSWORD), None);
    assert_eq!((reply.status, reply.body.as_str()), (200, "IP unchanged"));
    assert_eq!(
        site.files_in("new").len(),
        1,
        "an unchanged address spools nothing"
    );

    let cases = [
        (
            tplink(HOST, "203.0.113.8", USER, "guess"),
            403,
            "Unauthorized",
        ),
        (
            format!("/ddns/update?myip=203.0.113.8&username={USER}&password=x"),
            400,
            "Missing parameters",
        ),
        (
            format!("/ddns/update?hostname={HOST}&myip=203.0.113.8"),
            400,
            "Missing parameters",
        ),
        (
            tplink("other.dyn.example.com", "203.0.113.8", USER, PASSWORD),
            400,
            "Unknown hostname",
        ),
        (
            tplink("bad_host.dyn.example.com", "203.0.113.8", USER, PASSWORD),
            400,
            "Invalid hostname",
        ),
        (tplink(HOST, "10.0.0.8", USER, PASSWORD), 400, "Invalid IP"),
        (tplink(HOST, "256.1.1.1", USER, PASSWORD), 400, "Invalid IP"),
    ];
    for (path, status, body) in &cases {
        let reply = frontend.get(path, None);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (*status, *body),
            "{path}"
        );
    }
    assert_eq!(
        site.files_in("new").len(),
        1,
        "no refused request spooled a job"
    );

    // `ip` wins over `myip`; credentials by Basic auth (a router's user:password@ URL) work too.
    let reply = frontend.get(
        &format!("/ddns/update?hostname={HOST}&myip=203.0.113.9&ip=203.0.113.10"),
        Some((USER, PASSWORD)),
    );
    assert_eq!((reply.status, reply.body.as_str()), (200, "DNS updated"));
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.10"));
    assert_eq!(
        reply.body, "nochg 203.0.113.10\n",
        "the same update path remembers it"
    );

    let log = site.frontend_log();
    assert!(!log.contains("guess") && !log.contains("correct"), "{log}");
}
