//! Why this exists: user mistakes the config's own checks cannot see: a user who may update no host,
//! a password hash copied from the published example, whose password everyone can read, and one
//! that may have been cut short where a complete hash could look the same.

use std::path::Path;

use dyndns_config::password_hash::{argon2_output_len, USUAL_ARGON2_OUTPUT};
use dyndns_config::Config;

use super::Findings;

/// The example shipped with the source; its hashes are public, with their password beside them.
const EXAMPLE: &str = include_str!("../../dyndns.example.toml");

pub fn check_users(config: &Config, findings: &mut Findings) {
    let published = published_hashes();
    for user in &config.users {
        if user.hosts.is_empty() && user.lan_hosts.is_empty() {
            findings.warning(format!(
                "user `{}` has no hosts, so it may update nothing; list them in its `hosts`",
                user.name
            ));
        }
        if let Some(hash) = &user.password_hash {
            if let Some(bytes) = argon2_output_len(hash).filter(|&len| len < USUAL_ARGON2_OUTPUT) {
                findings.warning(format!(
                    "user `{}`: the argon2 hash value is {bytes} bytes, shorter than the \
                     {USUAL_ARGON2_OUTPUT} `dyndns hash-password` and most tools write: if it was \
                     cut short when pasted, this user always gets `badauth` (copy the whole line \
                     again); made that short on purpose (passlib writes 16), it is fine",
                    user.name
                ));
            }
            if published.iter().any(|example| example == hash) {
                findings.error(format!(
                    "user `{}` has the password hash published in dyndns.example.toml, whose \
                     password anyone can read there; make a new one with `dyndns hash-password`",
                    user.name
                ));
            }
        }
    }
}

fn published_hashes() -> Vec<String> {
    // The example is parsed by a test (config/tests), so it always parses; if it ever did not,
    // there would simply be no published hash to compare with.
    Config::parse(EXAMPLE, Path::new("dyndns.example.toml"))
        .map(|example| {
            example
                .users
                .into_iter()
                .filter_map(|user| user.password_hash)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_has_a_hash_to_recognise() {
        assert!(!super::published_hashes().is_empty());
    }
}
