//! The `[backend.plesk-api]` table: each key checked at load with file:line:column:key, the key and
//! CA files resolved (never read) by the config, and the example's commented table valid.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dyndns_config::{BackendKind, Config, SecretSource};
use util::{example_uncommented, parse, site_config};

const PLESK_API: &str = site_config!(
    "plesk-api",
    "backend_zone = \"example.com\"\n",
    "[backend.plesk-api]\napi_url = \"https://plesk.example.com:8443/\"\napi_key_file = \"plesk-api.key\"\n"
);

fn with(line: &str) -> String {
    format!("{PLESK_API}{line}\n")
}

#[test]
fn plesk_api_defaults_timeout_and_trust_and_resolves_the_key_file_without_reading_it() {
    let config = parse(PLESK_API).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.worker.backend, BackendKind::PleskApi);
    let plesk_api = config.backends.plesk_api.as_ref().unwrap();
    assert_eq!(plesk_api.api_url, "https://plesk.example.com:8443");
    assert_eq!(plesk_api.timeout, Duration::from_secs(30));
    assert_eq!(plesk_api.tls_ca_file, None);
    assert_eq!(
        plesk_api.api_key,
        SecretSource::File(PathBuf::from("/etc/dyndns/plesk-api.key"))
    );
    let summary = dyndns_config::summary(&config);
    assert!(
        summary.contains("api key <masked> from file /etc/dyndns/plesk-api.key, trusting public"),
        "{summary}"
    );
}

#[test]
fn plesk_api_key_comes_from_the_environment_without_a_file() {
    let text = PLESK_API.replace("api_key_file = \"plesk-api.key\"\n", "");
    let config = parse(&text).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        config.backends.plesk_api.unwrap().api_key,
        SecretSource::Env("DYNDNS_PLESK_API_KEY".to_owned())
    );
}

#[test]
fn tls_ca_file_resolves_against_the_config_folder_and_shows_in_the_summary() {
    let config = parse(&with("tls_ca_file = \"plesk-ca.pem\"")).unwrap_or_else(|e| panic!("{e}"));
    let plesk_api = config.backends.plesk_api.as_ref().unwrap();
    assert_eq!(
        plesk_api.tls_ca_file.as_deref(),
        Some(Path::new("/etc/dyndns/plesk-ca.pem"))
    );
    let summary = dyndns_config::summary(&config);
    assert!(
        summary.contains("trusting certificates from /etc/dyndns/plesk-ca.pem"),
        "{summary}"
    );
}

#[test]
fn tls_ca_file_mistakes_point_at_their_key_line_and_column() {
    let empty = parse(&with("tls_ca_file = \"\"")).expect_err("an empty file name");
    assert_eq!(empty.key, "backend.plesk-api.tls_ca_file", "{empty}");
    assert_eq!((empty.line, empty.column), (24, 1), "{empty}");
    assert!(empty.message.contains("PEM file"), "{empty}");

    // A CA for plain http would never be used: refused rather than silently ignored.
    let http = PLESK_API.replace("https://", "http://") + "tls_ca_file = \"ca.pem\"\n";
    let err = parse(&http).expect_err("a CA for http://");
    assert_eq!(err.key, "backend.plesk-api.tls_ca_file", "{err}");
    assert_eq!((err.line, err.column), (24, 1), "{err}");
    assert!(err.message.contains("https://"), "{err}");
    assert!(
        err.to_string().starts_with("/etc/dyndns/test.toml:24:1:"),
        "{err}"
    );
}

#[test]
fn plesk_api_mistakes_point_at_their_key() {
    for (from, to, key) in [
        (
            "api_url = \"https://plesk.example.com:8443/\"",
            "api_url = \"https://plesk.example.com:8443/api/v2\"",
            "backend.plesk-api.api_url",
        ),
        (
            "api_url = \"https://plesk.example.com:8443/\"",
            "api_url = \"plesk.example.com\"",
            "backend.plesk-api.api_url",
        ),
        (
            "api_key_file = \"plesk-api.key\"",
            "api_key_file = \"\"",
            "backend.plesk-api.api_key_file",
        ),
        (
            "api_key_file = \"plesk-api.key\"",
            "api_key_file = \"plesk-api.key\"\ntimeout_secs = 0",
            "backend.plesk-api.timeout_secs",
        ),
    ] {
        let err = parse(&PLESK_API.replace(from, to)).expect_err(to);
        assert_eq!(err.key, key, "{err}");
        assert!(err.line >= 22, "{err}");
    }
    let err = parse(&with("api_token_file = \"x\"")).expect_err("unknown key");
    assert!(err.to_string().contains("api_token_file"), "{err}");
}

#[test]
fn example_plesk_api_table_parses_when_uncommented() {
    let (path, text) = example_uncommented();
    let text = text.replace("backend = \"plesk\"", "backend = \"plesk-api\"");
    let config = Config::parse(&text, &path).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.worker.backend, BackendKind::PleskApi);
    let plesk_api = config.backends.plesk_api.unwrap();
    assert_eq!(plesk_api.api_url, "https://plesk.example.com:8443");
    assert_eq!(
        plesk_api.api_key,
        SecretSource::File("/etc/dyndns/plesk-api-key".into())
    );
    assert_eq!(
        plesk_api.tls_ca_file.as_deref(),
        Some(Path::new("/etc/dyndns/plesk-ca.pem"))
    );
    assert_eq!(plesk_api.timeout, Duration::from_secs(30));
}
