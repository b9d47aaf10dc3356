//! Why this exists: update tokens, the credential of the token-URL style (`GET /<token>`): made
//! here (`dyndns hash-password --token`), kept in the config only as their SHA-256, and matched
//! against every user's hashes in constant time, so neither a config nor a timing gives one away.
//! The bearer tokens of `/status` and `/metrics` are made, kept and matched the same way.

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use dyndns_config::User;

/// The shortest token taken: 22 base64url characters are 132 bits.
pub const MIN_LEN: usize = 22;
/// Longer paths are not tokens (and are not hashed).
pub const MAX_LEN: usize = 128;

/// Whether `text` can be a token at all: 22 to 128 characters of `[A-Za-z0-9_-]`.
pub fn well_formed(text: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// A new token: 32 random bytes (256 bits), base64url without padding (43 characters).
pub fn new_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The `token_hashes` line of a token: `sha256:<hex>`.
pub fn hash_line(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

/// The user whose `token_hashes` hold this token's hash. Every hash of every user is compared, in
/// constant time, whichever matches.
pub fn user_of<'a>(users: &'a [User], token: &str) -> Option<&'a User> {
    let digest = digest(token);
    let mut found = None;
    for user in users {
        if holds(&user.token_hashes, &digest) && found.is_none() {
            found = Some(user);
        }
    }
    found
}

/// Whether `hashes` (`[frontend] status_token_hashes`) hold this token's hash, every one compared
/// in constant time: the bearer tokens of `/status` and `/metrics`.
pub fn any_matches(hashes: &[[u8; 32]], token: &str) -> bool {
    holds(hashes, &digest(token))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares `digest` with every hash, never stopping at a match.
fn holds(hashes: &[[u8; 32]], digest: &[u8; 32]) -> bool {
    hashes
        .iter()
        .fold(subtle::Choice::from(0), |found, hash| {
            found | hash.ct_eq(digest)
        })
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_is_well_formed_and_its_line_is_its_sha256() {
        let token = new_token();
        assert_eq!(token.len(), 43);
        assert!(well_formed(&token));
        assert_ne!(new_token(), token);
        // echo -n abc | sha256sum
        assert_eq!(
            hash_line("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_bearer_token_matches_only_its_own_hash_among_several() {
        let token = new_token();
        let other = new_token();
        let hash_of = |token: &str| digest(token);
        let hashes = [hash_of(&other), hash_of(&token)];
        assert!(any_matches(&hashes, &token));
        assert!(any_matches(&hashes, &other));
        assert!(!any_matches(&hashes, &new_token()));
        assert!(!any_matches(&[], &token));
        assert_eq!(
            hash_line(&token),
            format!(
                "sha256:{}",
                hashes[1]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
            "the line `hash-password --token` prints is the hash matched"
        );
    }

    #[test]
    fn only_long_base64url_paths_are_tokens() {
        assert!(well_formed("abcdefghijklmnopqrstuv"));
        assert!(!well_formed("abcdefghijklmnopqrstu"), "21 characters");
        assert!(!well_formed("abcdefghijklmnopqrstu/"));
        assert!(!well_formed("abcdefghijklmnopqrstu+"));
        assert!(!well_formed(&"a".repeat(129)));
    }
}
