//! The real `dyndns-notify` binary on a site of its own: a config with the test's `[[notify]]`
//! tables, the worker's state folder to append history to, and the notifier started, run once,
//! signalled and waited for (bounded).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::PATIENCE;

pub const BINARY: &str = env!("CARGO_BIN_EXE_dyndns-notify");

pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new(notify_tables: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        for folder in ["spool", "state", "notify"] {
            std::fs::create_dir(dir.path().join(folder)).unwrap();
        }
        let site = Site { dir };
        site.write_config(notify_tables);
        site
    }

    /// Replaces the config: the same site with these `[[notify]]` tables (and whatever else the
    /// text holds, e.g. a `[notifier]` key).
    pub fn write_config(&self, notify_tables: &str) {
        self.write_config_in("notify", notify_tables);
    }

    /// [`Site::write_config`] with `[notifier] state_dir` set to `notifier_state_dir`.
    pub fn write_config_in(&self, notifier_state_dir: &str, notify_tables: &str) {
        let config = format!(
            r#"
[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "none"
state_dir = "state"

[[zone]]
name = "dyn.example.com"

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0"
hosts = ["*.dyn.example.com"]

[notifier]
state_dir = "{notifier_state_dir}"

{notify_tables}
"#
        );
        std::fs::write(self.config_path(), config).unwrap();
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("dyndns.toml")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(BINARY);
        command
            .arg("--config")
            .arg(self.config_path())
            .env_remove("RUST_LOG")
            .stdout(Stdio::null());
        command
    }

    pub fn once(&self) -> Output {
        self.command().arg("--once").output().unwrap()
    }

    pub fn start(&self) -> Child {
        self.command().stderr(Stdio::piped()).spawn().unwrap()
    }

    /// Starts the notifier with its log (stderr) collected as it is written.
    pub fn start_logged(&self) -> Logged {
        let mut child = self.start();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let collect = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = collect.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Logged { child, log }
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.path().join("notify/notify-state.json")
    }
}

pub fn webhook(url: &str, min_interval: &str) -> String {
    format!("[[notify]]\nkind = \"webhook\"\nurl = \"{url}\"\nmin_interval = {min_interval}\n")
}

pub fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits (bounded) for `done`.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the notifier did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn pid(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap())
}

/// A running notifier and what it has logged so far.
pub struct Logged {
    pub child: Child,
    log: Arc<Mutex<String>>,
}

impl Logged {
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (bounded) until the log holds `text` `count` times; returns the log.
    pub fn wait_for_log(&self, text: &str, count: usize) -> String {
        eventually(&format!("{count} × {text:?} in the log"), || {
            self.log().matches(text).count() >= count
        });
        self.log()
    }
}

impl Drop for Logged {
    /// A test that fails before stopping its notifier does not leave it running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
