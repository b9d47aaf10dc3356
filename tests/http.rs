//! The dyndns2 protocol as routers meet it, over a real socket: answers, status codes, client address,
//! `nochg` that survives restarts, rate limits, and nothing leaked.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use util::{Site, HOST, PASSWORD, USER};

#[test]
fn missing_credentials_get_a_401_challenge() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}&myip=203.0.113.7"),
        None,
    );
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, "badauth\n");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"dyndns\"")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn wrong_password_and_unknown_user_are_badauth() {
    let site = Site::new();
    let frontend = site.start_frontend();
    for (user, password) in [(USER, "wrong"), ("nobody", PASSWORD)] {
        let reply = frontend.get(
            &format!("/nic/update?hostname={HOST}&myip=203.0.113.7"),
            Some((user, password)),
        );
        assert_eq!((reply.status, reply.body.as_str()), (401, "badauth\n"));
    }
    assert!(site.files_in("new").is_empty());
    let log = site.frontend_log();
    assert!(
        !log.contains("wrong") && !log.contains(PASSWORD),
        "passwords never reach the log"
    );
}

#[test]
fn good_then_nochg_without_a_second_job() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "good 203.0.113.7\n"
    );
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7"));
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "nochg 203.0.113.7\n")
    );
    assert_eq!(site.files_in("new").len(), 1);
    // /update is an alias; system=dyndns and legacy flags are accepted.
    let reply = frontend.get(
        &format!("/update?system=dyndns&hostname={HOST}&myip=203.0.113.7&wildcard=NOCHG&mx=NOCHG&backmx=NO&offline=NO"),
        Some((USER, PASSWORD)),
    );
    assert_eq!(reply.body, "nochg 203.0.113.7\n");
}

#[test]
fn one_line_per_host_in_order() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!(
        "hostname={HOST},a.lab.dyn.example.com,other.dyn.example.com,www.example.org,bad..name&myip=203.0.113.7"
    ));
    assert_eq!(
        reply.body,
        "good 203.0.113.7\ngood 203.0.113.7\nnohost\nnohost\nnotfqdn\n"
    );
    assert_eq!(site.files_in("new").len(), 2);
}

#[test]
fn request_level_errors_are_answered_once() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let many: Vec<String> = (0..21)
        .map(|index| format!("h{index}.lab.dyn.example.com"))
        .collect();
    assert_eq!(
        frontend
            .update(&format!("hostname={}&myip=203.0.113.7", many.join(",")))
            .body,
        "numhost\n"
    );
    // The user has a wildcard, so no host name cannot default to a single host.
    assert_eq!(frontend.update("myip=203.0.113.7").body, "notfqdn\n");
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&system=bogus"))
            .body,
        "badsys\n"
    );
    assert!(site.files_in("new").is_empty());
}

#[test]
fn unusable_addresses_are_refused() {
    let site = Site::new();
    let frontend = site.start_frontend();
    for myip in [
        "127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "10.0.0.1",
        "fe80::1",
        "::1",
        "not-an-ip",
        "203.0.113.1,203.0.113.2",
    ] {
        let reply = frontend.update(&format!("hostname={HOST}&myip={myip}"));
        assert_eq!(reply.body, "dnserr\n", "{myip}");
    }
    assert!(site.files_in("new").is_empty());
}

#[test]
fn dual_stack_in_any_order_and_myipv6() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!("hostname={HOST}&myip=2001:db8::7,203.0.113.7"));
    assert_eq!(reply.body, "good 203.0.113.7,2001:db8::7\n");
    let reply = frontend.update(&format!(
        "hostname={HOST}&myip=203.0.113.7&myipv6=2001:db8::8"
    ));
    assert_eq!(reply.body, "good 203.0.113.7,2001:db8::8\n");
    let jobs = site.files_in("new");
    let second = std::fs::read_to_string(site.spool("new").join(&jobs[1])).unwrap();
    assert!(
        !second.contains("ipv4"),
        "an unchanged family is not sent again: {second}"
    );
}

#[test]
fn client_address_comes_from_trusted_proxies_only() {
    let trusted = Site::with("trusted_proxies = [\"127.0.0.1/32\"]".into(), String::new());
    let frontend = trusted.start_frontend();
    let reply = frontend.request(
        &format!("/nic/update?hostname={HOST}"),
        Some((USER, PASSWORD)),
        &[("X-Forwarded-For", "6.6.6.6, 203.0.113.9")],
    );
    assert_eq!(reply.body, "good 203.0.113.9\n");

    let untrusted = Site::new();
    let frontend = untrusted.start_frontend();
    let reply = frontend.request(
        &format!("/nic/update?hostname={HOST}"),
        Some((USER, PASSWORD)),
        &[
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Real-IP", "203.0.113.9"),
        ],
    );
    assert_eq!(
        reply.body, "dnserr\n",
        "the peer 127.0.0.1 is used, and loopback is refused"
    );
}

#[test]
fn a_client_behind_the_proxy_cannot_pick_its_address_with_another_header() {
    // The proxy overwrote X-Forwarded-For (the default header); the client added the others.
    let site = Site::with("trusted_proxies = [\"127.0.0.1/32\"]".into(), String::new());
    let frontend = site.start_frontend();
    let reply = frontend.request(
        &format!("/nic/update?hostname={HOST}"),
        Some((USER, PASSWORD)),
        &[
            ("Forwarded", "for=198.51.100.66"),
            ("X-Real-IP", "198.51.100.66"),
            ("X-Forwarded-For", "203.0.113.9"),
        ],
    );
    assert_eq!(reply.body, "good 203.0.113.9\n");

    let site = Site::with(
        "trusted_proxies = [\"127.0.0.1/32\"]\nclient_address_header = \"Forwarded\"".into(),
        String::new(),
    );
    let frontend = site.start_frontend();
    let reply = frontend.request(
        &format!("/nic/update?hostname={HOST}"),
        Some((USER, PASSWORD)),
        &[
            ("X-Forwarded-For", "198.51.100.66"),
            (
                "Forwarded",
                "for=198.51.100.66, for=\"[2001:db8::9]:4711\";proto=https, for=unknown, for=_nginx",
            ),
        ],
    );
    assert_eq!(reply.body, "good 2001:db8::9\n");
}

/// A site behind a trusted proxy on 127.0.0.1 that locks a source out after 10 failed logins.
fn lockout_site() -> Site {
    Site::with(
        "trusted_proxies = [\"127.0.0.1/32\"]".into(),
        "per_user_per_minute = 0\nper_source_per_minute = 0\nauth_failures_per_source_per_minute = 10\n"
            .into(),
    )
}

fn update_from(
    frontend: &util::Frontend,
    client: &str,
    credentials: (&str, &str),
    myip: &str,
) -> String {
    frontend
        .request(
            &format!("/nic/update?hostname={HOST}&myip={myip}"),
            Some(credentials),
            &[("X-Forwarded-For", client)],
        )
        .body
}

#[test]
fn password_guessing_from_one_ipv6_prefix_locks_the_prefix_out() {
    let site = lockout_site();
    let frontend = site.start_frontend();
    let answers: Vec<String> = (1..=30)
        .map(|host| {
            update_from(
                &frontend,
                &format!("2001:db8:1:2::{host:x}"),
                (USER, "guess"),
                "203.0.113.7",
            )
        })
        .collect();
    assert!(answers[..10].iter().all(|answer| answer == "badauth\n"));
    assert!(
        answers[11..].iter().all(|answer| answer == "abuse\n"),
        "30 addresses of one /64 are one source: {answers:?}"
    );
    assert_eq!(
        update_from(
            &frontend,
            "2001:db8:1:2::beef",
            (USER, PASSWORD),
            "203.0.113.7"
        ),
        "abuse\n",
        "an unproven password is not checked from a locked-out source"
    );
    assert_eq!(
        update_from(
            &frontend,
            "2001:db8:1:3::1",
            (USER, PASSWORD),
            "203.0.113.7"
        ),
        "good 203.0.113.7\n",
        "the next /64 is another source"
    );
}

#[test]
fn a_lockout_never_locks_out_a_working_router() {
    let site = lockout_site();
    let frontend = site.start_frontend();
    let shared = "198.51.100.7"; // one CGNAT address for the router and a guesser
    assert_eq!(
        update_from(&frontend, shared, (USER, PASSWORD), "203.0.113.7"),
        "good 203.0.113.7\n"
    );
    for _ in 0..12 {
        update_from(&frontend, shared, ("other", "guess"), "203.0.113.8");
    }
    assert_eq!(
        update_from(&frontend, shared, ("other", PASSWORD), "203.0.113.8"),
        "abuse\n",
        "the source is locked out for credentials it has not proven"
    );
    assert_eq!(
        update_from(&frontend, shared, (USER, PASSWORD), "203.0.113.7"),
        "nochg 203.0.113.7\n",
        "the router's verified credential still passes"
    );
    assert_eq!(
        update_from(&frontend, shared, (USER, PASSWORD), "203.0.113.9"),
        "good 203.0.113.9\n"
    );
}

#[test]
fn nochg_survives_a_frontend_restart_with_and_without_the_worker() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "good 203.0.113.7\n"
    );
    assert_eq!(
        frontend
            .update("hostname=a.lab.dyn.example.com&myip=203.0.113.8")
            .body,
        "good 203.0.113.8\n"
    );
    drop(frontend);
    // One job applied by the worker (known from its state file), one still pending in new/.
    site.run_worker_once();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update("hostname=b.lab.dyn.example.com&myip=203.0.113.9")
            .body,
        "good 203.0.113.9\n"
    );
    drop(frontend);
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "nochg 203.0.113.7\n"
    );
    assert_eq!(
        frontend
            .update("hostname=b.lab.dyn.example.com&myip=203.0.113.9")
            .body,
        "nochg 203.0.113.9\n"
    );
    assert_eq!(site.files_in("new").len(), 1);
}

#[test]
fn a_dead_lettered_change_is_accepted_again() {
    let site = Site::new();
    site.plesk_control("unknown-zones", "example.com\n");
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "good 203.0.113.7\n"
    );
    let run = site.worker_command().arg("--run-once").output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(3),
        "the worker dead-lettered the job"
    );
    // The frontend learns from the worker's state that the change never landed.
    let retried = util::eventually(std::time::Duration::from_secs(5), || {
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body
            == "good 203.0.113.7\n"
    });
    assert!(
        retried,
        "the router's retry must not be answered nochg forever"
    );
}

#[test]
fn change_rate_limit_answers_abuse_but_never_limits_nochg() {
    let site = Site::with(
        String::new(),
        "per_user_per_minute = 2\nper_source_per_minute = 0\n".into(),
    );
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.1"))
            .body,
        "good 203.0.113.1\n"
    );
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.2"))
            .body,
        "good 203.0.113.2\n"
    );
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.3"))
            .body,
        "abuse\n"
    );
    for _ in 0..50 {
        assert_eq!(
            frontend
                .update(&format!("hostname={HOST}&myip=203.0.113.2"))
                .body,
            "nochg 203.0.113.2\n"
        );
    }
}

#[test]
fn password_guessing_locks_the_source_out() {
    let site = Site::with(
        String::new(),
        "auth_failures_per_source_per_minute = 3\n".into(),
    );
    let frontend = site.start_frontend();
    for _ in 0..4 {
        let reply = frontend.get(
            &format!("/nic/update?hostname={HOST}"),
            Some((USER, "guess")),
        );
        assert_eq!(reply.body, "badauth\n");
    }
    // Now even the right password is refused from this source until the minute is over.
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "abuse\n"
    );
}

#[test]
fn health_is_json_without_secrets_and_errors_leak_nothing() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 200);
    let json: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(json["status"], "ok");
    assert!(!health.body.contains(site.path().to_str().unwrap()));
    assert!(!health.body.contains("$2"));
    let missing = frontend.get("/etc/passwd", None);
    assert_eq!(missing.status, 404);
    assert!(!missing.body.contains('/'));
}

#[test]
fn unix_socket_listener_serves_and_trusts_the_proxy_headers() {
    let site = Site::new();
    let socket = site.listen_on_unix_socket();
    let frontend = site.start_unix_frontend(&socket, "frontend.log");
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}"),
        Some((USER, PASSWORD)),
        &[
            ("X-Real-IP", "198.51.100.66"),
            ("X-Forwarded-For", "203.0.113.44"),
        ],
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.body, "good 203.0.113.44\n",
        "only the configured header (X-Forwarded-For) is read"
    );
}

#[test]
fn guesses_through_the_unix_socket_without_an_address_header_are_still_limited() {
    // A web server that sets no client address header (or one the frontend cannot read) left the
    // client without a source, and failed logins without one were not counted at all.
    let site = Site::with(
        String::new(),
        "per_user_per_minute = 0\nper_source_per_minute = 0\nauth_failures_per_source_per_minute = 3\n"
            .into(),
    );
    let socket = site.listen_on_unix_socket();
    let frontend = site.start_unix_frontend(&socket, "frontend.log");
    let path = format!("/nic/update?hostname={HOST}&myip=203.0.113.7");
    for _ in 0..4 {
        let reply = frontend.get(&path, Some((USER, "guess")), &[]);
        assert_eq!(reply.body, "badauth\n");
    }
    let reply = frontend.get(&path, Some((USER, PASSWORD)), &[]);
    assert_eq!(
        reply.body, "abuse\n",
        "requests without an address are one source, locked out like any other"
    );
}

/// Runs `dyndns serve` to its end (bounded), returning its exit code and stderr.
fn serve_until_exit(site: &Site) -> (Option<i32>, String) {
    let log = site.path().join("second.log");
    let mut child = site
        .serve_command()
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let ended = util::eventually(std::time::Duration::from_secs(20), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !ended {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    (
        status.code(),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

#[test]
fn a_second_frontend_never_steals_a_live_unix_socket() {
    let site = Site::new();
    let socket = site.listen_on_unix_socket();
    let first = site.start_unix_frontend(&socket, "frontend.log");
    let (code, stderr) = serve_until_exit(&site);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&socket.display().to_string()) && stderr.contains("running process"),
        "{stderr}"
    );
    let reply = first.get(
        &format!("/nic/update?hostname={HOST}&myip=203.0.113.7"),
        Some((USER, PASSWORD)),
        &[],
    );
    assert_eq!(
        reply.body, "good 203.0.113.7\n",
        "the first frontend still answers on its socket"
    );
}

#[test]
fn a_stale_unix_socket_is_replaced_but_a_plain_file_is_not() {
    let site = Site::new();
    let socket = site.listen_on_unix_socket();
    std::fs::write(&socket, "not a socket").unwrap();
    let (code, stderr) = serve_until_exit(&site);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&socket.display().to_string()) && stderr.contains("is not a socket"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "not a socket");

    // A socket nobody accepts on any more, as a killed frontend leaves it.
    std::fs::remove_file(&socket).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let frontend = site.start_unix_frontend(&socket, "frontend.log");
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}&myip=203.0.113.7"),
        Some((USER, PASSWORD)),
        &[],
    );
    assert_eq!(reply.body, "good 203.0.113.7\n");
}

#[test]
fn sigterm_stops_the_frontend_cleanly() {
    let site = Site::new();
    let mut frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .status,
        200
    );
    util::terminate(&frontend.child);
    let stopped = util::eventually(std::time::Duration::from_secs(10), || {
        frontend.child.try_wait().ok().flatten().is_some()
    });
    assert!(stopped, "the frontend ignored SIGTERM");
    let status = frontend.child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(site.frontend_log().contains("dyndns frontend stopped"));
}

#[test]
fn hostile_names_cannot_forge_the_request_log_and_good_names_its_job() {
    let site = Site::new();
    let frontend = site.start_frontend();
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "good 203.0.113.7\n"
    );
    let job_file = site.files_in("new").remove(0);
    let job_id = job_file.split('.').nth(1).expect("<time>.<id>.json");
    // Percent-encoded: `x user="admin" result=good` and a newline followed by a fake line.
    frontend.update("hostname=x%20user%3D%22admin%22%20result%3Dgood,evil%0A2026%20INFO%20dyndns%3A%3Aupdate%3A%20update%20user%3D%22admin%22&myip=203.0.113.7");
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}"),
        Some(("admin\" result=\"good\nfake=1", "guess")),
    );
    assert_eq!(reply.body, "badauth\n");

    let request_lines = || -> Vec<String> {
        site.frontend_log()
            .lines()
            .filter(|line| line.contains("dyndns::update: update "))
            .map(str::to_string)
            .collect()
    };
    // The log writer flushes its batch every 10 ms.
    util::eventually(std::time::Duration::from_secs(5), || {
        request_lines().len() >= 3
    });
    let lines = request_lines();
    assert_eq!(
        lines.len(),
        3,
        "no request made a line of its own: {lines:#?}"
    );
    assert!(
        lines[0].ends_with(&format!("result=\"good 203.0.113.7\" jobs={job_id}")),
        "{}",
        lines[0]
    );
    for line in &lines[1..] {
        for forged in ["user=\"admin\"", " result=good", "result=\"good"] {
            assert!(!line.contains(forged), "{forged} in {line}");
        }
        // Even a reader that splits at spaces sees only the four keys.
        let fields = line.split_once(": update ").expect("the message").1;
        let keys: Vec<&str> = fields
            .split(' ')
            .map(|field| field.split('=').next().unwrap_or(field))
            .collect();
        assert_eq!(keys, ["user", "hosts", "client", "result"], "{line}");
    }
}

#[test]
fn credentials_in_the_query_work_for_clients_without_basic_auth_and_never_reach_the_log() {
    let site = Site::new();
    let frontend = site.start_frontend();
    // `correct horse`: the space percent-encoded, as a router's URL template sends it.
    let encoded = PASSWORD.replace(' ', "%20");
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}&myip=203.0.113.7&username={USER}&password={encoded}"),
        None,
    );
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "good 203.0.113.7\n")
    );
    // `user`/`pass` too, and `+` for a space.
    let plus = PASSWORD.replace(' ', "+");
    let reply = frontend.get(
        &format!("/update?user={USER}&pass={plus}&hostname={HOST}&myip=203.0.113.7"),
        None,
    );
    assert_eq!(reply.body, "nochg 203.0.113.7\n");
    // A wrong one is badauth; a user without a password is the 401 challenge.
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}&myip=203.0.113.8&username={USER}&password=guess-1"),
        None,
    );
    assert_eq!((reply.status, reply.body.as_str()), (401, "badauth\n"));
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}&myip=203.0.113.8&username={USER}"),
        None,
    );
    assert_eq!(reply.status, 401);
    // A Basic header wins over the query: its wrong password is not rescued by a right one there.
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}&myip=203.0.113.8&username={USER}&password={encoded}"),
        Some((USER, "guess-2")),
    );
    assert_eq!(reply.body, "badauth\n");
    assert_eq!(site.files_in("new").len(), 1);
    let log = site.frontend_log();
    for secret in ["correct", "guess-1", "guess-2"] {
        assert!(!log.contains(secret), "{secret} reached the log: {log}");
    }
}
