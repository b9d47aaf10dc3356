//! The config contract: the shipped example parses, and every mistake names file:line:column:key.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;

use dyndns_config::{
    AuthMode, BackendKind, Config, HeartbeatCheck, JobRejection, Listen, SecretSource,
};
use util::{error, example_uncommented, parse, MINIMAL};

#[test]
fn shipped_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dyndns.example.toml");
    let config = Config::load(&path).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.worker.backend, BackendKind::Plesk);
    assert_eq!(config.zones[0].backend_zone, "example.com");
    assert_eq!(
        config.zones[0].label_of("home.dyn.example.com").as_deref(),
        Some("home.dyn")
    );
    assert!(config.backends.plesk.is_some() && config.backends.zonefile.is_some());
    assert_eq!(config.frontend.auth, AuthMode::Builtin);
}

#[test]
fn example_reload_names_the_backend_zone_not_the_update_zone() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dyndns.example.toml");
    let config = Config::load(&path).unwrap_or_else(|err| panic!("{err}"));
    let reload = config.backends.zonefile.unwrap().reload.unwrap();
    for zone in &config.zones {
        assert!(
            !reload.contains(&zone.name) || zone.name == zone.backend_zone,
            "the zone file written is {}.zone, but reload names {}: {reload:?}",
            zone.backend_zone,
            zone.name
        );
    }
    assert!(reload.iter().any(|arg| arg == "{zone}"), "{reload:?}");
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.spool_dir, Path::new("/etc/dyndns/spool"));
    assert_eq!(config.worker.state_dir, Path::new("/etc/dyndns/state"));
    let zonefile = config.backends.zonefile.unwrap();
    assert_eq!(zonefile.path, Path::new("/etc/dyndns/zones/{zone}.zone"));
    assert_eq!(
        config.frontend.listen,
        Listen::Tcp("127.0.0.1:8245".parse().unwrap())
    );
}

#[test]
fn unknown_key_names_file_line_column_and_key() {
    let text = MINIMAL.replace("[spool]\n", "[spool]\ncolour = \"blue\"\n");
    let err = error(&text);
    assert_eq!(err.key, "spool.colour");
    assert_eq!((err.line, err.column), (6, 1), "{err}");
    let shown = err.to_string();
    assert!(
        shown.starts_with("/etc/dyndns/test.toml:6:1: key `spool.colour`"),
        "{shown}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let text = MINIMAL.replace(
        "name = \"dyn.example.com\"",
        "name = \"dyn.example.com\"\nttl = \"sixty\"",
    );
    let err = error(&text);
    assert_eq!(err.key, "zone[0].ttl");
    assert_eq!(err.line, 14, "{err}");
}

#[test]
fn missing_required_key_is_named() {
    let text = MINIMAL.replace("dir = \"spool\"\n", "");
    let err = error(&text);
    assert!(err.message.contains("missing field `dir`"), "{err}");
    assert_eq!(err.key, "spool.dir");
    let err = error(&MINIMAL.replace("[spool]\ndir = \"spool\"\n", ""));
    assert_eq!(err.key, "spool", "a missing table is named too: {err}");
    let no_zone = MINIMAL.replace("[[zone]]\nname = \"dyn.example.com\"\n", "");
    assert_eq!(error(&no_zone).key, "zone");
}

#[test]
fn host_outside_every_zone_points_at_the_host() {
    let text = MINIMAL.replace(
        "hosts = [\"home.dyn.example.com\"]",
        "hosts = [\"home.dyn.example.com\", \"www.example.org\"]",
    );
    let err = error(&text);
    assert_eq!(err.key, "user[0].hosts[1]");
    assert_eq!((err.line, err.column), (18, 34), "{err}");
    assert!(
        err.message.contains("outside every configured zone"),
        "{err}"
    );
}

#[test]
fn bad_values_point_at_their_key() {
    let cases = [
        (
            "listen = \"127.0.0.1:8245\"",
            "listen = \"localhost\"",
            "frontend.listen",
            3,
        ),
        (
            "backend = \"zonefile\"",
            "backend = \"cloudy\"",
            "worker.backend",
            9,
        ),
        (
            "backend = \"zonefile\"",
            "backend = \"plesk\"",
            "worker.backend",
            9,
        ),
        (
            "name = \"dyn.example.com\"",
            "name = \"dyn..example.com\"",
            "zone[0].name",
            13,
        ),
        ("name = \"router\"", "name = \"a:b\"", "user[0].name", 16),
        (
            "password_hash = \"$argon2id",
            "password_hash = \"plain$argon2id",
            "user[0].password_hash",
            17,
        ),
    ];
    for (from, to, key, line) in cases {
        let err = error(&MINIMAL.replace(from, to));
        assert_eq!(err.key, key, "{err}");
        assert_eq!(err.line, line, "{err}");
        assert!(err.column >= 1);
    }
}

#[test]
fn backend_zone_must_contain_the_zone() {
    let text = MINIMAL.replace(
        "name = \"dyn.example.com\"",
        "name = \"dyn.example.com\"\nbackend_zone = \"example.org\"",
    );
    let err = error(&text);
    assert_eq!(err.key, "zone[0].backend_zone");
    assert_eq!(err.line, 14);
}

#[test]
fn label_of_a_host_outside_the_backend_zone_is_none_not_a_panic() {
    let config = parse(MINIMAL).unwrap_or_else(|err| panic!("{err}"));
    let zone = &config.zones[0];
    assert_eq!(zone.label_of(&zone.backend_zone).as_deref(), Some(""));
    assert_eq!(zone.label_of("home.example.org"), None);
    assert_eq!(zone.label_of(&format!("x{}", zone.backend_zone)), None);
}

#[test]
fn password_hash_file_is_read_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("router.hash"),
        "$2y$05$abcdefghijklmnopqrstuuJ0xY1bVu9bKqHpNqZ2M6KpK6bT2m1Jq\n",
    )
    .unwrap();
    let text = MINIMAL.replace(
        "password_hash = \"$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0\"",
        "password_hash_file = \"router.hash\"",
    );
    let path = dir.path().join("dyndns.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap_or_else(|err| panic!("{err}"));
    assert!(config.users[0]
        .password_hash
        .as_deref()
        .unwrap()
        .starts_with("$2y$05$"));
    assert!(
        !format!("{:?}", config.users[0]).contains("$2y$"),
        "Debug must mask the hash"
    );
}

#[test]
fn unreadable_file_names_the_path() {
    let err = Config::load(Path::new("/nonexistent/dyndns.toml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/dyndns.toml: cannot read"),
        "{err}"
    );
    assert!(err.message.contains("--config PATH"), "the fix: {err}");
}

#[test]
fn proxy_mode_needs_trusted_proxies_and_no_passwords() {
    let text = MINIMAL.replace(
        "listen = \"127.0.0.1:8245\"",
        "listen = \"127.0.0.1:8245\"\nauth = \"proxy\"",
    );
    assert_eq!(error(&text).key, "frontend.auth");
    let text = text.replace(
        "auth = \"proxy\"",
        "auth = \"proxy\"\ntrusted_proxies = [\"127.0.0.1\"]",
    );
    let text = text.replace(
        "password_hash = \"$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0\"\n",
        "",
    );
    let config = parse(&text).unwrap_or_else(|err| panic!("{err}"));
    assert!(config.users[0].password_hash.is_none());
}

#[test]
fn jobs_are_rechecked_against_zones_users_and_addresses() {
    let config = parse(MINIMAL).unwrap();
    let public = ["203.0.113.7".parse().unwrap()];
    assert!(config
        .check_job("router", "home.dyn.example.com", &public)
        .is_ok());
    let refused = |user: &str, host: &str, addresses: &[std::net::IpAddr]| {
        config.check_job(user, host, addresses).unwrap_err()
    };
    let err = refused("router", "other.dyn.example.com", &public);
    assert!(matches!(err, JobRejection::NotAllowed { .. }), "{err}");
    assert!(err.to_string().contains("may not update"), "{err}");
    let err = refused("router", "www.example.org", &public);
    assert!(matches!(err, JobRejection::OutsideZones { .. }), "{err}");
    let err = refused("ghost", "home.dyn.example.com", &public);
    assert!(matches!(err, JobRejection::UnknownUser { .. }), "{err}");
    let err = refused("router", "HOME.dyn.example.com", &public);
    assert!(matches!(err, JobRejection::NotCanonical { .. }), "{err}");
    let err = refused("router", "home..example.com", &public);
    assert!(matches!(err, JobRejection::BadHost { .. }), "{err}");
    let private = ["192.168.1.2".parse().unwrap()];
    let err = refused("router", "home.dyn.example.com", &private);
    assert!(matches!(err, JobRejection::Unpublishable { .. }), "{err}");
    assert!(err.to_string().contains("private"), "{err}");
}

#[test]
fn a_delete_only_job_has_no_address_to_check_but_keeps_every_other_rule() {
    let config = parse(MINIMAL).unwrap();
    assert!(config
        .check_job("router", "home.dyn.example.com", &[])
        .is_ok());
    let err = config
        .check_job("router", "other.dyn.example.com", &[])
        .unwrap_err();
    assert!(matches!(err, JobRejection::NotAllowed { .. }), "{err}");
}

#[test]
fn failed_keep_days_defaults_to_thirty_and_zero_keeps_for_ever() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(
        config.worker.failed_keep,
        Some(std::time::Duration::from_secs(30 * 86_400))
    );
    let with = |days: &str| {
        MINIMAL.replace(
            "[worker]\n",
            &format!("[worker]\nfailed_keep_days = {days}\n"),
        )
    };
    assert_eq!(parse(&with("0")).unwrap().worker.failed_keep, None);
    assert_eq!(error(&with("100000")).key, "worker.failed_keep_days");
}

#[test]
fn history_and_heartbeat_keys_have_defaults_and_bounds_named_by_key() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.worker.history_max_bytes, 10 << 20);
    assert_eq!(config.worker.history_keep, 5);
    assert_eq!(config.worker.heartbeat, std::time::Duration::from_secs(30));
    let with = |line: &str| MINIMAL.replace("[worker]\n", &format!("[worker]\n{line}\n"));
    let config = parse(&with(
        "history_max_bytes = 65536\nhistory_keep = 2\nheartbeat_secs = 1",
    ))
    .unwrap();
    assert_eq!(
        (config.worker.history_max_bytes, config.worker.history_keep),
        (65536, 2)
    );
    assert_eq!(config.worker.heartbeat, std::time::Duration::from_secs(1));
    for (line, key) in [
        ("history_max_bytes = 100", "worker.history_max_bytes"),
        ("history_keep = 0", "worker.history_keep"),
        ("heartbeat_secs = 0", "worker.heartbeat_secs"),
        ("heartbeat_secs = 3601", "worker.heartbeat_secs"),
    ] {
        let err = error(&with(line));
        assert_eq!(err.key, key, "{line}: {err}");
    }
}

#[test]
fn admin_defaults_to_false_and_a_non_boolean_names_the_key() {
    let config = parse(MINIMAL).unwrap();
    assert!(!config.users[0].admin);
    let with = |line: &str| {
        MINIMAL.replace(
            "hosts = [\"home.dyn.example.com\"]",
            &format!("hosts = [\"home.dyn.example.com\"]\n{line}"),
        )
    };
    assert!(parse(&with("admin = true")).unwrap().users[0].admin);
    let err = error(&with("admin = \"yes\""));
    assert_eq!(err.key, "user[0].admin", "{err}");
}

#[test]
fn status_keys_default_off_and_bad_values_name_file_line_column_and_key() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(
        config.frontend.heartbeat_check,
        HeartbeatCheck::FromInterval
    );
    assert_eq!(
        config.frontend.heartbeat_check.max_age(30),
        Some(std::time::Duration::from_secs(120)),
        "two beats of the default 30 s and a minute"
    );
    assert!(config.frontend.status_token_hashes.0.is_empty());
    let with = |line: &str| MINIMAL.replace("[frontend]\n", &format!("[frontend]\n{line}\n"));
    let hash = format!("sha256:{}", "ab".repeat(32));
    let config = parse(&with(&format!(
        "heartbeat_max_age_secs = 0\nstatus_token_hashes = [\"{hash}\"]"
    )))
    .unwrap();
    assert_eq!(config.frontend.heartbeat_check, HeartbeatCheck::Off);
    assert_eq!(config.frontend.heartbeat_check.max_age(30), None);
    assert_eq!(config.frontend.status_token_hashes.0, [[0xab; 32]]);
    assert_eq!(
        format!("{:?}", config.frontend.status_token_hashes),
        "1 token hash(es)",
        "never the hashes themselves"
    );
    let config = parse(&with("heartbeat_max_age_secs = 4000")).unwrap();
    assert_eq!(
        config.frontend.heartbeat_check.max_age(30),
        Some(std::time::Duration::from_secs(4000))
    );
    for (line, key, column) in [
        (
            "heartbeat_max_age_secs = 604801",
            "frontend.heartbeat_max_age_secs",
            1,
        ),
        (
            "status_token_hashes = [\"sha256:abc\"]",
            "frontend.status_token_hashes[0]",
            24,
        ),
        (
            &format!("status_token_hashes = [\"{hash}\", \"{hash}\"]"),
            "frontend.status_token_hashes[1]",
            99,
        ),
    ] {
        let err = error(&with(line));
        assert_eq!(
            (err.key.as_str(), err.line, err.column),
            (key, 3, column),
            "{line}: {err}"
        );
        assert!(
            err.to_string().starts_with("/etc/dyndns/test.toml:3:"),
            "{err}"
        );
    }
}

#[test]
fn zone_file_soa_names_are_checked_at_load() {
    let text = MINIMAL.replace(
        "path = \"zones/{zone}.zone\"",
        "path = \"zones/{zone}.zone\"\nhostmaster = \"admin@example.com\"",
    );
    let err = error(&text);
    assert_eq!(err.key, "backend.zonefile.hostmaster");
    assert_eq!(err.line, 22, "{err}");
    assert!(err.message.contains("`admin@example.com`"), "{err}");
    assert!(err.message.contains("`-` and `_`"), "{err}");
}

const GOOD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0";

#[test]
fn truncated_password_hash_is_a_config_error_at_its_key() {
    let cut = &GOOD_HASH[..GOOD_HASH.len() - 10];
    let err = error(&MINIMAL.replace(GOOD_HASH, cut));
    assert_eq!(err.key, "user[0].password_hash", "{err}");
    assert_eq!((err.line, err.column), (17, 1), "{err}");
    assert!(err.message.contains("cut short"), "{err}");
    let bcrypt = "$2y$05$abcdefghijklmnopqrstuuJ0xY1bVu9bKqHpNqZ2M6KpK6bT2m1J";
    let err = error(&MINIMAL.replace(GOOD_HASH, bcrypt));
    assert_eq!(err.key, "user[0].password_hash", "{err}");
    assert!(err.message.contains("bcrypt"), "{err}");
}

#[test]
fn truncated_hash_in_password_hash_file_names_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let hash_file = dir.path().join("router.hash");
    std::fs::write(&hash_file, &GOOD_HASH[..60]).unwrap();
    let text = MINIMAL.replace(
        &format!("password_hash = \"{GOOD_HASH}\""),
        "password_hash_file = \"router.hash\"",
    );
    let path = dir.path().join("dyndns.toml");
    std::fs::write(&path, text).unwrap();
    let err = Config::load(&path).unwrap_err();
    assert_eq!(err.key, "user[0].password_hash_file", "{err}");
    assert_eq!(err.line, 17, "{err}");
    assert!(
        err.message
            .starts_with(&format!("{}: ", hash_file.display())),
        "{err}"
    );
}

#[test]
fn user_name_longer_than_a_job_carries_is_a_config_error() {
    let long = "r".repeat(dyndns_config::user_name::MAX_USER_BYTES + 1);
    let err = error(&MINIMAL.replace("name = \"router\"", &format!("name = \"{long}\"")));
    assert_eq!(err.key, "user[0].name", "{err}");
    assert!(err.message.contains("longer than 256 bytes"), "{err}");
    let err = error(&MINIMAL.replace("name = \"router\"", "name = \"rou\\u0007ter\""));
    assert!(err.message.contains("control characters"), "{err}");
    let err = error(&MINIMAL.replace("name = \"router\"", "name = \"rou:ter\""));
    assert!(err.message.contains("Basic auth"), "{err}");
    let longest = "r".repeat(dyndns_config::user_name::MAX_USER_BYTES);
    parse(&MINIMAL.replace("name = \"router\"", &format!("name = \"{longest}\"")))
        .unwrap_or_else(|err| panic!("{err}"));
}

#[test]
fn client_address_header_is_one_of_three_and_defaults_to_x_forwarded_for() {
    use dyndns_config::ClientAddressHeader;
    let config = parse(MINIMAL).unwrap();
    assert_eq!(
        config.frontend.client_address_header,
        ClientAddressHeader::XForwardedFor
    );
    let with = |value: &str| {
        MINIMAL.replace(
            "listen = \"127.0.0.1:8245\"",
            &format!("listen = \"127.0.0.1:8245\"\nclient_address_header = \"{value}\""),
        )
    };
    for (value, header) in [
        ("X-Real-IP", ClientAddressHeader::XRealIp),
        ("forwarded", ClientAddressHeader::Forwarded),
    ] {
        let config = parse(&with(value)).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(config.frontend.client_address_header, header);
    }
    let err = error(&with("X-Client-IP"));
    assert_eq!(err.key, "frontend.client_address_header");
    assert_eq!((err.line, err.column), (4, 1), "{err}");
    assert!(err.to_string().contains("X-Client-IP"), "{err}");
}

#[test]
fn ipv6_source_prefix_defaults_to_64_and_is_a_sane_length() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.frontend.limits.ipv6_source_prefix, 64);
    let with = |value: &str| {
        MINIMAL.replace(
            "[spool]\n",
            &format!("[frontend.limits]\nipv6_source_prefix = {value}\n\n[spool]\n"),
        )
    };
    let config = parse(&with("56")).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.frontend.limits.ipv6_source_prefix, 56);
    for bad in ["129", "8"] {
        let err = error(&with(bad));
        assert_eq!(err.key, "frontend.limits.ipv6_source_prefix", "{err}");
        assert_eq!(err.line, 6, "{err}");
    }
}

const POWERDNS: &str = r#"
[backend.powerdns]
api_url = "http://127.0.0.1:8081/"
api_key_file = "pdns.key"
"#;

fn on_powerdns(table: &str) -> String {
    MINIMAL.replace("backend = \"zonefile\"", "backend = \"powerdns\"") + table
}

#[test]
fn powerdns_backend_defaults_server_id_and_timeout_and_resolves_the_key_file() {
    let config = parse(&on_powerdns(POWERDNS)).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.worker.backend, BackendKind::PowerDns);
    let powerdns = config.backends.powerdns.unwrap();
    assert_eq!(powerdns.api_url, "http://127.0.0.1:8081");
    assert_eq!(powerdns.server_id, "localhost");
    assert_eq!(
        powerdns.api_key,
        SecretSource::File("/etc/dyndns/pdns.key".into())
    );
    assert_eq!(powerdns.timeout, std::time::Duration::from_secs(10));
    // The summary shows where the key is, never the key.
    let summary = dyndns_config::summary(&parse(&on_powerdns(POWERDNS)).unwrap());
    assert!(
        summary.contains("api key <masked> from file /etc/dyndns/pdns.key"),
        "{summary}"
    );
}

#[test]
fn powerdns_bad_values_point_at_their_key() {
    let err = error(&on_powerdns(&POWERDNS.replace("http://", "ftp://")));
    assert_eq!(err.key, "backend.powerdns.api_url");
    assert_eq!((err.line, err.column), (24, 1), "{err}");
    let err = error(&on_powerdns(&format!("{POWERDNS}timeout_secs = 0\n")));
    assert_eq!(err.key, "backend.powerdns.timeout_secs");
    let err = error(&on_powerdns(&format!("{POWERDNS}server_id = \"a/b\"\n")));
    assert_eq!(err.key, "backend.powerdns.server_id");
    let err = error(&MINIMAL.replace("backend = \"zonefile\"", "backend = \"powerdns\""));
    assert_eq!(err.key, "worker.backend");
    assert!(err.message.contains("[backend.powerdns]"), "{err}");
}

#[test]
fn example_powerdns_table_parses_when_uncommented() {
    let (path, text) = example_uncommented();
    let text = text.replace("backend = \"plesk\"", "backend = \"powerdns\"");
    let config = Config::parse(&text, &path).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.worker.backend, BackendKind::PowerDns);
    let powerdns = config.backends.powerdns.unwrap();
    assert_eq!(powerdns.api_url, "http://127.0.0.1:8081");
    assert_eq!(
        powerdns.api_key,
        SecretSource::File("/etc/dyndns/powerdns-api-key".into())
    );
}

#[test]
fn a_fifo_at_the_config_path_is_refused_at_once_instead_of_blocking_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("dyndns.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // On a thread, so the test fails instead of hanging if the load blocks on the FIFO.
    let (sent, got) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || sent.send(Config::load(&path).map(|_| ())));
    let err = got
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("the load blocked on a FIFO (a SIGHUP would hang the process)")
        .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains(fifo.to_str().unwrap()), "{text}");
    assert!(text.contains("not a regular file"), "{text}");
}
