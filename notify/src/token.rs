//! Why this exists: a target's token (ntfy, Gotify, a webhook's bearer) read once at start from its
//! `token_file`, held in a type that never prints it, so no log line or error can carry it.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

/// A token file larger than this is not a token file.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// The first line of the token file, trimmed. `Debug` shows `<masked>`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<masked>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the token file {path} ({key}): {cause}")]
    Read {
        key: String,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the token file {path} ({key}) is empty")]
    Empty { key: String, path: PathBuf },
    #[error("the token file {path} ({key}) holds characters an HTTP header cannot carry")]
    NotHeader { key: String, path: PathBuf },
}

impl Token {
    pub fn new(text: &str) -> Token {
        Token(
            text.trim_start_matches('\u{feff}')
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned(),
        )
    }

    /// Reads `path`; `key` names the config key in errors (`notify[0].token_file`).
    pub fn load(path: &Path, key: &str) -> Result<Token, TokenError> {
        let read = || -> std::io::Result<String> {
            // A FIFO at the name must not hang the start, or a reload (the run loop waits for it
            // and no message goes out): opened without blocking, and only a regular file is read.
            let file = OpenOptions::new()
                .read(true)
                .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
                .open(path)?;
            if !file.metadata()?.is_file() {
                return Err(std::io::Error::other("not a regular file"));
            }
            let mut text = String::new();
            file.take(MAX_TOKEN_BYTES).read_to_string(&mut text)?;
            Ok(text)
        };
        let text = read().map_err(|cause| TokenError::Read {
            key: key.to_owned(),
            path: path.to_path_buf(),
            cause,
        })?;
        let token = Token::new(&text);
        if token.0.is_empty() {
            return Err(TokenError::Empty {
                key: key.to_owned(),
                path: path.to_path_buf(),
            });
        }
        if !token.0.bytes().all(|byte| matches!(byte, b' '..=b'~')) {
            return Err(TokenError::NotHeader {
                key: key.to_owned(),
                path: path.to_path_buf(),
            });
        }
        Ok(token)
    }

    /// The secret itself, for the one header that carries it.
    pub(crate) fn reveal(&self) -> &str {
        &self.0
    }
}
