//! Why this exists: every value the worker logs that came from the spool (file names, hosts,
//! users, reasons, backend messages, errors quoting any of them) goes through [`Shown`], so a
//! hostile frontend cannot forge a log line or a `key=value` pair with a newline or a space.

use std::fmt::{self, Display, Write};
use std::path::Path;

use dyndns_queue::is_deceptive;

/// Shows a value in double quotes with `"`, `\\`, control characters, line and paragraph separators
/// and bidirectional overrides escaped as in a Rust string literal: `"job\nhost=evil"` stays one
/// value on one line, and reads as written.
#[derive(Debug, Clone, Copy)]
pub struct Shown<T>(pub T);

impl<T: Display> Display for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        f.write_char('"')?;
        for c in text.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if c.is_control() => write!(f, "{}", c.escape_debug())?,
                c if is_deceptive(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// A path, shown as [`Shown`] does (lossy for names that are not UTF-8).
pub fn path(path: &Path) -> Shown<std::path::Display<'_>> {
    Shown(path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_or_quote_in_a_value_cannot_start_another_line_or_key() {
        let shown = Shown("job\nhost=evil \"x\"\u{1b}[31m\\ it's\u{202e}").to_string();
        assert_eq!(shown, r#""job\nhost=evil \"x\"\u{1b}[31m\\ it's\u{202e}""#);
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}'));
        assert_eq!(
            path(Path::new("/spool/new/a\rb")).to_string(),
            r#""/spool/new/a\rb""#
        );
    }
}
