//! Why this exists: what the read commands print is often piped into `head` or `less`, which close
//! the pipe once they have seen enough. `print!` then panicked (exit 101 and a backtrace), and
//! `failed retry --all | head -1` stopped retrying after the first letter. The commands print
//! through here instead: a reader gone ends the output quietly and the command's work goes on.

use std::io::Write;

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
