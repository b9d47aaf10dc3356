//! Why this exists: SIGHUP re-reads the config of a running `dyndns serve` (the real binary): new
//! users work without a restart, open connections survive, a changed password's remembered
//! credential is forgotten while others stay, and a broken config leaves the old one serving.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use util::{eventually, Frontend, Site, HOST, PASSWORD, USER};

fn hang_up(frontend: &Frontend) {
    kill(Pid::from_raw(frontend.child.id() as i32), Signal::SIGHUP).expect("send SIGHUP");
}

/// Waits until the log has `count` lines containing `marker`.
fn wait_for_log(site: &Site, marker: &str, count: usize) {
    let seen = eventually(Duration::from_secs(10), || {
        site.frontend_log().matches(marker).count() >= count
    });
    assert!(
        seen,
        "no {count}× \"{marker}\" in the log: {}",
        site.frontend_log()
    );
}

fn append_to_config(site: &Site, text: &str) {
    let mut config = std::fs::read_to_string(site.config_path()).unwrap();
    config.push_str(text);
    std::fs::write(site.config_path(), config).unwrap();
}

/// One GET on a kept-alive connection; the status line and body.
fn keep_alive_get(
    stream: &mut BufReader<TcpStream>,
    path: &str,
    credentials: (&str, &str),
) -> (String, String) {
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", credentials.0, credentials.1));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {token}\r\n\r\n");
    stream.get_mut().write_all(request.as_bytes()).unwrap();
    let mut status = String::new();
    stream.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (status.trim().to_string(), String::from_utf8(body).unwrap())
}

#[test]
fn a_user_added_before_sighup_updates_without_a_restart_and_an_open_connection_survives() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let stream = TcpStream::connect(frontend.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut kept = BufReader::new(stream);
    let path = format!("/nic/update?hostname={HOST}&myip=203.0.113.7");
    let (status, body) = keep_alive_get(&mut kept, &path, (USER, PASSWORD));
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "good 203.0.113.7\n")
    );

    let newcomer = "/nic/update?hostname=new.dyn.example.com&myip=203.0.113.9";
    let before = frontend.get(newcomer, Some(("newcomer", PASSWORD)));
    assert_eq!(before.body, "badauth\n", "not configured yet");

    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    append_to_config(
        &site,
        &format!(
            "\n[[user]]\nname = \"newcomer\"\npassword_hash = \"{hash}\"\nhosts = [\"new.dyn.example.com\"]\n"
        ),
    );
    hang_up(&frontend);
    wait_for_log(&site, "config reloaded", 1);

    let after = frontend.get(newcomer, Some(("newcomer", PASSWORD)));
    assert_eq!(after.body, "good 203.0.113.9\n", "{}", site.frontend_log());
    let (status, body) = keep_alive_get(&mut kept, &path, (USER, PASSWORD));
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "nochg 203.0.113.7\n"),
        "the connection opened before the reload still answers, and the nochg memory survived"
    );
    assert!(frontend_alive(&frontend));
}

fn frontend_alive(frontend: &Frontend) -> bool {
    kill(Pid::from_raw(frontend.child.id() as i32), None).is_ok()
}

#[test]
fn a_changed_password_is_forgotten_at_sighup_while_another_users_remembered_one_still_works() {
    // One failed login per minute: the second locks the source out, and then only a credential
    // the frontend remembers passes. That tells a remembered credential from one checked anew.
    let site = Site::with(
        String::new(),
        "per_user_per_minute = 0\nper_source_per_minute = 0\nauth_failures_per_source_per_minute = 1\n"
            .into(),
    );
    let frontend = site.start_frontend();
    let mine = format!("/nic/update?hostname={HOST}&myip=203.0.113.7");
    let others = "/nic/update?hostname=other.dyn.example.com&myip=203.0.113.8";
    assert_eq!(
        frontend.get(&mine, Some((USER, PASSWORD))).body,
        "good 203.0.113.7\n"
    );
    assert_eq!(
        frontend.get(others, Some(("other", PASSWORD))).body,
        "good 203.0.113.8\n"
    );

    let config = std::fs::read_to_string(site.config_path()).unwrap();
    let marker = format!("name = \"{USER}\"\npassword_hash = \"");
    let start = config.find(&marker).unwrap() + marker.len();
    let end = start + config[start..].find('"').unwrap();
    let new_hash = bcrypt::hash("new password", 4).unwrap();
    let changed = format!("{}{new_hash}{}", &config[..start], &config[end..]);
    std::fs::write(site.config_path(), changed).unwrap();
    hang_up(&frontend);
    wait_for_log(&site, "config reloaded", 1);

    assert_eq!(
        frontend.get(&mine, Some((USER, "new password"))).body,
        "nochg 203.0.113.7\n"
    );
    let old = frontend.get(&mine, Some((USER, PASSWORD)));
    assert_eq!(
        old.body, "badauth\n",
        "the old password's remembered credential was forgotten"
    );
    let _ = frontend.get(&mine, Some((USER, PASSWORD)));
    // Locked out now: only remembered credentials pass.
    assert_eq!(
        frontend.get(others, Some(("other", PASSWORD))).body,
        "nochg 203.0.113.8\n",
        "the other user's remembered credential survived the reload"
    );
    assert_eq!(
        frontend.get(&mine, Some((USER, "new password"))).body,
        "abuse\n",
        "the source is locked out: a credential not remembered is refused unchecked"
    );
}

#[test]
fn a_broken_config_at_sighup_is_logged_with_its_place_and_the_old_one_serves_on() {
    let site = Site::new();
    let frontend = site.start_frontend();
    append_to_config(&site, "\n[[user]]\nname = \"broken\"\nhosts = 7\n");
    hang_up(&frontend);
    wait_for_log(&site, "config not reloaded", 1);
    let log = site.frontend_log();
    let place = format!("{}:", site.config_path().display());
    assert!(log.contains(&place), "the error names the file: {log}");
    assert!(log.contains("hosts"), "the error names the key: {log}");
    assert!(!log.contains("config reloaded"), "{log}");
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "good 203.0.113.7\n",
        "the old config still serves"
    );

    // A later good config is taken, and a setting that needs a restart keeps its old value.
    site.write_config();
    let moved = format!("listen = \"127.0.0.1:{}\"", util::free_port());
    let text = std::fs::read_to_string(site.config_path()).unwrap();
    let text = text.replace(&format!("listen = \"127.0.0.1:{}\"", site.port), &moved);
    std::fs::write(site.config_path(), text).unwrap();
    hang_up(&frontend);
    wait_for_log(&site, "config reloaded", 1);
    let log = site.frontend_log();
    assert!(
        log.contains("needs a restart") && log.contains("frontend.listen"),
        "{log}"
    );
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "nochg 203.0.113.7\n",
        "still on the old address"
    );
}

/// A token as `dyndns hash-password --token` makes it, and its config line.
fn status_token() -> (String, String) {
    let output = std::process::Command::new(util::frontend_binary())
        .args(["hash-password", "--token"])
        .output()
        .expect("run dyndns hash-password --token");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    (
        lines.next().unwrap().to_owned(),
        lines.next().unwrap().to_owned(),
    )
}

/// `dyndns_requests_total` summed over its labels.
fn requests_counted(frontend: &Frontend, token: &str) -> u64 {
    let bearer = format!("Bearer {token}");
    let metrics = frontend.request("/metrics", None, &[("Authorization", &bearer)]);
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    metrics
        .body
        .lines()
        .filter(|line| line.starts_with("dyndns_requests_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_sighup_storm_while_updates_and_status_polls_flow_fails_no_request_and_keeps_the_counts() {
    let (token, line) = status_token();
    let site = Site::with(
        format!("status_token_hashes = [\"{line}\"]"),
        "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
    );
    let frontend = site.start_frontend();
    let bearer = format!("Bearer {token}");
    let pid = Pid::from_raw(frontend.child.id() as i32);
    const HANGUPS: usize = 300;
    let answers = std::thread::scope(|scope| {
        let storm = scope.spawn(|| {
            for _ in 0..HANGUPS {
                kill(pid, Signal::SIGHUP).expect("send SIGHUP");
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let mut answers = Vec::new();
        for n in 0..100u32 {
            let address = format!("203.0.113.{}", 1 + n % 2);
            let update = frontend.get(
                &format!("/nic/update?hostname={HOST}&myip={address}"),
                Some((USER, PASSWORD)),
            );
            answers.push((update.status, update.body.clone(), address));
            let status = frontend.request("/status", None, &[("Authorization", &bearer)]);
            assert_eq!(status.status, 200, "{}", status.body);
        }
        storm.join().unwrap();
        answers
    });
    for (status, body, address) in &answers {
        assert_eq!(*status, 200);
        assert!(
            *body == format!("good {address}\n") || *body == format!("nochg {address}\n"),
            "{body:?} for {address}"
        );
    }
    wait_for_log(&site, "config reloaded", 1);
    assert!(frontend_alive(&frontend));
    assert_eq!(
        requests_counted(&frontend, &token),
        100,
        "the update counts survive every reload"
    );

    // The token taken out of the config: refused once a reload read it, and from then on (the
    // storm's last reloads may still be under way, so the reload that read it is not counted).
    let text = std::fs::read_to_string(site.config_path()).unwrap();
    std::fs::write(
        site.config_path(),
        text.replace(&format!("status_token_hashes = [\"{line}\"]"), ""),
    )
    .unwrap();
    hang_up(&frontend);
    let refused = |path: &str| {
        frontend
            .request(path, None, &[("Authorization", &bearer)])
            .status
            == 404
    };
    assert!(eventually(Duration::from_secs(10), || refused("/status")));
    for _ in 0..20 {
        assert!(refused("/status") && refused("/metrics"));
    }
}
