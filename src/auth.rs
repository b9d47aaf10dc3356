//! Why this exists: password checks are the only expensive step of a request, so a verified credential
//! is remembered as a keyed hash (compared in constant time) and argon2 runs once per user and process.

use rustc_hash::FxHashMap;
use std::sync::{Arc, PoisonError, RwLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use dyndns_config::User;

mod unknown_user;

type KeyedHash = Hmac<Sha256>;

/// HTTP Basic credentials as sent, borrowed from a [`BasicAuth`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    pub user: &'a str,
    pub password: &'a str,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The decoded `user:password` of `Authorization: Basic base64(user:password)`. Short ones (all real
/// ones) are decoded on the stack: this runs for every request.
pub struct BasicAuth {
    inline: [u8; 192],
    len: usize,
    long: Vec<u8>,
}

impl BasicAuth {
    /// `None` when the header is absent, not Basic, or not base64.
    pub fn from_headers(headers: &HeaderMap) -> Option<BasicAuth> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, encoded) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let encoded = encoded.trim();
        let engine = &base64::engine::general_purpose::STANDARD;
        let mut decoded = BasicAuth {
            inline: [0; 192],
            len: 0,
            long: Vec::new(),
        };
        match engine.decode_slice(encoded, &mut decoded.inline) {
            Ok(len) => decoded.len = len,
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
                decoded.long = engine.decode(encoded).ok()?
            }
            Err(base64::DecodeSliceError::DecodeError(_)) => return None,
        }
        Some(decoded)
    }

    /// `None` when the decoded text is not UTF-8 or has no `:`.
    pub fn credentials(&self) -> Option<Credentials<'_>> {
        let bytes = if self.long.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.long
        };
        let (user, password) = std::str::from_utf8(bytes).ok()?.split_once(':')?;
        Some(Credentials { user, password })
    }
}

/// The outcome of [`Verifier::remembered`].
pub enum Remembered {
    Yes,
    /// Not verified before; the digest to remember if [`Verifier::verify_hash`] succeeds.
    No(Digest),
}

/// The keyed hash of a credential, computed once per request.
pub struct Digest([u8; 32]);

/// Checks passwords against the configured hashes, remembering successes for the life of the
/// process (a restart starts empty; a reload keeps those of users whose secrets did not change).
pub struct Verifier {
    users: FxHashMap<String, Option<String>>,
    /// Verified against for unknown users, so they cost as much as known ones.
    unknown_user_hash: String,
    /// Keyed with 32 random bytes per process, so the remembered digests are useless outside it;
    /// cloned per request, which skips re-deriving the HMAC key pads.
    keyed: KeyedHash,
    remembered: RwLock<FxHashMap<String, [u8; 32]>>,
    /// argon2 needs ~19 MiB per check; bounding concurrent checks bounds memory under a login flood.
    slow_checks: Arc<Semaphore>,
}

impl Verifier {
    pub fn new(users: &[User]) -> Verifier {
        let key: [u8; 32] = rand::random();
        #[expect(
            clippy::expect_used,
            reason = "an invariant of HMAC, stated in the message"
        )]
        let keyed = KeyedHash::new_from_slice(&key).expect("HMAC takes keys of any length");
        let parallel = std::thread::available_parallelism().map_or(2, usize::from);
        Verifier {
            users: users
                .iter()
                .map(|user| (user.name.clone(), user.password_hash.clone()))
                .collect(),
            unknown_user_hash: unknown_user::dummy_hash(users),
            keyed,
            remembered: RwLock::new(FxHashMap::default()),
            slow_checks: Arc::new(Semaphore::new(parallel)),
        }
    }

    /// The verifier for a reloaded config: same key and the same bound on slow checks, and the
    /// remembered credentials of every user whose password hash and token hashes are unchanged. A
    /// user removed, or whose secret changed, is forgotten, so an old password stops working at once
    /// instead of passing the fast path until a restart.
    pub fn reloaded(&self, old_users: &[User], new_users: &[User]) -> Verifier {
        let unchanged = |name: &str| {
            let old = old_users.iter().find(|user| user.name == name);
            let new = new_users.iter().find(|user| user.name == name);
            matches!((old, new), (Some(old), Some(new))
                if old.password_hash == new.password_hash && old.token_hashes == new.token_hashes)
        };
        let remembered = self
            .remembered
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(name, _)| unchanged(name))
            .map(|(name, digest)| (name.clone(), *digest))
            .collect();
        Verifier {
            users: new_users
                .iter()
                .map(|user| (user.name.clone(), user.password_hash.clone()))
                .collect(),
            unknown_user_hash: unknown_user::dummy_hash(new_users),
            keyed: self.keyed.clone(),
            remembered: RwLock::new(remembered),
            slow_checks: self.slow_checks.clone(),
        }
    }

    /// True when the password is right for a configured user.
    #[cfg(test)]
    pub async fn verify(&self, credentials: &Credentials<'_>) -> bool {
        match self.remembered(credentials) {
            Remembered::Yes => true,
            // Boxed so the common, remembered case does not carry (and move) the slow path's state.
            Remembered::No(digest) => Box::pin(self.verify_hash(credentials, digest)).await,
        }
    }

    /// The cheap check: these exact credentials were verified before by this process.
    pub fn remembered(&self, credentials: &Credentials<'_>) -> Remembered {
        let digest = self.digest(credentials);
        if let Some(known) = self
            .remembered
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(credentials.user)
        {
            if bool::from(known.ct_eq(&digest)) {
                return Remembered::Yes;
            }
        }
        Remembered::No(Digest(digest))
    }

    /// The argon2/bcrypt check, off the async threads and bounded in number; remembers a success.
    pub async fn verify_hash(&self, credentials: &Credentials<'_>, digest: Digest) -> bool {
        let Digest(digest) = digest;
        let (hash, known_user) = match self.users.get(credentials.user) {
            Some(Some(hash)) => (hash.clone(), true),
            // Unknown user (or one without a password in proxy mode): same work, always false.
            _ => (self.unknown_user_hash.clone(), false),
        };
        let password = credentials.password.to_string();
        let Ok(_permit) = self.slow_checks.clone().acquire_owned().await else {
            return false;
        };
        let matches = tokio::task::spawn_blocking(move || check_hash(&hash, &password))
            .await
            .unwrap_or(false);
        if matches && known_user {
            self.remembered
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(credentials.user.to_string(), digest);
        }
        matches && known_user
    }

    fn digest(&self, credentials: &Credentials<'_>) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(credentials.user.as_bytes());
        mac.update(&[0]);
        mac.update(credentials.password.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// argon2 PHC strings and bcrypt (`$2a$`/`$2b$`/`$2y$`, as htpasswd writes them).
fn check_hash(hash: &str, password: &str) -> bool {
    if hash.starts_with("$2") {
        return bcrypt::verify(password, hash).unwrap_or(false);
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// An argon2id PHC string with the crate's default (OWASP-recommended) parameters.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A fresh random secret for demo users (hex: URL- and shell-safe).
pub fn random_secret() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dyndns_config::names::HostPattern;

    fn user(name: &str, hash: String) -> User {
        User {
            name: name.into(),
            password_hash: Some(hash),
            token_hashes: Vec::new(),
            hosts: vec![HostPattern::parse("h.example.com").unwrap()],
            lan_hosts: Vec::new(),
            admin: false,
        }
    }

    fn creds<'a>(user: &'a str, password: &'a str) -> Credentials<'a> {
        Credentials { user, password }
    }

    fn basic(headers: &HeaderMap) -> Option<(String, String)> {
        let decoded = BasicAuth::from_headers(headers)?;
        let credentials = decoded.credentials()?;
        Some((
            credentials.user.to_string(),
            credentials.password.to_string(),
        ))
    }

    #[tokio::test]
    async fn argon2_and_bcrypt_hashes_verify_and_are_remembered() {
        let argon = hash_password("s3cret").unwrap();
        let bcrypt_hash = bcrypt::hash("htpass", 4)
            .unwrap()
            .replacen("$2b$", "$2y$", 1);
        let verifier = Verifier::new(&[user("a", argon), user("b", bcrypt_hash)]);
        assert!(verifier.verify(&creds("a", "s3cret")).await);
        assert!(verifier.remembered.read().unwrap().contains_key("a"));
        assert!(
            verifier.verify(&creds("a", "s3cret")).await,
            "remembered digest matches"
        );
        assert!(
            !verifier.verify(&creds("a", "wrong")).await,
            "a remembered user still needs the right password"
        );
        assert!(verifier.verify(&creds("b", "htpass")).await);
        assert!(!verifier.verify(&creds("ghost", "s3cret")).await);
        assert!(!verifier.remembered.read().unwrap().contains_key("ghost"));
    }

    #[test]
    fn basic_header_is_parsed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Basic cm91dGVyOnBhOnNz".parse().unwrap(),
        );
        assert_eq!(basic(&headers), Some(("router".into(), "pa:ss".into())));
        let long_password = "x".repeat(500);
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("router:{long_password}"));
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {token}").parse().unwrap(),
        );
        assert_eq!(
            basic(&headers),
            Some(("router".into(), long_password)),
            "longer than the stack buffer"
        );
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(basic(&headers), None);
        headers.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(basic(&headers), None);
    }
}
