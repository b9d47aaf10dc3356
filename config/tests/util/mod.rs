//! The config tests' shared parts: the one config every file starts from (a frontend, a spool, a
//! worker on one backend, the zone `dyn.example.com` and the user `router`), and parsing it as if it
//! were `/etc/dyndns/test.toml`. The text is a `concat!` of literals, so each file's start is a
//! `const` and the line numbers its error tests expect stay where they are.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use dyndns_config::{Config, ConfigError};

/// The hash of the password `router` logs in with in these configs.
pub const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0";

/// The config on worker backend `$backend`, with `$zone` lines in the zone's table and `$tables`
/// after the user (the backend's own table first).
macro_rules! site_config {
    ($backend:literal, $zone:literal, $tables:literal) => {
        concat!(
            "\n[frontend]\nlisten = \"127.0.0.1:8245\"\n\n[spool]\ndir = \"spool\"\n\n[worker]\nbackend = \"",
            $backend,
            "\"\nstate_dir = \"state\"\n\n[[zone]]\nname = \"dyn.example.com\"\n",
            $zone,
            "\n[[user]]\nname = \"router\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0\"\nhosts = [\"home.dyn.example.com\"]\n\n",
            $tables
        )
    };
}

// Not every test file uses it.
#[allow(unused_imports)]
pub(crate) use site_config;

/// The plainest config: the zone-file backend.
pub const MINIMAL: &str = site_config!(
    "zonefile",
    "",
    "[backend.zonefile]\npath = \"zones/{zone}.zone\"\n"
);

pub fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/dyndns/test.toml"))
}

pub fn error(text: &str) -> ConfigError {
    parse(text).expect_err("the config is refused")
}

/// `dyndns.example.toml` with its commented-out tables switched on: key lines there start with `#`
/// and no space, doc lines with `# `. Its path, to parse it as that file.
pub fn example_uncommented() -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dyndns.example.toml");
    let text = std::fs::read_to_string(&path).expect("read the example config");
    let text = text
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest) if !rest.starts_with([' ', '#']) && !rest.is_empty() => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    (path, text)
}
