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
    /// A secret held in memory (tests). A byte order mark (a file saved by Windows Notepad) is no
    /// more part of it than the spaces and line ends around it.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into().trim_start_matches('\u{feff}').trim().to_owned())
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
                Err(std::env::VarError::NotPresent) => {
                    return Err(SecretError::Unset {
                        key,
                        name: name.clone(),
                    })
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SecretError::NotText {
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

    /// [`Secret::load`] for an API key or token, sent in an HTTP header: its first line must be
    /// printable ASCII, or no request could carry it (a control character, a zero-width space
    /// copied from a web page), and every request would fail as if the network had.
    pub fn load_token(source: &SecretSource, key: &'static str) -> Result<Secret, SecretError> {
        let secret = Secret::load(source, key)?;
        if !secret
            .first_line()
            .bytes()
            .all(|byte| matches!(byte, b' '..=b'~'))
        {
            return Err(SecretError::NotHeader {
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

    /// `text` (a server's reply, or a parser's words about one) with the key or token masked,
    /// should the server have quoted the request's headers.
    pub fn masked_in(&self, text: String) -> String {
        let key = self.first_line();
        if key.is_empty() {
            return text;
        }
        text.replace(key, "<masked>")
    }
}

/// Opens a file the config names for reading at start (a secret, a CA file): a regular file, or
/// an error that says it is not one.
pub(crate) fn open_regular_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer, for ever, and the worker
    // (or `dyndns-worker check`) with it. Links are followed: systemd credentials and Kubernetes
    // secrets are links.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

fn read_file(path: &std::path::Path) -> std::io::Result<String> {
    let file = open_regular_file(path)?;
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
    #[error("{key} is not set, and the environment variable {name} is not UTF-8 text")]
    NotText { key: &'static str, name: String },
    #[error("{key}: the first line of the {from} holds a character an HTTP header cannot carry (only printable ASCII can): copy the token again")]
    NotHeader {
        key: &'static str,
        from: SecretSource,
    },
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

    /// Loads `path` on a thread of its own; `None` when it is still waiting after five seconds.
    fn load_within_five_seconds(path: PathBuf) -> Option<Result<Secret, SecretError>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(Secret::load(&SecretSource::File(path), "api_token_file"));
        });
        receiver
            .recv_timeout(std::time::Duration::from_secs(5))
            .ok()
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("token");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let Some(loaded) = load_within_five_seconds(fifo.clone()) else {
            // Let the waiting thread go before failing.
            let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
            panic!("loading a FIFO waited for a writer");
        };
        let error = loaded.unwrap_err().to_string();
        assert!(
            error.contains("api_token_file") && error.contains("not a regular file"),
            "{error}"
        );
    }

    #[test]
    fn a_directory_or_a_device_is_refused_as_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        for path in [dir.path().to_path_buf(), PathBuf::from("/dev/zero")] {
            let error = load_within_five_seconds(path.clone())
                .expect("refused at once")
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("not a regular file"),
                "{}: {error}",
                path.display()
            );
        }
    }

    #[test]
    fn a_link_to_the_secret_is_followed_as_systemd_credentials_and_kubernetes_secrets_need() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "token\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let secret = Secret::load(&SecretSource::File(link), "api_token_file").unwrap();
        assert_eq!(secret.first_line(), "token");
    }

    #[test]
    fn crlf_trailing_spaces_and_a_byte_order_mark_are_not_part_of_the_token() {
        let dir = tempfile::tempdir().unwrap();
        for text in ["token \r\n", "\u{feff}token\r\n", "\ttoken\t\n\n"] {
            let path = dir.path().join("token");
            std::fs::write(&path, text).unwrap();
            let secret = Secret::load(&SecretSource::File(path), "api_token_file").unwrap();
            assert_eq!(secret.first_line(), "token", "{text:?}");
        }
    }

    #[test]
    fn a_token_no_header_can_carry_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        for text in [
            "tok\u{1}SECRET",
            "tok\u{200b}SECRET",
            "tök-SECRET",
            "tokSECRET\u{7f}",
        ] {
            std::fs::write(&path, text).unwrap();
            let error = Secret::load_token(&SecretSource::File(path.clone()), "api_token_file")
                .unwrap_err()
                .to_string();
            assert!(error.contains("cannot carry"), "{text:?}: {error}");
            assert!(!error.contains("SECRET"), "{error}");
        }
        std::fs::write(&path, "a token with spaces\n\u{1}second line").unwrap();
        let secret = Secret::load_token(&SecretSource::File(path), "api_token_file").unwrap();
        assert_eq!(secret.first_line(), "a token with spaces");
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
