//! Why this exists: what the command lines print (`dyndns check-config`, `hash-password`,
//! `dyndns-worker history`, `status`, `failed …`) is often piped into `head` or `less`, which close
//! the pipe once they have seen enough. `print!` then panicked (exit 101 and a backtrace), and
//! `dyndns-worker failed retry --all | head -1` stopped retrying after the first letter. The
//! commands of every binary print through here instead: a reader gone ends the output quietly and
//! the command's work goes on.

use std::io::{BufWriter, StdoutLock, Write};

/// Standard output refused a write for another reason than a reader gone (a full disk behind a
/// redirect).
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(#[from] std::io::Error);

/// A closed pipe is the end of the output, not an error.
fn unless_closed(result: std::io::Result<()>) -> Result<bool, StdoutError> {
    match result {
        Ok(()) => Ok(false),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        Err(error) => Err(StdoutError(error)),
    }
}

/// Writes `text` to standard output; a closed pipe is no error.
pub fn print(text: &str) -> Result<(), StdoutError> {
    let mut stdout = std::io::stdout().lock();
    unless_closed(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
    )
    .map(|_| ())
}

/// [`print`] with a newline.
pub fn println(text: &str) -> Result<(), StdoutError> {
    print(&format!("{text}\n"))
}

/// Lines written one by one through a buffer, for output too long to build whole first; once the
/// reader is gone the rest is dropped.
pub struct Lines {
    out: BufWriter<StdoutLock<'static>>,
    closed: bool,
}

impl Default for Lines {
    fn default() -> Lines {
        Lines::new()
    }
}

impl Lines {
    pub fn new() -> Lines {
        Lines {
            out: BufWriter::new(std::io::stdout().lock()),
            closed: false,
        }
    }

    /// Writes `text` and a newline; a closed pipe is no error.
    pub fn line(&mut self, text: &str) -> Result<(), StdoutError> {
        if self.closed {
            return Ok(());
        }
        let written = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"));
        self.closed = unless_closed(written)?;
        Ok(())
    }

    /// Flushes what is buffered.
    pub fn finish(mut self) -> Result<(), StdoutError> {
        if self.closed {
            return Ok(());
        }
        unless_closed(self.out.flush()).map(|_| ())
    }
}
