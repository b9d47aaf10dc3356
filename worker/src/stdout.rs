//! Why this exists: what the read commands print is often piped into `head` or `less`, which close
//! the pipe once they have seen enough. `print!` then panicked (exit 101 and a backtrace), and
//! `failed retry --all | head -1` stopped retrying after the first letter. The commands print
//! through here instead: a reader gone ends the output quietly and the command's work goes on.

use std::io::{BufWriter, StdoutLock, Write};

use anyhow::Context;

/// Writes `text` to standard output; a closed pipe is no error.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("cannot write to standard output"),
    }
}

/// [`print`] with a newline.
pub fn println(text: &str) -> anyhow::Result<()> {
    print(&format!("{text}\n"))
}

/// Lines written one by one through a buffer, for output too long to build whole first; once the
/// reader is gone the rest is dropped.
pub struct Lines {
    out: BufWriter<StdoutLock<'static>>,
    closed: bool,
}

impl Lines {
    pub fn new() -> Lines {
        Lines {
            out: BufWriter::new(std::io::stdout().lock()),
            closed: false,
        }
    }

    /// Writes `text` and a newline; a closed pipe is no error.
    pub fn line(&mut self, text: &str) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        let written = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"));
        self.closed(written)
    }

    /// Flushes what is buffered.
    pub fn finish(mut self) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        let flushed = self.out.flush();
        self.closed(flushed)
    }

    fn closed(&mut self, result: std::io::Result<()>) -> anyhow::Result<()> {
        match result {
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            result => result.context("cannot write to standard output"),
        }
    }
}
