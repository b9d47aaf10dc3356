//! Why this exists: a password hash that cannot verify anything (cut short when pasted, a typo in the
//! parameters) must fail at load with file:line:column:key, not leave a user with `badauth` for ever
//! in silence. The hashes are parsed here exactly as far as the frontend's check relies on them.

use argon2::password_hash::PasswordHash;

/// Every common argon2 tool (`dyndns hash-password`, argon2-cffi, libsodium, the `argon2` CLI) writes
/// 32 bytes; a shorter value is almost always a hash cut short.
const MIN_ARGON2_OUTPUT: usize = 32;

/// bcrypt's 22 characters of salt and 31 of hash.
const BCRYPT_SALT_AND_HASH: usize = 53;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Argon2,
    Bcrypt,
}

/// Why a configured hash cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error(
        "not an argon2 PHC string (`$argon2id$...`, from `dyndns hash-password`) or a bcrypt \
         hash (`$2y$`/`$2b$`/`$2a$`)"
    )]
    UnknownKind,
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
        "the argon2 hash value is {bytes} bytes, shorter than the {MIN_ARGON2_OUTPUT} every common \
         tool writes: cut short? Copy the whole line `dyndns hash-password` printed"
    )]
    Argon2Short { bytes: usize },
    #[error(
        "a malformed bcrypt hash ({why}); a bcrypt hash is `$2y$`, a two-digit cost 04..31, `$`, \
         and 53 characters of `./A-Za-z0-9` (60 in all)"
    )]
    Bcrypt { why: &'static str },
}

/// Checks `hash` (already trimmed) and says which kind it is.
pub fn check_hash(hash: &str) -> Result<HashKind, HashError> {
    if hash.starts_with("$argon2") {
        check_argon2(hash)?;
        return Ok(HashKind::Argon2);
    }
    if let Some(rest) = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|prefix| hash.strip_prefix(prefix))
    {
        check_bcrypt(rest).map_err(|why| HashError::Bcrypt { why })?;
        return Ok(HashKind::Bcrypt);
    }
    Err(HashError::UnknownKind)
}

fn check_argon2(hash: &str) -> Result<(), HashError> {
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
    argon2::Params::try_from(&parsed).map_err(malformed)?;
    if parsed.salt.is_none() {
        return Err(HashError::Argon2Incomplete { part: "salt" });
    }
    let Some(output) = parsed.hash else {
        return Err(HashError::Argon2Incomplete { part: "hash value" });
    };
    if output.len() < MIN_ARGON2_OUTPUT {
        return Err(HashError::Argon2Short {
            bytes: output.len(),
        });
    }
    Ok(())
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
mod tests {
    use super::*;

    const ARGON2: &str = "$argon2id$v=19$m=19456,t=2,p=1$pCo1hhnvnRFyDG0NwEtJag$c7C8W5Fix7yHkvomRxg75R8EQ1L9i2n5gx7SbwxKcAQ";
    const BCRYPT: &str = "$2y$05$abcdefghijklmnopqrstuuJ0xY1bVu9bKqHpNqZ2M6KpK6bT2m1Jq";

    #[test]
    fn complete_hashes_pass() {
        assert_eq!(check_hash(ARGON2), Ok(HashKind::Argon2));
        assert_eq!(check_hash(BCRYPT), Ok(HashKind::Bcrypt));
        assert_eq!(
            check_hash(&BCRYPT.replace("$2y$", "$2b$")),
            Ok(HashKind::Bcrypt)
        );
    }

    #[test]
    fn argon2_hash_cut_short_anywhere_is_refused() {
        for end in 1..ARGON2.len() {
            let cut = &ARGON2[..end];
            assert!(check_hash(cut).is_err(), "{cut}");
        }
    }

    #[test]
    fn bcrypt_hash_cut_short_anywhere_is_refused() {
        for end in 1..BCRYPT.len() {
            let cut = &BCRYPT[..end];
            assert!(check_hash(cut).is_err(), "{cut}");
        }
    }

    #[test]
    fn malformed_parameters_are_named() {
        let err = check_hash(&ARGON2.replace("t=2", "t=0")).unwrap_err();
        assert!(matches!(err, HashError::Argon2 { .. }), "{err}");
        let err = check_hash(&ARGON2.replace("argon2id", "argon2x")).unwrap_err();
        assert!(matches!(err, HashError::Argon2 { .. }), "{err}");
        let err = check_hash(&BCRYPT.replace("$05$", "$03$")).unwrap_err();
        assert!(err.to_string().contains("outside 04..31"), "{err}");
        let err = check_hash(&BCRYPT.replace("$05$", "$5$")).unwrap_err();
        assert!(err.to_string().contains("two digits"), "{err}");
        let err = check_hash(&BCRYPT.replace('u', "_")).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        assert_eq!(check_hash("secret"), Err(HashError::UnknownKind));
    }
}
