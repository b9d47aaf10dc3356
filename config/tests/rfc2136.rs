//! The `[backend.rfc2136]` table: each key checked at load with file:line:column:key, the secret file
//! resolved (never read) by the config.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::PathBuf;

use dyndns_config::{BackendKind, SecretSource};
use util::{parse, site_config};

const RFC2136: &str = site_config!(
    "rfc2136",
    "",
    "[backend.rfc2136]\nserver = \"127.0.0.1:5353\"\ntsig_key_name = \"dyndns\"\ntsig_algorithm = \"hmac-sha512\"\ntsig_secret_file = \"tsig.key\"\n"
);

#[test]
fn rfc2136_table_defaults_timeout_and_resolves_the_secret_file_without_reading_it() {
    let config = parse(RFC2136).unwrap();
    assert_eq!(config.worker.backend, BackendKind::Rfc2136);
    let rfc2136 = config.backends.rfc2136.unwrap();
    assert_eq!(rfc2136.server, "127.0.0.1:5353");
    assert_eq!(rfc2136.tsig_algorithm, "hmac-sha512");
    assert_eq!(rfc2136.timeout.as_secs(), 10);
    // /etc/dyndns/tsig.key does not exist here: the config only resolves the path.
    assert_eq!(
        rfc2136.tsig_secret,
        SecretSource::File(PathBuf::from("/etc/dyndns/tsig.key"))
    );
}

#[test]
fn rfc2136_mistakes_point_at_their_key() {
    for (from, to, key) in [
        (
            "server = \"127.0.0.1:5353\"",
            "server = \"127.0.0.1\"",
            "backend.rfc2136.server",
        ),
        (
            "tsig_key_name = \"dyndns\"",
            "tsig_key_name = \"dyn dns\"",
            "backend.rfc2136.tsig_key_name",
        ),
        (
            "tsig_algorithm = \"hmac-sha512\"",
            "tsig_algorithm = \"hmac-md5\"",
            "backend.rfc2136.tsig_algorithm",
        ),
        (
            "tsig_secret_file = \"tsig.key\"",
            "tsig_secret_file = \"tsig.key\"\ntimeout_secs = 0",
            "backend.rfc2136.timeout_secs",
        ),
    ] {
        let err = parse(&RFC2136.replace(from, to)).expect_err(to);
        assert_eq!(err.key, key, "{err}");
        assert!(err.line > 0, "{err}");
    }
    let missing = RFC2136.replace("tsig_key_name = \"dyndns\"\n", "");
    let err = parse(&missing).expect_err("tsig_key_name is required");
    assert!(err.to_string().contains("tsig_key_name"), "{err}");
}
