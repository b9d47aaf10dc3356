//! Why this exists: a login for a user that does not exist must take as long as a wrong password for
//! one that does, or the answer time tells a guesser which names are real. So unknown users are
//! checked against a dummy hash of the kind the configured users have: the same algorithm and
//! parameters (the most common kind when they differ), with a random salt and a random digest.
//!
//! Verifying costs the same whatever the salt and digest are (the hash is computed in full, then
//! compared), so the dummy is made by swapping a configured hash's salt and digest for random ones:
//! no hash is computed at start, however expensive the configured parameters.

use rustc_hash::FxHashMap;

use argon2::password_hash::{Output, PasswordHash, SaltString};

use dyndns_config::User;

/// For a config without password hashes (proxy mode), where nothing is ever verified: an argon2id
/// hash with the parameters `hash-password` uses.
const DEFAULT_DUMMY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0";

/// bcrypt's modular-crypt form: `$2b$05$` then 22 salt and 31 digest characters.
const BCRYPT_PREFIX_LEN: usize = 7;
const BCRYPT_LEN: usize = 60;

/// A dummy hash costing what the most common kind of configured hash costs.
pub fn dummy_hash(users: &[User]) -> String {
    let mut counts: FxHashMap<String, (usize, usize)> = FxHashMap::default();
    let hashes: Vec<&str> = users
        .iter()
        .filter_map(|user| user.password_hash.as_deref())
        .collect();
    for (index, hash) in hashes.iter().enumerate() {
        if let Some(kind) = kind(hash) {
            counts.entry(kind).or_insert((0, index)).0 += 1;
        }
    }
    // Most users first; among equals, the kind met first in the config.
    let Some((_, first)) = counts
        .into_values()
        .max_by_key(|(count, first)| (*count, std::cmp::Reverse(*first)))
    else {
        return DEFAULT_DUMMY.to_string();
    };
    with_random_salt_and_digest(hashes[first]).unwrap_or_else(|| DEFAULT_DUMMY.to_string())
}

/// What a hash's verification costs: bcrypt's cost (its versions `2a`, `2b`, `2y` cost the same,
/// and htpasswd writes `2y` where other tools write `2b`: counted apart, three bcrypt users could
/// lose to two argon2 ones), or argon2's algorithm, version, parameters and salt and digest
/// lengths. `None` for a hash this frontend cannot verify.
fn kind(hash: &str) -> Option<String> {
    if hash.starts_with("$2") {
        let cost = hash.get(BCRYPT_PREFIX_LEN - 3..BCRYPT_PREFIX_LEN - 1)?;
        return (hash.len() == BCRYPT_LEN).then(|| format!("bcrypt${cost}"));
    }
    let parsed = PasswordHash::new(hash).ok()?;
    let (salt, digest) = (parsed.salt?, parsed.hash?);
    let mut salt_bytes = [0u8; 64];
    let salt_len = salt.decode_b64(&mut salt_bytes).ok()?.len();
    Some(format!(
        "{}${:?}${}${salt_len}${}",
        parsed.algorithm,
        parsed.version,
        parsed.params,
        digest.len()
    ))
}

/// `hash` with its salt and digest replaced by random bytes of the same lengths.
fn with_random_salt_and_digest(hash: &str) -> Option<String> {
    if hash.starts_with("$2") {
        // bcrypt's own encoding of a random salt and digest, from the cheapest cost; the cost
        // field stays the configured one.
        let random: [u8; 32] = rand::random();
        let cheap = bcrypt::hash_with_salt(random, 4, rand::random()).ok()?;
        let cheap = cheap.format_for_version(bcrypt::Version::TwoB);
        return Some(format!(
            "{}{}",
            hash.get(..BCRYPT_PREFIX_LEN)?,
            cheap.get(BCRYPT_PREFIX_LEN..)?
        ));
    }
    let mut parsed = PasswordHash::new(hash).ok()?;
    let mut salt_bytes = [0u8; 64];
    let salt_len = parsed.salt?.decode_b64(&mut salt_bytes).ok()?.len();
    let random_salt: [u8; 64] = rand::random();
    let salt = SaltString::encode_b64(&random_salt[..salt_len]).ok()?;
    parsed.salt = Some(salt.as_salt());
    let digest_len = parsed.hash?.len();
    parsed.hash = Some(
        Output::init_with(digest_len, |bytes| {
            bytes.fill_with(rand::random);
            Ok(())
        })
        .ok()?,
    );
    Some(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;
    use argon2::{Argon2, Params};
    use dyndns_config::names::HostPattern;

    fn user(hash: &str) -> User {
        User {
            name: "u".into(),
            password_hash: Some(hash.to_string()),
            token_hashes: Vec::new(),
            hosts: vec![HostPattern::parse("h.example.com").unwrap()],
            lan_hosts: Vec::new(),
            admin: false,
        }
    }

    fn argon2_hash(m: u32, t: u32, p: u32) -> String {
        use argon2::password_hash::PasswordHasher;
        let params = Params::new(m, t, p, None).unwrap();
        let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        argon.hash_password(b"pw", &salt).unwrap().to_string()
    }

    #[test]
    fn bcrypt_users_get_a_bcrypt_dummy_of_their_cost() {
        let users = [
            user(&bcrypt::hash("a", 5).unwrap()),
            user(&bcrypt::hash("b", 5).unwrap().replacen("$2b$", "$2y$", 1)),
            user(&argon2_hash(64, 1, 1)),
        ];
        let dummy = dummy_hash(&users);
        assert!(dummy.starts_with("$2b$05$"), "{dummy}");
        assert_eq!(dummy.len(), BCRYPT_LEN);
        assert_ne!(dummy, users[0].password_hash.clone().unwrap());
        assert_eq!(
            bcrypt::verify("a", &dummy).ok(),
            Some(false),
            "the dummy verifies (at full cost) and matches nothing"
        );
    }

    #[test]
    fn bcrypt_versions_of_one_cost_are_one_kind() {
        let users = [
            user(&bcrypt::hash("a", 5).unwrap().replacen("$2b$", "$2y$", 1)),
            user(&argon2_hash(64, 1, 1)),
            user(&bcrypt::hash("b", 5).unwrap()),
            user(&argon2_hash(64, 1, 1)),
            user(&bcrypt::hash("c", 5).unwrap().replacen("$2b$", "$2a$", 1)),
        ];
        let dummy = dummy_hash(&users);
        assert!(
            dummy.starts_with("$2y$05$"),
            "three bcrypt users, two argon2: {dummy}"
        );
        assert_eq!(bcrypt::verify("a", &dummy).ok(), Some(false));
    }

    #[test]
    fn argon2_users_get_an_argon2_dummy_with_their_parameters() {
        let users = [
            user(&argon2_hash(64, 3, 2)),
            user(&bcrypt::hash("b", 4).unwrap()),
            user(&argon2_hash(64, 3, 2)),
        ];
        let dummy = dummy_hash(&users);
        let parsed = PasswordHash::new(&dummy).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert_eq!(parsed.params.to_string(), "m=64,t=3,p=2");
        assert_eq!(
            kind(&dummy),
            kind(users[0].password_hash.as_deref().unwrap())
        );
        assert_ne!(parsed.salt.unwrap().as_str(), "MDEyMzQ1Njc4OWFiY2RlZg");
        let refused = Argon2::default().verify_password(b"pw", &parsed);
        assert_eq!(refused, Err(argon2::password_hash::Error::Password));
    }

    #[test]
    fn ties_go_to_the_first_kind_and_no_hashes_to_the_default() {
        let users = [
            user(&bcrypt::hash("a", 4).unwrap()),
            user(&argon2_hash(64, 1, 1)),
        ];
        assert!(dummy_hash(&users).starts_with("$2b$04$"));
        assert_eq!(dummy_hash(&[]), DEFAULT_DUMMY);
        assert_eq!(dummy_hash(&[user("$2b$05$truncated")]), DEFAULT_DUMMY);
    }
}
