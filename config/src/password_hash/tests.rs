use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, ParamsBuilder, Version};

use super::*;

const ARGON2: &str = "$argon2id$v=19$m=19456,t=2,p=1$pCo1hhnvnRFyDG0NwEtJag$c7C8W5Fix7yHkvomRxg75R8EQ1L9i2n5gx7SbwxKcAQ";
/// `htpasswd -nbB -C 5 router 'correct horse'` (Apache 2.4), the part after `router:`.
const HTPASSWD_BCRYPT: &str = "$2y$05$LgSN4FJZGMJWCNOrHZCNWejcuWRr0L5QpPlt9zsmM9rNlD2EhG4HK";

/// How the frontend checks an argon2 hash (src/auth.rs): the hash's own algorithm, version and
/// parameters, no secret key.
fn frontend_accepts(hash: &str, password: &str) -> bool {
    let parsed = PasswordHash::new(hash).unwrap();
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A cheap hash of `password` (the parameters do not change what is checked).
fn argon2_hash(argon2: &Argon2, password: &str) -> String {
    let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
    argon2
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn cheap(output_len: usize) -> ParamsBuilder {
    let mut params = ParamsBuilder::new();
    params.m_cost(64).t_cost(1).p_cost(1).output_len(output_len);
    params
}

#[test]
fn complete_hashes_pass_unchanged() {
    assert_eq!(check_hash(ARGON2).as_deref(), Ok(ARGON2));
    assert_eq!(check_hash(HTPASSWD_BCRYPT).as_deref(), Ok(HTPASSWD_BCRYPT));
    for prefix in ["$2b$", "$2a$"] {
        let hash = HTPASSWD_BCRYPT.replace("$2y$", prefix);
        assert_eq!(check_hash(&hash), Ok(hash.clone()));
    }
}

#[test]
fn passlib_argon2i_hash_with_a_16_byte_value_is_accepted() {
    // passlib's documented example: argon2i, parallelism 2, a 16-byte value (passlib's default).
    let passlib = "$argon2i$v=19$m=512,t=2,p=2$aI2R0hpDyLm3ltLa+1/rvQ$LqPKjd6n8yniKtAithoR7A";
    assert_eq!(check_hash(passlib).as_deref(), Ok(passlib));
    assert!(frontend_accepts(passlib, "password"));
    assert_eq!(argon2_output_len(passlib), Some(16));
}

#[test]
fn every_argon2_variant_version_and_associated_data_is_accepted_and_verifies() {
    for algorithm in [Algorithm::Argon2d, Algorithm::Argon2i, Algorithm::Argon2id] {
        for version in [Version::V0x10, Version::V0x13] {
            for data in [None, Some(&b"dyndns"[..])] {
                let mut params = cheap(32);
                if let Some(data) = data {
                    params.data(argon2::AssociatedData::new(data).unwrap());
                }
                let argon2 = Argon2::new(algorithm, version, params.build().unwrap());
                let hash = argon2_hash(&argon2, "pw");
                assert_eq!(check_hash(&hash), Ok(hash.clone()));
                assert!(frontend_accepts(&hash, "pw"), "{hash}");
                assert!(!frontend_accepts(&hash, "wrong"), "{hash}");
            }
        }
    }
}

#[test]
fn argon2_hash_without_a_version_is_read_as_version_1_0() {
    // Hashes from before argon2 wrote `v=` are version 1.0; the argon2 crate would take them for 1.3.
    let argon2 = Argon2::new(
        Algorithm::Argon2i,
        Version::V0x10,
        cheap(32).build().unwrap(),
    );
    let written = argon2_hash(&argon2, "pw");
    let old_style = written.replacen("$v=16", "", 1);
    assert!(old_style.starts_with("$argon2i$m=64,"), "{old_style}");
    assert!(!frontend_accepts(&old_style, "pw"), "the trap this avoids");
    let checked = check_hash(&old_style).unwrap();
    assert_eq!(checked, written);
    assert!(frontend_accepts(&checked, "pw"));
}

#[test]
fn argon2_hash_made_with_a_secret_key_is_refused() {
    let mut params = cheap(32);
    params.keyid(argon2::KeyId::new(b"key1").unwrap());
    let argon2 = Argon2::new_with_secret(
        b"pepper",
        Algorithm::Argon2id,
        Version::V0x13,
        params.build().unwrap(),
    )
    .unwrap();
    let hash = argon2_hash(&argon2, "pw");
    assert!(hash.contains("keyid="), "{hash}");
    assert!(
        !frontend_accepts(&hash, "pw"),
        "unverifiable without the key"
    );
    assert_eq!(check_hash(&hash), Err(HashError::Argon2Keyed));
}

#[test]
fn argon2_hash_with_a_salt_argon2_refuses_is_refused() {
    let short_salt =
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$c7C8W5Fix7yHkvomRxg75R8EQ1L9i2n5gx7SbwxKcAQ";
    assert_eq!(
        check_hash(short_salt),
        Err(HashError::Argon2Salt { bytes: 4 })
    );
}

#[test]
fn argon2_hash_cut_short_anywhere_is_refused_or_warned_about() {
    // A value cut to 16..31 bytes cannot be told from a complete shorter one (passlib writes 16);
    // those are accepted, and check-config warns about values shorter than the usual 32 bytes.
    for end in 1..ARGON2.len() {
        let cut = &ARGON2[..end];
        match check_hash(cut) {
            Err(_) => {}
            Ok(_) => assert!(
                argon2_output_len(cut).is_some_and(|len| len < USUAL_ARGON2_OUTPUT),
                "{cut}"
            ),
        }
    }
}

#[test]
fn bcrypt_hash_cut_short_anywhere_is_refused() {
    for end in 1..HTPASSWD_BCRYPT.len() {
        let cut = &HTPASSWD_BCRYPT[..end];
        assert!(check_hash(cut).is_err(), "{cut}");
    }
}

#[test]
fn malformed_parameters_are_named() {
    let err = check_hash(&ARGON2.replace("t=2", "t=0")).unwrap_err();
    assert!(matches!(err, HashError::Argon2 { .. }), "{err}");
    let err = check_hash(&ARGON2.replace("argon2id", "argon2x")).unwrap_err();
    assert!(matches!(err, HashError::Argon2 { .. }), "{err}");
    let err = check_hash(&HTPASSWD_BCRYPT.replace("$05$", "$03$")).unwrap_err();
    assert!(err.to_string().contains("outside 04..31"), "{err}");
    let err = check_hash(&HTPASSWD_BCRYPT.replace("$05$", "$5$")).unwrap_err();
    assert!(err.to_string().contains("two digits"), "{err}");
    let err = check_hash(&HTPASSWD_BCRYPT.replace('L', "_")).unwrap_err();
    assert!(err.to_string().contains("outside"), "{err}");
    assert_eq!(check_hash("secret"), Err(HashError::UnknownKind));
}

#[test]
fn hashes_dyndns_cannot_verify_are_named_with_the_fix() {
    // `htpasswd -nbm`, `-nbs` (Apache 2.4's default is MD5 without -B), and crypt_blowfish's marker
    // for hashes made by its 8-bit bug, which a correct bcrypt cannot check.
    for (hash, named) in [
        ("$apr1$4H4GSb3v$nQp19IAbJQLjZ7y20CKaj/", "Apache's MD5"),
        ("{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=", "unsalted SHA-1"),
        (
            &HTPASSWD_BCRYPT.replace("$2y$", "$2x$") as &str,
            "8-bit bug",
        ),
    ] {
        let err = check_hash(hash).unwrap_err().to_string();
        assert!(err.contains(named), "{err}");
        assert!(err.contains("htpasswd -nB"), "{err}");
    }
    let line = format!("router:{HTPASSWD_BCRYPT}");
    let err = check_hash(&line).unwrap_err();
    assert_eq!(
        err,
        HashError::HtpasswdLine {
            user: "router".into()
        }
    );
}

#[test]
fn default_params_are_what_hash_password_writes() {
    // The usual output length is the one `dyndns hash-password` (the crate's default) writes.
    assert_eq!(Params::DEFAULT_OUTPUT_LEN, USUAL_ARGON2_OUTPUT);
}
