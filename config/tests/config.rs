//! The config contract: the shipped example parses, and every mistake names file:line:column:key.

use std::path::Path;

use dyndns_config::{AuthMode, BackendKind, Config, ConfigError, Listen};

const MINIMAL: &str = r#"
[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "zonefile"
state_dir = "state"

[[zone]]
name = "dyn.example.com"

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
hosts = ["home.dyn.example.com"]

[backend.zonefile]
path = "zones/{zone}.zone"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/dyndns/test.toml"))
}

fn error(text: &str) -> ConfigError {
    parse(text).expect_err("config should be refused")
}

#[test]
fn shipped_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dyndns.example.toml");
    let config = Config::load(&path).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.worker.backend, BackendKind::Plesk);
    assert_eq!(config.zones[0].backend_zone, "example.com");
    assert_eq!(config.zones[0].label_of("home.dyn.example.com"), "home.dyn");
    assert!(config.backends.plesk.is_some() && config.backends.zonefile.is_some());
    assert_eq!(config.frontend.auth, AuthMode::Builtin);
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
fn password_hash_file_is_read_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("router.hash"),
        "$2y$05$abcdefghijklmnopqrstuuJ0xY1bVu9bKqHpNqZ2M6KpK6bT2m1Jq\n",
    )
    .unwrap();
    let text = MINIMAL.replace(
        "password_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\"",
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
        "password_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\"\n",
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
    assert!(config
        .check_job("router", "other.dyn.example.com", &public)
        .unwrap_err()
        .contains("may not update"));
    assert!(config
        .check_job("router", "www.example.org", &public)
        .unwrap_err()
        .contains("outside every"));
    assert!(config
        .check_job("ghost", "home.dyn.example.com", &public)
        .unwrap_err()
        .contains("not configured"));
    assert!(config
        .check_job("router", "HOME.dyn.example.com", &public)
        .unwrap_err()
        .contains("canonical"));
    let private = ["192.168.1.2".parse().unwrap()];
    assert!(config
        .check_job("router", "home.dyn.example.com", &private)
        .unwrap_err()
        .contains("private"));
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
