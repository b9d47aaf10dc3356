//! Each zone names its backend (`[[zone]] backend`, `create_missing`), and the tables of the
//! HTTP-API and command backends: each key checked at load with file:line:column:key, secrets only
//! located (a file, else an environment variable), never read.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::PathBuf;

use dyndns_config::{BackendKind, SecretSource};
use util::{error, parse};

const BASE: &str = r#"
[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "zonefile"
state_dir = "state"

[[zone]]
name = "dyn.example.com"

[[zone]]
name = "dyn.example.org"
backend = "cloudflare"
create_missing = false

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0"
hosts = ["home.dyn.example.com", "home.dyn.example.org"]

[backend.zonefile]
path = "/var/lib/bind/{zone}.zone"

[backend.cloudflare]
api_token_file = "cf.token"
"#;

#[test]
fn each_zone_has_its_backend_and_create_missing() {
    let config = parse(BASE).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.zones[0].backend, BackendKind::ZoneFile);
    assert!(config.zones[0].create_missing);
    assert_eq!(config.zones[1].backend, BackendKind::Cloudflare);
    assert!(!config.zones[1].create_missing);
    let cloudflare = config.backends.cloudflare.unwrap();
    assert_eq!(cloudflare.api_url, "https://api.cloudflare.com/client/v4");
    assert_eq!(
        cloudflare.api_token,
        SecretSource::File(PathBuf::from("/etc/dyndns/cf.token"))
    );
    assert!(!cloudflare.proxied);
    let summary = dyndns_config::summary(&parse(BASE).unwrap());
    assert!(
        summary.contains("zone: dyn.example.org (backend cloudflare, backend zone dyn.example.org, ttl 60, existing names only)"),
        "{summary}"
    );
    assert!(
        summary.contains("api token <masked> from file /etc/dyndns/cf.token"),
        "{summary}"
    );
}

#[test]
fn a_zone_naming_a_backend_without_its_table_or_an_unknown_one_points_at_the_key() {
    let err = error(&BASE.replace("backend = \"cloudflare\"", "backend = \"digitalocean\""));
    assert_eq!(err.key, "zone[1].backend");
    assert_eq!((err.line, err.column), (17, 1), "{err}");
    assert!(
        err.message.contains("no [backend.digitalocean] table"),
        "{err}"
    );
    let err = error(&BASE.replace("backend = \"cloudflare\"", "backend = \"route53\""));
    assert_eq!(err.key, "zone[1].backend");
    assert!(
        err.message.contains("`plesk-api`") && err.message.contains("`none`"),
        "{err}"
    );
    // `none` needs no table.
    let config = parse(&BASE.replace("backend = \"cloudflare\"", "backend = \"none\"")).unwrap();
    assert_eq!(config.zones[1].backend, BackendKind::None);
}

#[test]
fn a_secret_without_its_file_key_comes_from_the_environment() {
    let config = parse(&BASE.replace("api_token_file = \"cf.token\"\n", "")).unwrap();
    assert_eq!(
        config.backends.cloudflare.unwrap().api_token,
        SecretSource::Env("DYNDNS_CLOUDFLARE_API_TOKEN".to_owned())
    );
    let err = error(&BASE.replace("api_token_file = \"cf.token\"", "api_token_file = \"\""));
    assert_eq!(err.key, "backend.cloudflare.api_token_file");
}

#[test]
fn api_urls_and_the_other_tables_are_checked_at_their_keys() {
    let with = |table: &str| format!("{BASE}\n{table}\n");
    let err = error(&with("").replace(
        "api_token_file = \"cf.token\"",
        "api_url = \"ftp://api.example\"",
    ));
    assert_eq!(err.key, "backend.cloudflare.api_url");
    let err = error(&with(
        "[backend.plesk-api]\napi_url = \"https://plesk.example.com:8443/api\"",
    ));
    assert_eq!(err.key, "backend.plesk-api.api_url");
    let config = parse(&with(
        "[backend.plesk-api]\napi_url = \"https://plesk.example.com:8443/\"",
    ))
    .unwrap();
    let plesk_api = config.backends.plesk_api.unwrap();
    assert_eq!(plesk_api.api_url, "https://plesk.example.com:8443");
    assert_eq!(
        plesk_api.api_key,
        SecretSource::Env("DYNDNS_PLESK_API_KEY".to_owned())
    );
    let err = error(&with("[backend.command]\ncommand = []"));
    assert_eq!(err.key, "backend.command.command");
    let err = error(&with(
        "[backend.command]\ncommand = [\"/usr/local/bin/ddns-hook\"]\ntransient_exit_codes = [75, 0]",
    ));
    assert_eq!(err.key, "backend.command.transient_exit_codes[1]");
    let config = parse(&with(
        "[backend.command]\ncommand = [\"/usr/local/bin/ddns-hook\", \"{host}\"]",
    ))
    .unwrap();
    let command = config.backends.command.unwrap();
    assert_eq!(command.transient_exit_codes, [75]);
    assert_eq!(command.timeout.as_secs(), 30);
    let err = error(&with("[backend.none]\nkey = 1"));
    assert_eq!(err.key, "backend.none.key");
    let err = error(&with("[backend.digitalocean]\ntimeout_secs = 0"));
    assert_eq!(err.key, "backend.digitalocean.timeout_secs");
}

#[test]
fn a_timeout_the_clock_cannot_hold_is_refused() {
    // The largest TOML integer: each request's deadline (now + timeout) overflowed the clock, so
    // every request panicked and every change was retried for ever.
    let huge = "timeout_secs = 9223372036854775807";
    let with = |table: &str| format!("{BASE}\n{table}\n{huge}\n");
    for (table, key) in [
        ("", "backend.cloudflare.timeout_secs"),
        (
            "[backend.digitalocean]",
            "backend.digitalocean.timeout_secs",
        ),
        (
            "[backend.plesk-api]\napi_url = \"https://plesk.example.com:8443\"",
            "backend.plesk-api.timeout_secs",
        ),
        (
            "[backend.powerdns]\napi_url = \"http://127.0.0.1:8081\"",
            "backend.powerdns.timeout_secs",
        ),
        ("[backend.plesk]", "backend.plesk.timeout_secs"),
        (
            "[backend.rfc2136]\nserver = \"127.0.0.1:53\"\ntsig_key_name = \"k\"\ntsig_algorithm = \"hmac-sha256\"",
            "backend.rfc2136.timeout_secs",
        ),
    ] {
        let err = error(&with(table));
        assert_eq!(err.key, key, "{err}");
        assert!(err.to_string().contains("at most 86400"), "{err}");
    }
    let err = error(&BASE.replace(
        "path = \"/var/lib/bind/{zone}.zone\"\n",
        "path = \"/var/lib/bind/{zone}.zone\"\nreload_timeout_secs = 9223372036854775807\n",
    ));
    assert_eq!(err.key, "backend.zonefile.reload_timeout_secs", "{err}");
    let day = parse(&format!("{BASE}timeout_secs = 86400\n")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(day.backends.cloudflare.unwrap().timeout.as_secs(), 86_400);
}
