//! Why this exists: e-mail through the operator's sendmail-compatible program (exim4, postfix,
//! msmtp): an argv from the config, never a shell, with a cleared environment, its own process
//! group, the message on stdin, and a deadline after which the group is killed. Exit status 0 is
//! delivered; anything else is retried later, its stderr (capped) in the log.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::{mail, Deliver, DeliveryError};
use crate::message::Message;

/// `PATH` for a bare program name in `command`: the system's folders, never the caller's.
const SENDMAIL_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How much of the program's stderr a log line carries.
const MAX_STDERR_BYTES: u64 = 2048;
/// How often a running child is looked at while waiting for it.
const WAIT_STEP: Duration = Duration::from_millis(20);

pub struct SendmailTarget {
    id: String,
    command: Vec<String>,
    to: Vec<String>,
    from: String,
    timeout: Duration,
}

impl SendmailTarget {
    pub fn new(
        id: &str,
        command: Vec<String>,
        to: Vec<String>,
        from: String,
        timeout: Duration,
    ) -> SendmailTarget {
        SendmailTarget {
            id: id.to_owned(),
            command,
            to,
            from,
            timeout,
        }
    }

    fn error(&self, problem: String) -> DeliveryError {
        DeliveryError::Command {
            target: self.id.clone(),
            command: self.command.first().cloned().unwrap_or_default(),
            problem,
        }
    }
}

/// Kills the child's process group unless it was reaped: a sendmail that forks a queue runner and
/// hangs must not outlive its deadline.
struct Reaper(Option<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.wait();
        }
    }
}

impl Deliver for SendmailTarget {
    fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        let text = mail::render(message, &self.from, &self.to, SystemTime::now());
        let Some((program, args)) = self.command.split_first() else {
            return Err(self.error("is empty".into()));
        };
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", SENDMAIL_PATH)
            .env("LANG", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|cause| self.error(format!("could not be started: {cause}")))?;
        let mut reaper = Reaper(Some(child));
        let deadline = Instant::now() + self.timeout;
        let child = reaper
            .0
            .as_mut()
            .ok_or_else(|| self.error("vanished".into()))?;
        // stderr is read on a thread of its own, so a chatty program cannot fill the pipe and hang.
        // A background delivery process the program leaves behind may hold stderr open: the text is
        // waited for only briefly once the program has exited.
        let (stderr_sender, stderr_text) = std::sync::mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut text = String::new();
                let mut limited = stderr.take(MAX_STDERR_BYTES);
                let _ = limited.read_to_string(&mut text);
                let _ = stderr_sender.send(text);
                let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
            });
        }
        if let Some(mut stdin) = child.stdin.take() {
            // Written on a thread of its own: a message with long error texts can pass a pipe's
            // buffer, and a program that never reads would block the write, and this delivery,
            // past its deadline for good. The kill at the deadline ends the write (EPIPE). A
            // program that exits without reading is judged by its status.
            std::thread::spawn(move || {
                let _ = stdin.write_all(text.as_bytes());
            });
        }
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    drop(reaper);
                    return Err(self.error(format!(
                        "did not finish within {} s and was killed",
                        self.timeout.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(WAIT_STEP),
                Err(cause) => return Err(self.error(format!("could not be waited for: {cause}"))),
            }
        };
        reaper.0 = None;
        let stderr = stderr_text
            .recv_timeout(Duration::from_millis(500))
            .unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        let stderr = stderr.trim().replace(['\r', '\n'], " ");
        Err(self.error(format!("exited with {status}: {stderr}")))
    }
}
