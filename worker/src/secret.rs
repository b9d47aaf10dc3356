//! Why this exists: a backend's secret (API key, token, TSIG secret) read once at start from its
//! `*_file` or the environment, held in a type that never prints it, so no log line, error or
//! `Debug` output can carry it.

use std::io::Read;
use std::path::PathBuf;

use dyndns_config::SecretSource;

/// A secret file larger than this is not a secret file (a key is a line; a BIND key file a few).
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// The secret's text, trimmed. `Debug` shows `<masked>`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<masked>")
    }
}

impl Secret {
    /// A secret held in memory (tests).
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into().trim().to_owned())
    }

    /// Reads the secret from where the config says; `key` is the config key that names the file
    /// (`[backend.cloudflare] api_token_file`), for the error.
    pub fn load(source: &SecretSource, key: &'static str) -> Result<Secret, SecretError> {
        let text = match source {
            SecretSource::File(path) => read_file(path).map_err(|error| SecretError::Read {
                key,
                path: path.clone(),
                error,
            })?,
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(text) => text,
                Err(_) => {
                    return Err(SecretError::Unset {
                        key,
                        name: name.clone(),
                    })
                }
            },
        };
        let secret = Secret::new(text);
        if secret.0.is_empty() {
            return Err(SecretError::Empty {
                key,
                from: source.clone(),
            });
        }
        Ok(secret)
    }

    /// The whole text, for a format with several lines (a BIND key file).
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The first line, trimmed: an API key or token.
    pub fn first_line(&self) -> &str {
        self.0.lines().next().unwrap_or("").trim()
    }
}

fn read_file(path: &std::path::Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_SECRET_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SECRET_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "larger than 64 KiB: not a secret file",
        ));
    }
    Ok(text)
}

/// Why a secret could not be read; never holds the secret itself.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The I/O error is part of the message, not its source, so a chain printed whole (`{:#}`,
    /// as the worker's start does) says it once.
    #[error("{key}: cannot read {path}: {error}")]
    Read {
        key: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{key} is not set and neither is the environment variable {name}")]
    Unset { key: &'static str, name: String },
    #[error("{key}: the {from} is empty")]
    Empty {
        key: &'static str,
        from: SecretSource,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::new("  s3cr3t-token\nsecond line\n");
        assert_eq!(format!("{secret:?}"), "<masked>");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(<masked>)");
        assert_eq!(secret.first_line(), "s3cr3t-token");
    }

    #[test]
    fn load_names_the_key_and_path_and_refuses_empty_and_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("absent");
        let error = Secret::load(&SecretSource::File(absent.clone()), "api_token_file")
            .unwrap_err()
            .to_string();
        assert!(error.contains("api_token_file"), "{error}");
        assert!(error.contains(&absent.display().to_string()), "{error}");
        // As the worker's start prints it, the whole chain: the cause said once.
        let chain = format!(
            "{:#}",
            anyhow::Error::from(
                Secret::load(&SecretSource::File(absent.clone()), "api_token_file").unwrap_err()
            )
        );
        assert_eq!(chain.matches("No such file").count(), 1, "{chain}");

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n  \n").unwrap();
        let error = Secret::load(&SecretSource::File(empty), "api_key_file").unwrap_err();
        assert!(matches!(error, SecretError::Empty { .. }), "{error}");

        let huge = dir.path().join("huge");
        std::fs::write(&huge, vec![b'a'; 70_000]).unwrap();
        let error = Secret::load(&SecretSource::File(huge), "api_key_file").unwrap_err();
        assert!(matches!(error, SecretError::Read { .. }), "{error}");

        let good = dir.path().join("good");
        std::fs::write(&good, "token\n").unwrap();
        let secret = Secret::load(&SecretSource::File(good), "api_key_file").unwrap();
        assert_eq!(secret.first_line(), "token");
    }

    #[test]
    fn an_unset_variable_is_named() {
        let name = "DYNDNS_TEST_SURELY_UNSET_VARIABLE";
        let error = Secret::load(&SecretSource::Env(name.to_owned()), "api_token_file")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(name) && error.contains("api_token_file"),
            "{error}"
        );
    }
}
