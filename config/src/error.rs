//! Why this exists: every config error names the file, line, column and key, so an operator can go
//! straight to the mistake.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub(crate) path: PathBuf,
    /// 1-based; 0 when the error is not about a place in the file (e.g. the file cannot be read).
    pub line: usize,
    pub column: usize,
    /// Dotted key path such as `zone[0].ttl`; empty for whole-file errors.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}
