//! Why this exists: every backend that shells out (Plesk's CLI, a zone reload) runs its child the same
//! safe way — argv never a shell, a cleared environment, its own process group, and a deadline after
//! which the whole group is killed — so no backend can forget one of those.

use std::fmt::Write as _;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};

/// `PATH` for children when the caller does not choose one: the config's, so `dyndns check-config`
/// looks for backend commands where the worker will run them.
pub const DEFAULT_PATH: &str = dyndns_config::WORKER_COMMAND_PATH;

/// How much of each of stdout and stderr is kept; the rest is read and dropped so the child never blocks
/// on a full pipe.
pub(crate) const DEFAULT_OUTPUT_LIMIT: usize = 1024 * 1024;

/// How a command is run. The environment is exactly `env`: nothing is inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub env: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    /// Bytes kept per stream (stdout, stderr).
    pub output_limit: usize,
}

impl RunOptions {
    /// `PATH=`[`DEFAULT_PATH`], `LANG=C` (so messages we match on are not translated), 1 MiB per stream.
    pub fn new(timeout: Duration) -> RunOptions {
        RunOptions {
            env: vec![
                ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
                ("LANG".to_owned(), "C".to_owned()),
            ],
            timeout,
            output_limit: DEFAULT_OUTPUT_LIMIT,
        }
    }
}

/// What a command that ran to its end left behind. A non-zero exit is not an error here: what it means
/// is the caller's business (Plesk's `--add` exits 2 for "already exists").
#[derive(Debug)]
pub struct CommandOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    /// True when the stream was longer than `output_limit` and was cut.
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
}

impl CommandOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("empty command: there is no program to run")]
    Empty,
    #[error("could not start `{command}`: {source}")]
    Spawn { command: String, source: io::Error },
    #[error("`{command}` timed out after {} and was killed", humantime::format_duration(*.timeout))]
    TimedOut { command: String, timeout: Duration },
    #[error("lost track of `{command}` while waiting for it: {source}")]
    Wait { command: String, source: io::Error },
}

/// Runs `argv` (program first) and waits for it to exit within `options.timeout`, reading both its
/// output streams meanwhile. When it exits, whatever it left in its process group is SIGKILLed (a
/// background process holding its stdout does not hold the command); on timeout the whole group
/// is SIGKILLed and the child reaped, so a script's grandchildren do not outlive it either.
pub async fn run(argv: &[String], options: &RunOptions) -> Result<CommandOutput, CommandError> {
    let (program, args) = argv.split_first().ok_or(CommandError::Empty)?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(options.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so one killpg reaches everything the command started.
        .process_group(0)
        // Covers the caller dropping this future (worker shutdown): at least the child dies.
        .kill_on_drop(true);

    let mut child = command.spawn().map_err(|source| CommandError::Spawn {
        command: display_argv(argv),
        source,
    })?;
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let _group_guard = GroupGuard(group);

    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let limit = options.output_limit;
    let (mut out, mut err) = (Captured::default(), Captured::default());
    let finished = tokio::time::timeout(options.timeout, async {
        let streams = async {
            tokio::join!(
                read_capped(stdout, limit, &mut out),
                read_capped(stderr, limit, &mut err)
            )
        };
        tokio::pin!(streams);
        // Read while waiting, so a child that writes much never blocks on a full pipe.
        let (status, streams_done) = tokio::select! {
            status = child.wait() => (status, false),
            _ = &mut streams => (child.wait().await, true),
        };
        // The exit status is the answer. What the child left in its group goes now (the guard
        // would kill it on return anyway): a background process holding the pipes must not hold
        // the command until the deadline and turn its answer into a timeout.
        if let Some(group) = group {
            kill_group(group);
        }
        if !streams_done {
            // What was written is in the pipes; only a process that left the group can still
            // hold one open, and it is not waited for long.
            let _ = tokio::time::timeout(OUTPUT_AFTER_EXIT, streams).await;
        }
        status
    })
    .await;

    match finished {
        Ok(status) => {
            let status = status.map_err(|source| CommandError::Wait {
                command: display_argv(argv),
                source,
            })?;
            Ok(CommandOutput {
                status,
                stdout: out.kept,
                stderr: err.kept,
                stdout_truncated: out.truncated,
                stderr_truncated: err.truncated,
            })
        }
        Err(_elapsed) => {
            if let Some(group) = group {
                kill_group(group);
            }
            // Reap it so no zombie is left; SIGKILL cannot be ignored, so this returns promptly.
            let _ = child.wait().await;
            Err(CommandError::TimedOut {
                command: display_argv(argv),
                timeout: options.timeout,
            })
        }
    }
}

/// How long output is still read after the child exited and its group was killed: only a process
/// that left the group (`setsid`) can still hold a pipe then.
const OUTPUT_AFTER_EXIT: Duration = Duration::from_secs(1);

/// One output stream as far as it was read: kept outside the reading future, so what was read
/// survives when the reading is cut short.
#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    /// The stream was longer than the limit and was cut.
    truncated: bool,
}

/// Kills whatever is left of the group when the run ends: everything, if the caller dropped the future
/// mid-run; background processes a finished command left behind (the worker runs as root, so no stray
/// process outlives its command). A group id is not reused while any member exists; once none does,
/// killpg just finds ESRCH.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            kill_group(group);
        }
    }
}

fn kill_group(group: Pid) {
    match killpg(group, Signal::SIGKILL) {
        // ESRCH: everyone in the group is already gone, which is what we wanted.
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(errno) => tracing::warn!(pgid = group.as_raw(), %errno, "could not kill process group"),
    }
}

async fn read_capped(
    stream: Option<impl AsyncRead + Unpin>,
    limit: usize,
    captured: &mut Captured,
) {
    let Some(mut stream) = stream else {
        return;
    };
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                let room = limit.saturating_sub(captured.kept.len());
                if n > room {
                    captured.truncated = true;
                }
                captured.kept.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A broken pipe read ends the stream; the exit status still tells what happened.
            Err(_) => break,
        }
    }
}

/// The argv as a reader would type it, for error messages and logs: arguments with spaces, quotes or
/// nothing in them are single-quoted, so Plesk's apex label shows as `''`.
pub(crate) fn display_argv(argv: &[String]) -> String {
    let mut shown = String::new();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            shown.push(' ');
        }
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
        if plain {
            shown.push_str(arg);
        } else {
            let _ = write!(shown, "'{}'", arg.replace('\'', r"'\''"));
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_argv_quotes_empty_and_spaced_arguments() {
        let argv: Vec<String> = ["plesk", "--add", "example.com", "-a", "", "-ip", "it's x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            display_argv(&argv),
            r"plesk --add example.com -a '' -ip 'it'\''s x'"
        );
    }
}
