//! Why this exists: a password hash that cannot verify anything (cut short when pasted, a typo in the
//! parameters, a kind dyndns cannot check) must fail at load with file:line:column:key, not leave a
//! user with `badauth` for ever in silence; and a valid hash from any common tool must never be
//! refused. The hashes are parsed here exactly as far as the frontend's check relies on them.

use argon2::password_hash::PasswordHash;

/// The shortest argon2 hash value a common tool writes: passlib's default and RFC 9106's "sufficient
/// for most applications" (libsodium's minimum too). A shorter one is a hash cut short.
const MIN_ARGON2_OUTPUT: usize = 16;

/// What `dyndns hash-password`, the reference `argon2` CLI, argon2-cffi, libsodium and PHP write. A
/// value between [`MIN_ARGON2_OUTPUT`] and this may be one of them cut short: check-config warns.
pub const USUAL_ARGON2_OUTPUT: usize = 32;

/// argon2 refuses a salt shorter than this when verifying.
const MIN_ARGON2_SALT: usize = 8;

/// bcrypt's 22 characters of salt and 31 of hash.
const BCRYPT_SALT_AND_HASH: usize = 53;

/// Why a configured hash cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error(
        "not an argon2 PHC string (`$argon2id$...`, from `dyndns hash-password`) or a bcrypt \
         hash (`$2y$`/`$2b$`/`$2a$`, from `htpasswd -nB`)"
    )]
    UnknownKind,
    #[error(
        "`{prefix}` is {what}, which dyndns does not read: make an argon2id hash with `dyndns \
         hash-password` (or a bcrypt one with `htpasswd -nB USER`)"
    )]
    Unsupported {
        prefix: &'static str,
        what: &'static str,
    },
    #[error(
        "starts with `{user}:`, as a line of an htpasswd file does: give only the hash after the \
         colon"
    )]
    HtpasswdLine { user: String },
    #[error(
        "a malformed argon2 hash ({cause}): cut short or mistyped? Copy the whole line `dyndns \
         hash-password` printed"
    )]
    Argon2 { cause: String },
    #[error(
        "the argon2 hash has no {part}: cut short? Copy the whole line `dyndns hash-password` \
         printed"
    )]
    Argon2Incomplete { part: &'static str },
    #[error(
        "the argon2 hash value is {bytes} bytes, shorter than the {MIN_ARGON2_OUTPUT} any common \
         tool writes: cut short? Copy the whole line `dyndns hash-password` printed"
    )]
    Argon2Short { bytes: usize },
    #[error(
        "the argon2 salt is {bytes} bytes, fewer than the {MIN_ARGON2_SALT} argon2 needs: cut \
         short or mistyped? Copy the whole line `dyndns hash-password` printed"
    )]
    Argon2Salt { bytes: usize },
    #[error(
        "the argon2 hash was made with a secret key (`keyid`), which dyndns does not have, so no \
         password would ever match it: make a new one with `dyndns hash-password`"
    )]
    Argon2Keyed,
    #[error(
        "a malformed bcrypt hash ({why}); a bcrypt hash is `$2y$`, a two-digit cost 04..31, `$`, \
         and 53 characters of `./A-Za-z0-9` (60 in all)"
    )]
    Bcrypt { why: &'static str },
}

/// Checks `hash` (already trimmed) and returns it as the frontend must verify it: unchanged, except
/// that an argon2 hash without `v=` gets `v=16`. Such a hash is version 1.0 (the reference
/// implementation reads a missing version so), while the argon2 crate would take it for 1.3 and
/// never match.
pub fn check_hash(hash: &str) -> Result<String, HashError> {
    if hash.starts_with("$argon2") {
        return check_argon2(hash);
    }
    if let Some(rest) = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|prefix| hash.strip_prefix(prefix))
    {
        check_bcrypt(rest).map_err(|why| HashError::Bcrypt { why })?;
        return Ok(hash.to_owned());
    }
    Err(unknown_kind(hash))
}

/// The length of an argon2 hash's value in bytes, for a hash [`check_hash`] accepted.
pub fn argon2_output_len(hash: &str) -> Option<usize> {
    hash.starts_with("$argon2")
        .then(|| {
            PasswordHash::new(hash)
                .ok()?
                .hash
                .map(|output| output.len())
        })
        .flatten()
}

/// Names what a known hash that dyndns cannot verify is, or the htpasswd line pasted whole.
fn unknown_kind(hash: &str) -> HashError {
    const KNOWN: [(&str, &str); 8] = [
        (
            "$2x$",
            "a bcrypt hash marked as made by crypt_blowfish's 8-bit bug (2011)",
        ),
        ("$2$", "the original bcrypt (before `$2a$`)"),
        (
            "$apr1$",
            "Apache's MD5 (htpasswd's default without -B): weak",
        ),
        ("$1$", "MD5-crypt: weak"),
        ("$5$", "SHA-256-crypt"),
        ("$6$", "SHA-512-crypt"),
        ("$y$", "yescrypt"),
        ("{SHA}", "htpasswd's unsalted SHA-1: weak"),
    ];
    if let Some((prefix, what)) = KNOWN.iter().find(|(prefix, _)| hash.starts_with(prefix)) {
        return HashError::Unsupported { prefix, what };
    }
    if let Some((user, rest)) = hash.split_once(':') {
        if !user.is_empty() && !user.contains('$') && check_hash(rest).is_ok() {
            return HashError::HtpasswdLine {
                user: user.to_owned(),
            };
        }
    }
    HashError::UnknownKind
}

fn check_argon2(hash: &str) -> Result<String, HashError> {
    fn malformed(cause: impl std::fmt::Display) -> HashError {
        HashError::Argon2 {
            cause: cause.to_string(),
        }
    }
    let parsed = PasswordHash::new(hash).map_err(malformed)?;
    argon2::Algorithm::try_from(parsed.algorithm).map_err(malformed)?;
    if let Some(version) = parsed.version {
        argon2::Version::try_from(version).map_err(malformed)?;
    }
    let params = argon2::Params::try_from(&parsed).map_err(malformed)?;
    if !params.keyid().is_empty() {
        return Err(HashError::Argon2Keyed);
    }
    let Some(salt) = parsed.salt else {
        return Err(HashError::Argon2Incomplete { part: "salt" });
    };
    let mut salt_bytes = [0u8; 64];
    let salt_len = salt.decode_b64(&mut salt_bytes).map_err(malformed)?.len();
    if salt_len < MIN_ARGON2_SALT {
        return Err(HashError::Argon2Salt { bytes: salt_len });
    }
    let Some(output) = parsed.hash else {
        return Err(HashError::Argon2Incomplete { part: "hash value" });
    };
    if output.len() < MIN_ARGON2_OUTPUT {
        return Err(HashError::Argon2Short {
            bytes: output.len(),
        });
    }
    if parsed.version.is_some() {
        return Ok(hash.to_owned());
    }
    // `$argon2i$m=...` → `$argon2i$v=16$m=...`: the algorithm is all before the second `$`.
    let algorithm_end = 1 + parsed.algorithm.as_str().len();
    Ok(format!(
        "{}$v=16{}",
        &hash[..algorithm_end],
        &hash[algorithm_end..]
    ))
}

/// `rest` is what follows `$2y$`: `NN$` and the salt and hash.
fn check_bcrypt(rest: &str) -> Result<(), &'static str> {
    let (cost, salt_and_hash) = rest.split_once('$').ok_or("no `$` after the cost")?;
    if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the cost is not two digits");
    }
    let cost: u32 = cost.parse().map_err(|_| "the cost is not a number")?;
    if !(4..=31).contains(&cost) {
        return Err("the cost is outside 04..31");
    }
    if !salt_and_hash
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
    {
        return Err("a character outside `./A-Za-z0-9`");
    }
    match salt_and_hash.len() {
        BCRYPT_SALT_AND_HASH => Ok(()),
        n if n < BCRYPT_SALT_AND_HASH => Err("too short: cut short?"),
        _ => Err("too long"),
    }
}

#[cfg(test)]
mod tests;
