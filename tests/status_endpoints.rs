//! `/health`, `/status` and `/metrics` against the real frontend and the real worker: what a load
//! balancer, a dashboard and Prometheus see after real updates, and what nobody else sees.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use dyndns_queue::Heartbeat;
use util::{frontend_binary, Response, Site, HOST, PASSWORD, USER};

/// A token and its config line, made as the operator makes them.
fn new_token() -> (String, String) {
    let output = Command::new(frontend_binary())
        .args(["hash-password", "--token"])
        .output()
        .expect("run dyndns hash-password --token");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("text");
    let mut lines = text.lines();
    let token = lines.next().expect("the token").to_owned();
    let line = lines.next().expect("its hash").to_owned();
    assert!(line.starts_with("sha256:"), "{line}");
    (token, line)
}

/// A site whose `/status` and `/metrics` take `token`, and whose `/health` checks the heartbeat.
fn site_with_token(extra: &str) -> (Site, String) {
    let (token, line) = new_token();
    let site = Site::with(
        format!("status_token_hashes = [\"{line}\"]\n{extra}"),
        "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
    );
    (site, token)
}

fn json(response: &Response) -> serde_json::Value {
    serde_json::from_str(&response.body)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", response.body))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Nothing the operator keeps secret is in a body. (Paths may be, in a backend's error that
/// `/status` shows behind its token; `/health`, open to all, is checked for them too.)
fn assert_no_secrets(site: &Site, token: Option<&str>, body: &str) {
    let config = std::fs::read_to_string(site.config_path()).expect("config");
    for secret in [PASSWORD, "$2b$", "sha256:"] {
        assert!(!body.contains(secret), "{secret:?} in {body}");
    }
    if let Some(token) = token {
        assert!(!body.contains(token), "the token in {body}");
    }
    let hash = config
        .lines()
        .find_map(|line| line.strip_prefix("password_hash = "))
        .expect("a hash");
    assert!(!body.contains(hash.trim_matches('"')), "{body}");
}

#[test]
fn health_is_200_only_while_the_spool_is_writable_and_the_worker_beat_recently() {
    let site = Site::with(
        "heartbeat_max_age_secs = 60".into(),
        "per_user_per_minute = 0\n".into(),
    );
    let frontend = site.start_frontend();
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 503, "no worker ever ran: {}", health.body);
    let body = json(&health);
    assert_eq!(body["status"], "no worker heartbeat");
    assert_eq!(body["heartbeat_age_secs"], serde_json::Value::Null);
    assert_eq!(body["spool_writable"], true);

    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7"))
            .body,
        "good 203.0.113.7\n"
    );
    assert_eq!(json(&frontend.get("/health", None))["spool_depth"], 1);
    site.run_worker_once();
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 200, "{}", health.body);
    let body = json(&health);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["spool_depth"], 0, "the job was applied");
    assert_eq!(body["heartbeat_max_age_secs"], 60);
    assert_eq!(body["worker_running"], false, "--run-once stopped cleanly");
    assert!(body["heartbeat_age_secs"]
        .as_u64()
        .is_some_and(|age| age <= 60));
    assert_no_secrets(&site, None, &health.body);
    assert!(!health.body.contains(site.path().to_str().expect("path")));

    // A worker that stopped beating ten minutes ago.
    let state_dir = site.path().join("state");
    let mut beat = Heartbeat::read(&state_dir).expect("reads").expect("there");
    beat.beat_at -= Duration::from_secs(600);
    beat.write(&state_dir).expect("write the old beat");
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(json(&health)["status"], "worker heartbeat too old");
    assert!(json(&health)["heartbeat_age_secs"]
        .as_u64()
        .is_some_and(|age| age >= 600));

    site.run_worker_once();
    assert_eq!(frontend.get("/health", None).status, 200);
    // new/ gone (as root, a mode would not stop us; privileges.rs checks modes as nobody).
    let moved = site.path().join("new-moved");
    std::fs::rename(site.spool("new"), &moved).expect("move new/ away");
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(json(&health)["status"], "spool not writable");
    assert_eq!(json(&health)["spool_writable"], false);
    std::fs::rename(&moved, site.spool("new")).expect("move new/ back");
    assert_eq!(frontend.get("/health", None).status, 200);
}

#[test]
fn health_ignores_the_heartbeat_when_its_max_age_is_0() {
    let site = Site::new();
    let frontend = site.start_frontend();
    let health = frontend.get("/health", None);
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(
        json(&health)["heartbeat_max_age_secs"],
        serde_json::Value::Null
    );
}

#[test]
fn status_and_metrics_are_404_without_tokens_and_401_without_the_right_one() {
    let site = Site::new();
    let frontend = site.start_frontend();
    for path in ["/status", "/metrics"] {
        assert_eq!(frontend.get(path, None).status, 404, "{path} is off");
    }

    let (site, token) = site_with_token("");
    let frontend = site.start_frontend();
    let (other, _) = new_token();
    for path in ["/status", "/metrics"] {
        for (what, headers) in [
            ("no token", vec![]),
            ("a wrong token", vec![("Authorization", bearer(&other))]),
            (
                "the token as Basic",
                vec![("Authorization", format!("Basic {token}"))],
            ),
            ("a bare token", vec![("Authorization", token.clone())]),
            (
                "the token cut short",
                vec![("Authorization", bearer(&token[..token.len() - 1]))],
            ),
            (
                "the token and more",
                vec![("Authorization", bearer(&format!("{token}A")))],
            ),
            (
                "the token and a word",
                vec![("Authorization", bearer(&format!("{token} {token}")))],
            ),
            ("an empty token", vec![("Authorization", "Bearer ".into())]),
            (
                "no token after the scheme",
                vec![("Authorization", "Bearer".into())],
            ),
            (
                "the scheme twice",
                vec![("Authorization", format!("Bearer Bearer {token}"))],
            ),
            (
                "a tab for the space",
                vec![("Authorization", format!("Bearer\t{token}"))],
            ),
        ] {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let response = frontend.request(path, None, &headers);
            assert_eq!(response.status, 401, "{path} with {what}");
            assert_eq!(
                response.header("www-authenticate"),
                Some("Bearer realm=\"dyndns\""),
                "{path} with {what}"
            );
        }
        // Basic credentials of an update user are no token either.
        assert_eq!(frontend.get(path, Some((USER, PASSWORD))).status, 401);
        let ok = frontend.request(path, None, &[("Authorization", &bearer(&token))]);
        assert_eq!(ok.status, 200, "{path}: {}", ok.body);
        let lower = frontend.request(path, None, &[("Authorization", &format!("bearer {token}"))]);
        assert_eq!(lower.status, 200, "the scheme is case-insensitive");
        // RFC 7235: `auth-scheme 1*SP token68`; the scheme in any case.
        for spelt in [format!("Bearer   {token}"), format!("BEARER {token}")] {
            let ok = frontend.request(path, None, &[("Authorization", &spelt)]);
            assert_eq!(ok.status, 200, "{spelt:?}");
        }
    }
}

#[test]
fn status_shows_the_hosts_the_real_worker_applied_and_a_dead_letter_as_last_error() {
    let (site, token) = site_with_token("");
    let frontend = site.start_frontend();
    let status = || {
        let response = frontend.request("/status", None, &[("Authorization", &bearer(&token))]);
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_no_secrets(&site, Some(&token), &response.body);
        json(&response)
    };
    let before = status();
    assert_eq!(before["host_count"], 0);
    assert_eq!(before["status"], "ok");
    assert_eq!(before["last_check"], serde_json::Value::Null);

    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.7,2001:db8::7"))
            .status,
        200
    );
    assert_eq!(status()["pending"], 1);
    site.run_worker_once();
    let applied = status();
    assert_eq!(applied["status"], "ok", "{applied}");
    assert_eq!(applied["host_count"], 1);
    assert_eq!(applied["pending"], 0);
    assert_eq!(applied["failed"], 0);
    assert!(applied["last_check"].is_string(), "{applied}");
    let host = &applied["hosts"][0];
    assert_eq!(host["hostname"], HOST);
    assert_eq!(host["ipv4"], "203.0.113.7");
    assert_eq!(host["ipv6"], "2001:db8::7");
    assert!(host["last_update"].is_string(), "{host}");
    assert_eq!(host["last_error"], serde_json::Value::Null);

    // Plesk no longer knows the zone: the next change is dead-lettered.
    site.plesk_control("unknown-zones", "example.com\n");
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.8"))
            .status,
        200
    );
    let output = site.worker_command().arg("--run-once").output().unwrap();
    assert_eq!(output.status.code(), Some(3), "a dead letter");
    let failed = status();
    assert_eq!(failed["status"], "degraded", "{failed}");
    assert_eq!(failed["failed"], 1);
    let host = &failed["hosts"][0];
    assert_eq!(
        host["ipv4"], "203.0.113.7",
        "DNS still holds the old address"
    );
    let error = &host["last_error"];
    assert_eq!(error["event"], "dead_letter", "{error}");
    assert_eq!(error["family"], "ipv4");
    assert_eq!(error["current"], true);
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|text| text.contains("Unable to find domain")),
        "{error}"
    );

    // Plesk knows the zone again: the next change lands and the error is history.
    site.remove_plesk_control("unknown-zones");
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&myip=203.0.113.9"))
            .status,
        200
    );
    site.run_worker_once();
    let mended = status();
    assert_eq!(mended["status"], "ok", "{mended}");
    assert_eq!(mended["hosts"][0]["ipv4"], "203.0.113.9");
    assert_eq!(mended["hosts"][0]["last_error"]["current"], false);
}

/// One sample of the text format: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A strict reader of Prometheus's text format 0.0.4, as far as this body uses it: `# HELP` and
/// `# TYPE` before a family's samples, metric and label names of the allowed characters, quoted
/// label values with only `\\`, `\"` and `\n` escaped, a float value, no timestamp.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    fn name_ok(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    assert!(text.ends_with('\n'), "the body ends with a line feed");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name, tail) = (parts.next(), parts.next(), parts.next());
            let name = name.unwrap_or_else(|| panic!("bad comment: {line}"));
            assert!(name_ok(name), "{line}");
            match keyword {
                Some("HELP") => assert!(tail.is_some_and(|t| !t.is_empty()), "{line}"),
                Some("TYPE") => {
                    let kind = tail.unwrap_or_default();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{line}"
                    );
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "TYPE twice: {line}"
                    );
                }
                _ => panic!("unknown comment: {line}"),
            }
            continue;
        }
        assert!(!line.is_empty(), "no blank lines");
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            text => text.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let mut labels = BTreeMap::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let label: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert!(name_ok(&label), "label name {label:?}: {line}");
                    assert_eq!(chars.next(), Some('"'), "{line}");
                    let mut value = String::new();
                    loop {
                        match chars.next() {
                            Some('\\') => match chars.next() {
                                Some('\\') => value.push('\\'),
                                Some('"') => value.push('"'),
                                Some('n') => value.push('\n'),
                                other => panic!("bad escape {other:?}: {line}"),
                            },
                            Some('"') => break,
                            Some(c) => value.push(c),
                            None => panic!("unterminated value: {line}"),
                        }
                    }
                    assert!(labels.insert(label, value).is_none(), "{line}");
                    match chars.next() {
                        Some(',') | None => {}
                        other => panic!("after a label {other:?}: {line}"),
                    }
                }
                (name, labels)
            }
        };
        assert!(name_ok(name), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "no TYPE before {line}");
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| *value)
}

#[test]
fn metrics_parse_as_prometheus_text_and_move_with_requests_and_the_workers_jobs() {
    let (site, token) = site_with_token("");
    let frontend = site.start_frontend();
    let metrics = || {
        let response = frontend.request("/metrics", None, &[("Authorization", &bearer(&token))]);
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        assert_no_secrets(&site, Some(&token), &response.body);
        assert!(!response.body.contains(HOST), "no host names as labels");
        assert!(!response.body.contains(USER), "no user names as labels");
        parse_prometheus(&response.body)
    };
    let requests = |samples: &[Sample], result: &str| {
        sample(
            samples,
            "dyndns_requests_total",
            &[("dialect", "dyndns2"), ("result", result)],
        )
    };
    let before = metrics();
    assert_eq!(requests(&before, "good"), Some(0.0));
    assert_eq!(
        sample(&before, "dyndns_worker_heartbeat_age_seconds", &[]),
        None,
        "no worker yet"
    );

    let update = format!("hostname={HOST}&myip=203.0.113.7");
    assert_eq!(frontend.update(&update).body, "good 203.0.113.7\n");
    assert_eq!(frontend.update(&update).body, "nochg 203.0.113.7\n");
    let wrong = frontend.get(&format!("/nic/update?{update}"), Some((USER, "wrong")));
    assert_eq!(wrong.status, 401);
    let spooled = metrics();
    assert_eq!(requests(&spooled, "good"), Some(1.0));
    assert_eq!(requests(&spooled, "nochg"), Some(1.0));
    assert_eq!(requests(&spooled, "badauth"), Some(1.0));
    assert_eq!(
        sample(&spooled, "dyndns_spool_jobs", &[("folder", "new")]),
        Some(1.0)
    );

    site.run_worker_once();
    let applied = metrics();
    let jobs = |outcome: &str| {
        sample(
            &applied,
            "dyndns_worker_jobs_total",
            &[("backend", "plesk"), ("outcome", outcome)],
        )
    };
    assert_eq!(jobs("applied"), Some(1.0));
    assert_eq!(jobs("dead_lettered"), Some(0.0));
    assert_eq!(
        sample(&applied, "dyndns_spool_jobs", &[("folder", "new")]),
        Some(0.0)
    );
    assert_eq!(
        sample(&applied, "dyndns_spool_jobs", &[("folder", "failed")]),
        Some(0.0)
    );
    assert!(sample(&applied, "dyndns_worker_heartbeat_age_seconds", &[]).is_some());
    assert_eq!(sample(&applied, "dyndns_worker_running", &[]), Some(0.0));
    let batches = |suffix: &str, le: Option<&str>| {
        let mut labels = vec![("backend", "plesk")];
        labels.extend(le.map(|le| ("le", le)));
        sample(
            &applied,
            &format!("dyndns_worker_batch_duration_seconds{suffix}"),
            &labels,
        )
    };
    assert_eq!(batches("_count", None), Some(1.0));
    assert_eq!(batches("_bucket", Some("+Inf")), Some(1.0));
    let buckets: Vec<f64> = applied
        .iter()
        .filter(|(name, labels, _)| {
            name == "dyndns_worker_batch_duration_seconds_bucket"
                && labels.get("backend").is_some_and(|b| b == "plesk")
        })
        .map(|(_, _, value)| *value)
        .collect();
    assert!(
        buckets.windows(2).all(|pair| pair[0] <= pair[1]),
        "cumulative buckets: {buckets:?}"
    );
}
